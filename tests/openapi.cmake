# The OpenAPI document (web/openapi.json): linted by Redocly's CLI with
# its recommended rules as errors (tests/openapi/redocly.yaml), installed
# by `npm ci` into the build directory from the committed lock. Every
# HTTP test validates the answers it gets against the same document
# (tests/http/httpkit.py). Without node and npm the lint fails, never
# skips.
set(openapi_dir ${CMAKE_BINARY_DIR}/openapi)
mnist_npm_ci(openapi ${CMAKE_CURRENT_SOURCE_DIR}/openapi ${openapi_dir} openapi)
if(MNIST_NPM_OK)
  add_test(NAME openapi_lint
    COMMAND ${MNIST_NODE} ${openapi_dir}/node_modules/@redocly/cli/bin/cli.js lint
            --config ${CMAKE_CURRENT_SOURCE_DIR}/openapi/redocly.yaml ${CMAKE_SOURCE_DIR}/web/openapi.json
    WORKING_DIRECTORY ${openapi_dir})
  set_tests_properties(openapi_lint PROPERTIES FIXTURES_REQUIRED openapi_npm LABELS openapi TIMEOUT 120
    ENVIRONMENT "REDOCLY_TELEMETRY=off;REDOCLY_SUPPRESS_UPDATE_NOTICE=true")
else()
  mnist_failing_test(openapi_lint openapi "node and npm are needed to lint web/openapi.json (scripts/deps.sh test)")
endif()
