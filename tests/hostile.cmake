# Hardening tests: kill -9 during training (test_crash_safety) and hostile
# input against the real server (tests/hostile/, when the server is built).
mnist_c_test(test_crash_safety test_crash_safety.c)
add_dependencies(test_crash_safety mnist-train)
set_tests_properties(test_crash_safety PROPERTIES TIMEOUT 900)
