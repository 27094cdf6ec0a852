# The kernels on every level (mnist/cpu.h): each test runs once per level
# this architecture has, as NAME_<level> (mnist_level_test). These are
# also the tests of the cross-compiled arm64 build, run under qemu-user
# (scripts/test-arm64.sh): every kernel against its reference twin, a
# training run's determinism, and mnist-eval on the bundled models.
mnist_level_test(test_layers test_layers.c)
mnist_level_test(test_convblock test_convblock.c)
# Max-pool (both 2x2 row paths), ReLU, softmax and dropout against their
# plain twins in reference_layers.c.
mnist_level_test(test_layer_twins test_layer_twins.c reference_layers.c)
mnist_level_test(test_determinism test_determinism.c)
# Every level's GEMM against the naive one, in one run.
mnist_c_test(test_gemm test_gemm.c)

# The reference model and the default cascade: the accuracy their training
# recorded, on every level; cross-compiled, the native build's answers
# (MNIST_NATIVE_EVAL: its mnist-eval) on the first 1,000 test images (qemu
# runs it a few hundred times slower), a NEON run against AVX2 (both fused
# multiply-adds).
find_program(MNIST_SH sh REQUIRED)
set(MNIST_NATIVE_EVAL "" CACHE FILEPATH "A native mnist-eval the cross-compiled one is compared with")
foreach(level ${MNIST_LEVELS})
  add_test(NAME eval_models_${level}
    COMMAND ${MNIST_SH} ${CMAKE_CURRENT_SOURCE_DIR}/kernels/eval_models.sh ${MNIST_MODELS_DIR}
            ${MNIST_DATA_DIR} ${CMAKE_CURRENT_BINARY_DIR}/eval_subset_${level}
            mnist-cnn.bin mnist-cnn-ensemble.bin -- ${CMAKE_CROSSCOMPILING_EMULATOR}
            $<TARGET_FILE:mnist-eval>)
  set(env "MNIST_ISA=${level}")
  if(CMAKE_CROSSCOMPILING)
    set(native generic)
    if(level STREQUAL neon)
      set(native avx2)
    endif()
    list(APPEND env MNIST_EVAL_SUBSET=1000 MNIST_EVAL_NATIVE=${MNIST_NATIVE_EVAL}
         MNIST_EVAL_NATIVE_ISA=${native})
  endif()
  set_tests_properties(eval_models_${level} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 1800
    ENVIRONMENT "${env}")
endforeach()
