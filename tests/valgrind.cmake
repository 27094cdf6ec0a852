# Valgrind memcheck over server sessions of the integration tests
# (tests/hostile/test_valgrind.py). Not in the sanitizer build: memcheck
# and AddressSanitizer cannot share a process.
if(TARGET mnist-server AND TARGET http_imgwrite AND NOT MNIST_SANITIZE)
  find_program(MNIST_VALGRIND valgrind)
  if(NOT MNIST_VALGRIND)
    message(WARNING "valgrind not found: the memcheck test will fail (scripts/deps.sh test installs it)")
  endif()
  add_test(NAME valgrind_server
           COMMAND ${MNIST_HOSTILE_PYTHON} ${CMAKE_SOURCE_DIR}/tests/hostile/test_valgrind.py)
  set_tests_properties(valgrind_server PROPERTIES LABELS "valgrind;http" TIMEOUT 1800 ENVIRONMENT
    "MNIST_DATA_DIR=${MNIST_DATA_DIR};MNIST_SOURCE_DIR=${CMAKE_SOURCE_DIR};MNIST_BUILD_DIR=${CMAKE_BINARY_DIR};MNIST_SERVER=$<TARGET_FILE:mnist-server>;MNIST_IMGWRITE=$<TARGET_FILE:http_imgwrite>")
endif()
