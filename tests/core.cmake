# Core library and trainer tests (the kernels' tests: kernels.cmake).
mnist_c_test(test_adam test_adam.c)
mnist_c_test(test_idx test_idx.c)
mnist_c_test(test_weights test_weights.c)
mnist_c_test(test_sha256 test_sha256.c)
mnist_c_test(test_arch test_arch.c)
mnist_c_test(test_augment test_augment.c)
if(EXISTS ${CMAKE_SOURCE_DIR}/core/normalize.c)
  mnist_c_test(test_normalize test_normalize.c)
  mnist_c_test(test_segment test_segment.c)
endif()
# Drives the real mnist-train binary: loss falls, determinism, resume.
# It writes PNG files (stb_image_write) for the image-directory fine-tuning.
mnist_c_test(test_train test_train.c)
pkg_check_modules(STB_TESTS REQUIRED IMPORTED_TARGET stb)
target_link_libraries(test_train PRIVATE PkgConfig::STB_TESTS)
add_dependencies(test_train mnist-train mnist-eval)
# Calibration, digit score and verdict (core) and the temperature fit (trainer).
mnist_c_test(test_calibration test_calibration.c)
target_link_libraries(test_calibration PRIVATE mnist_cli)
# Ensembles and cascades (ensemble.h), their file, and the fit of an
# ensemble's unsure threshold (trainer).
mnist_c_test(test_ensemble test_ensemble.c)
target_link_libraries(test_ensemble PRIVATE mnist_cli)
# Saliency and feature maps (explain.h): against the forward pass, the
# reference convolution and finite differences; faithful by deletion on
# 1,000 MNIST test images with the bundled default model.
mnist_c_test(test_explain test_explain.c)
