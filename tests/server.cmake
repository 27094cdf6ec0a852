# HTTP integration tests of mnist-server: Python (standard library only,
# run by the system interpreter) driving the real binary on 127.0.0.1,
# port 0. imgwrite encodes test images (stb_image_write).
if(TARGET mnist-server)
  add_executable(http_imgwrite ${CMAKE_SOURCE_DIR}/tests/http/imgwrite.c)
  target_include_directories(http_imgwrite PRIVATE ${STB_INCLUDE_DIRS})
  target_link_libraries(http_imgwrite PRIVATE m)
  # A test tool, not code under test: stb_image_write has shifts that
  # UBSan reports, so the sanitizer build leaves it uninstrumented.
  if(MNIST_SANITIZE)
    target_compile_options(http_imgwrite PRIVATE -fno-sanitize=all)
    target_link_options(http_imgwrite PRIVATE -fno-sanitize=all)
  endif()

  # The server's C unit tests (tests/server/): the pure request path
  # without HTTP, the number formatting, the access log.
  mnist_c_test(test_predict ${CMAKE_SOURCE_DIR}/tests/server/test_predict.c)
  target_link_libraries(test_predict PRIVATE mnist_predict)
  set_tests_properties(test_predict PROPERTIES LABELS server)
  mnist_c_test(test_num_fmt ${CMAKE_SOURCE_DIR}/tests/server/test_num_fmt.c)
  target_link_libraries(test_num_fmt PRIVATE mnist_predict)
  set_tests_properties(test_num_fmt PROPERTIES LABELS server)
  mnist_c_test(test_http_log ${CMAKE_SOURCE_DIR}/tests/server/test_http_log.c
    ${CMAKE_SOURCE_DIR}/server/http_log.c)
  find_package(Threads REQUIRED)
  target_link_libraries(test_http_log PRIVATE mnist_predict Threads::Threads)
  set_tests_properties(test_http_log PROPERTIES LABELS server)

  find_program(MNIST_TEST_PYTHON NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
  if(NOT MNIST_TEST_PYTHON)
    find_program(MNIST_TEST_PYTHON NAMES python3)
  endif()
  set(_http_env
    "MNIST_DATA_DIR=${MNIST_DATA_DIR}"
    "MNIST_BUILD_DIR=${CMAKE_BINARY_DIR}"
    "MNIST_SOURCE_DIR=${CMAKE_SOURCE_DIR}"
    "MNIST_SERVER=$<TARGET_FILE:mnist-server>"
    "MNIST_IMGWRITE=$<TARGET_FILE:http_imgwrite>")
  foreach(t api inputs abuse lifecycle read explain oip repository feedback feedback_crash feedback_full)
    add_test(NAME http_${t}
             COMMAND ${MNIST_TEST_PYTHON} ${CMAKE_SOURCE_DIR}/tests/http/test_${t}.py)
    set_tests_properties(http_${t} PROPERTIES ENVIRONMENT "${_http_env}" LABELS http
                         TIMEOUT 300)
  endforeach()
  # The kill -9 test again with a PostgreSQL store: a server of its own
  # (tests/feedback/pg_cluster.sh, which fails when it cannot start one).
  add_test(NAME http_feedback_crash_pg
           COMMAND ${CMAKE_SOURCE_DIR}/tests/feedback/pg_cluster.sh ${MNIST_TEST_PYTHON}
                   ${CMAKE_SOURCE_DIR}/tests/http/test_feedback_crash.py)
  set_tests_properties(http_feedback_crash_pg PROPERTIES ENVIRONMENT "${_http_env}" LABELS http
                       TIMEOUT 300)
endif()
