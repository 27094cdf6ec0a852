# Hardening tests. test_crash_safety: kill -9 at random moments of a real
# training run, then resume. tests/hostile/: hostile images, bodies and
# HTTP against the real mnist-server (Python standard library + Pillow for
# the JPEG variants, run by the system interpreter).
mnist_c_test(test_crash_safety test_crash_safety.c)
add_dependencies(test_crash_safety mnist-train)
set_tests_properties(test_crash_safety PROPERTIES TIMEOUT 900 LABELS hardening)

if(TARGET mnist-server AND TARGET http_imgwrite)
  find_program(MNIST_HOSTILE_PYTHON NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
  if(NOT MNIST_HOSTILE_PYTHON)
    find_program(MNIST_HOSTILE_PYTHON NAMES python3 REQUIRED)
  endif()
  foreach(t images bodies http read)
    add_test(NAME hostile_${t}
             COMMAND ${MNIST_HOSTILE_PYTHON} ${CMAKE_SOURCE_DIR}/tests/hostile/test_hostile_${t}.py)
    set_tests_properties(hostile_${t} PROPERTIES LABELS "hostile;http" TIMEOUT 600 ENVIRONMENT
      "MNIST_DATA_DIR=${MNIST_DATA_DIR};MNIST_SOURCE_DIR=${CMAKE_SOURCE_DIR};MNIST_SERVER=$<TARGET_FILE:mnist-server>;MNIST_IMGWRITE=$<TARGET_FILE:http_imgwrite>")
  endforeach()
endif()
