# The OpenAPI document (web/openapi.json): linted by Redocly's CLI with
# its recommended rules as errors (tests/openapi/redocly.yaml), installed
# by `npm ci` into the build directory from the committed lock. Every
# HTTP test validates the answers it gets against the same document
# (tests/http/httpkit.py). Without node and npm the lint fails, never
# skips.
set(openapi_dir ${CMAKE_BINARY_DIR}/openapi)
configure_file(${CMAKE_CURRENT_SOURCE_DIR}/openapi/package.json ${openapi_dir}/package.json COPYONLY)
configure_file(${CMAKE_CURRENT_SOURCE_DIR}/openapi/package-lock.json ${openapi_dir}/package-lock.json COPYONLY)
find_program(MNIST_NODE NAMES node nodejs)
find_program(MNIST_NPM npm)
if(MNIST_NODE AND MNIST_NPM)
  add_test(NAME openapi_npm_ci
    COMMAND ${MNIST_NPM} ci --no-audit --no-fund --prefix ${openapi_dir}
    WORKING_DIRECTORY ${openapi_dir})
  set_tests_properties(openapi_npm_ci PROPERTIES FIXTURES_SETUP openapi_npm LABELS openapi TIMEOUT 300)
  add_test(NAME openapi_lint
    COMMAND ${MNIST_NODE} ${openapi_dir}/node_modules/@redocly/cli/bin/cli.js lint
            --config ${CMAKE_CURRENT_SOURCE_DIR}/openapi/redocly.yaml ${CMAKE_SOURCE_DIR}/web/openapi.json
    WORKING_DIRECTORY ${openapi_dir})
  set_tests_properties(openapi_lint PROPERTIES FIXTURES_REQUIRED openapi_npm LABELS openapi TIMEOUT 120
    ENVIRONMENT "REDOCLY_TELEMETRY=off;REDOCLY_SUPPRESS_UPDATE_NOTICE=true")
else()
  find_program(MNIST_SH sh REQUIRED)
  add_test(NAME openapi_lint
    COMMAND ${MNIST_SH} -c "echo 'FAIL: node and npm are needed to lint web/openapi.json (scripts/deps.sh test)' >&2; echo '0 passed, 1 failed'; exit 1")
  set_tests_properties(openapi_lint PROPERTIES LABELS openapi)
endif()
