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

# The Kubernetes manifests against the Kubernetes API's OpenAPI schemas
# (npm: kubernetes-models, pinned by the committed lock, installed by
# `npm ci` into the build directory). Without node and npm it fails. The
# image's build context leaves tests/container out (.dockerignore), so
# there is nothing to set up there.
if(NOT EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/container/k8s-schema/package.json)
  return()
endif()
set(k8s_schema_dir ${CMAKE_BINARY_DIR}/k8s-schema)
mnist_npm_ci(container_k8s ${CMAKE_CURRENT_SOURCE_DIR}/container/k8s-schema ${k8s_schema_dir} container)
# ES modules resolve from the script's place: a copy beside node_modules
configure_file(${CMAKE_CURRENT_SOURCE_DIR}/container/k8s_schema.mjs ${k8s_schema_dir}/k8s_schema.mjs COPYONLY)
if(MNIST_NPM_OK)
  add_test(NAME container_k8s_schema
    COMMAND ${MNIST_NODE} ${k8s_schema_dir}/k8s_schema.mjs ${CMAKE_SOURCE_DIR}/deploy/k8s
            ${CMAKE_SOURCE_DIR}/deploy/k8s-postgresql
    WORKING_DIRECTORY ${k8s_schema_dir})
  set_tests_properties(container_k8s_schema PROPERTIES FIXTURES_REQUIRED container_k8s_npm LABELS container
    TIMEOUT 120)
else()
  mnist_failing_test(container_k8s_schema container
    "node and npm are needed to check deploy/k8s and deploy/k8s-postgresql against the Kubernetes schemas (scripts/deps.sh test)")
endif()
