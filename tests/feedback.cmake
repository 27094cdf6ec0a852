# Feedback store (feedback/): the same test against the SQLite backend on a
# file in the build directory, which the test removes first, and against a
# PostgreSQL server started for it (tests/feedback/pg_cluster.sh). The test
# links libpq itself to read what the store wrote.
pkg_check_modules(TEST_LIBPQ REQUIRED IMPORTED_TARGET libpq)
add_executable(test_feedback_store test_feedback_store.c)
target_include_directories(test_feedback_store PRIVATE ${CMAKE_SOURCE_DIR}/tests)
target_link_libraries(test_feedback_store PRIVATE mnist_feedback PkgConfig::TEST_LIBPQ)
add_test(NAME test_feedback_store
  COMMAND test_feedback_store ${CMAKE_CURRENT_BINARY_DIR}/test_feedback_store.db)
set_tests_properties(test_feedback_store PROPERTIES LABELS feedback)
# Fails, not skips, when PostgreSQL cannot be started.
add_test(NAME test_feedback_store_pg
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/feedback/pg_cluster.sh $<TARGET_FILE:test_feedback_store>)
set_tests_properties(test_feedback_store_pg PROPERTIES LABELS feedback TIMEOUT 120)
# Without libpq (the small image): a PostgreSQL URL is refused with what to
# install. Needs root for the mount namespace that hides libpq.so.5.
add_executable(test_feedback_nolibpq test_feedback_nolibpq.c)
target_include_directories(test_feedback_nolibpq PRIVATE ${CMAKE_SOURCE_DIR}/tests)
target_link_libraries(test_feedback_nolibpq PRIVATE mnist_feedback)
add_test(NAME test_feedback_nolibpq
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/feedback/no_libpq.sh $<TARGET_FILE:test_feedback_nolibpq>
          ${CMAKE_CURRENT_BINARY_DIR}/test_feedback_nolibpq.db)
set_tests_properties(test_feedback_nolibpq PROPERTIES LABELS feedback)
