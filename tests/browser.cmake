# Browser tests: the embedded page's table (C, runs everywhere, sanitizers
# included), and the page itself driven in Debian's chromium through
# playwright-core against the real mnist-server (label "browser"). The npm
# package is installed by `npm ci` into the build directory, from the
# committed package-lock.json; no browser is ever downloaded. A missing
# node, npm or chromium fails the test with a message; it is never skipped.

if(NOT TARGET mnist_web_assets)
  add_subdirectory(${CMAKE_SOURCE_DIR}/web ${CMAKE_BINARY_DIR}/web)
endif()
mnist_c_test(test_web_assets browser/test_web_assets.c)
target_link_libraries(test_web_assets PRIVATE mnist_web_assets)

if(MNIST_BUILD_SERVER)
  set(browser_dir ${CMAKE_BINARY_DIR}/browser)
  # npm ci wants package.json beside its lock; copied, so the source tree
  # stays clean (configure_file re-runs CMake when they change).
  configure_file(${CMAKE_CURRENT_SOURCE_DIR}/browser/package.json ${browser_dir}/package.json COPYONLY)
  configure_file(${CMAKE_CURRENT_SOURCE_DIR}/browser/package-lock.json ${browser_dir}/package-lock.json COPYONLY)
  if(TARGET mnist-server)
    set(browser_server $<TARGET_FILE:mnist-server>)
  else()
    set(browser_server ${CMAKE_BINARY_DIR}/mnist-server)
  endif()

  find_program(MNIST_NODE NAMES node nodejs)
  find_program(MNIST_NPM npm)
  if(MNIST_NODE AND MNIST_NPM)
    add_test(NAME browser_npm_ci
      COMMAND ${MNIST_NPM} ci --no-audit --no-fund --prefix ${browser_dir}
      WORKING_DIRECTORY ${browser_dir})
    set_tests_properties(browser_npm_ci PROPERTIES
      FIXTURES_SETUP browser_npm LABELS browser TIMEOUT 300
      ENVIRONMENT "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1")

    add_test(NAME browser_page
      COMMAND ${MNIST_NODE} ${CMAKE_CURRENT_SOURCE_DIR}/browser/page.test.js
              --server ${browser_server} --out ${browser_dir}/screenshots
      WORKING_DIRECTORY ${browser_dir})
    # UPDATE_SCREENSHOT=1 in ctest's environment refreshes docs/screenshot.png.
    set_tests_properties(browser_page PROPERTIES
      FIXTURES_REQUIRED browser_npm LABELS browser TIMEOUT 600
      ENVIRONMENT "NODE_PATH=${browser_dir}/node_modules;MNIST_DATA_DIR=${MNIST_DATA_DIR};MNIST_SOURCE_DIR=${CMAKE_SOURCE_DIR};PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1")
  else()
    find_program(MNIST_SH sh REQUIRED)
    add_test(NAME browser_page
      COMMAND ${MNIST_SH} -c "echo 'FAIL: node and npm are needed for the browser test: install nodejs and npm (scripts/deps.sh test), then re-run cmake' >&2; echo '0 passed, 1 failed'; exit 1")
    set_tests_properties(browser_page PROPERTIES LABELS browser)
  endif()
endif()
