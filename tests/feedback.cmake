# Feedback store (feedback/): the SQLite backend on a file in the build
# directory, which the test removes first.
add_executable(test_feedback_store test_feedback_store.c)
target_include_directories(test_feedback_store PRIVATE ${CMAKE_SOURCE_DIR}/tests)
target_link_libraries(test_feedback_store PRIVATE mnist_feedback)
add_test(NAME test_feedback_store
  COMMAND test_feedback_store ${CMAKE_CURRENT_BINARY_DIR}/test_feedback_store.db)
set_tests_properties(test_feedback_store PROPERTIES LABELS feedback)
