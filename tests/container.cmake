# Container tests: the deployment files checked statically (fast, no engine),
# and the image built from the real Dockerfile with podman and run end to end
# (needs root and a Debian mirror; about 4 minutes the first time on a
# machine, under a minute once podman's image store holds the layers).
find_program(MNIST_BASH bash REQUIRED)

add_test(NAME container_manifests
  COMMAND ${MNIST_BASH} ${CMAKE_CURRENT_SOURCE_DIR}/container/manifests.sh
          ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR}/container)
set_tests_properties(container_manifests PROPERTIES TIMEOUT 300 LABELS container)

add_test(NAME container_image
  COMMAND ${MNIST_BASH} ${CMAKE_CURRENT_SOURCE_DIR}/container/run.sh
          ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR}/container)
set_tests_properties(container_image PROPERTIES TIMEOUT 1800 LABELS container
  ENVIRONMENT "MNIST_DATA_DIR=${MNIST_DATA_DIR}")
