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
  mnist_npm_ci(browser ${CMAKE_CURRENT_SOURCE_DIR}/browser ${browser_dir} browser)
  if(MNIST_NPM_OK) # playwright-core never fetches a browser
    set_tests_properties(browser_npm_ci PROPERTIES ENVIRONMENT "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1")
  endif()
  if(TARGET mnist-server)
    set(browser_server $<TARGET_FILE:mnist-server>)
  else()
    set(browser_server ${CMAKE_BINARY_DIR}/mnist-server)
  endif()

  if(MNIST_NPM_OK)
    add_test(NAME browser_page
      COMMAND ${MNIST_NODE} ${CMAKE_CURRENT_SOURCE_DIR}/browser/page.test.js
              --server ${browser_server} --out ${browser_dir}/screenshots
      WORKING_DIRECTORY ${browser_dir})
    # UPDATE_SCREENSHOT=1 in ctest's environment refreshes docs/screenshot.png.
    set_tests_properties(browser_page PROPERTIES
      FIXTURES_REQUIRED browser_npm LABELS browser TIMEOUT 600
      ENVIRONMENT "NODE_PATH=${browser_dir}/node_modules;MNIST_DATA_DIR=${MNIST_DATA_DIR};MNIST_SOURCE_DIR=${CMAKE_SOURCE_DIR};PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1")
  else()
    mnist_failing_test(browser_page browser
      "node and npm are needed for the browser test: install nodejs and npm (scripts/deps.sh test), then re-run cmake")
  endif()
endif()
