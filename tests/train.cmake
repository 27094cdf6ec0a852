# The trainer's honest-answers path through the real binaries (Python
# drives mnist-train, mnist-eval and the data scripts).
find_program(MNIST_TRAIN_TEST_PYTHON NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
add_test(NAME honest_train COMMAND ${MNIST_TRAIN_TEST_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/train/test_honest_train.py)
set_tests_properties(honest_train PROPERTIES TIMEOUT 900 ENVIRONMENT
  "MNIST_DATA_DIR=${MNIST_DATA_DIR};MNIST_BUILD_DIR=${CMAKE_BINARY_DIR};MNIST_SOURCE_DIR=${CMAKE_SOURCE_DIR}")

# Fine-tuning on users' corrections: make_feedback_db stores MNIST test
# images through the feedback library, then the test drives mnist-train
# --feedback (and mnist-feedback) on it.
add_executable(make_feedback_db ${CMAKE_CURRENT_SOURCE_DIR}/train/make_feedback_db.c)
target_link_libraries(make_feedback_db PRIVATE mnist mnist_feedback)
add_test(NAME feedback_train COMMAND ${MNIST_TRAIN_TEST_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/train/test_feedback_train.py)
set_tests_properties(feedback_train PROPERTIES TIMEOUT 600 LABELS "train;feedback" ENVIRONMENT
  "MNIST_DATA_DIR=${MNIST_DATA_DIR};MNIST_BUILD_DIR=${CMAKE_BINARY_DIR};MNIST_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
