# Fuzz targets (fuzz/fuzz_<name>.c, one LLVMFuzzerTestOneInput each).
# Every normal build links each target with fuzz/replay.c into
# fuzz_replay_<name>, a ctest test that feeds it every file of
# fuzz/corpus/<name>/ (seeds and every crash ever found). With
# -DMNIST_FUZZ=ON and clang, the libFuzzer binaries fuzz_<name> are built
# too (scripts/fuzz.sh does this).
option(MNIST_FUZZ "Build the libFuzzer binaries (needs clang)" OFF)
set(MNIST_FUZZ_DIR ${CMAKE_SOURCE_DIR}/fuzz)

# mnist_fuzz_target(name [libraries...]): the replay test, and the libFuzzer
# binary when MNIST_FUZZ is on. Extra sources come from MNIST_FUZZ_EXTRA_<name>.
function(mnist_fuzz_target name)
  set(src ${MNIST_FUZZ_DIR}/fuzz_${name}.c ${MNIST_FUZZ_EXTRA_${name}})
  add_executable(fuzz_replay_${name} ${src} ${MNIST_FUZZ_DIR}/replay.c)
  target_link_libraries(fuzz_replay_${name} PRIVATE mnist ${ARGN})
  add_test(NAME fuzz_replay_${name}
           COMMAND fuzz_replay_${name} ${MNIST_FUZZ_DIR}/corpus/${name})
  set_tests_properties(fuzz_replay_${name} PROPERTIES LABELS fuzz)
  if(MNIST_FUZZ)
    add_executable(fuzz_${name} ${src})
    target_compile_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
    target_link_libraries(fuzz_${name} PRIVATE mnist ${ARGN})
  endif()
endfunction()

mnist_fuzz_target(idx)
mnist_fuzz_target(weights)
# The server's pure request path (library mnist_predict, no HTTP types).
if(TARGET mnist_predict)
  foreach(t image json multipart predict read explain oip)
    mnist_fuzz_target(${t} mnist_predict)
  endforeach()
endif()

# Regenerates the core seed files: fuzz_make_seeds fuzz/corpus
add_executable(fuzz_make_seeds EXCLUDE_FROM_ALL ${MNIST_FUZZ_DIR}/make_seeds.c)
target_link_libraries(fuzz_make_seeds PRIVATE mnist PkgConfig::ZLIB)
