/* check_level.h: the kernel level a test runs, for the tests ctest runs
 * once per level (mnist_level_test in tests/CMakeLists.txt sets
 * MNIST_ISA). */
#ifndef MNIST_TESTS_CHECK_LEVEL_H
#define MNIST_TESTS_CHECK_LEVEL_H

#include <stdio.h>
#include <stdlib.h>

#include "kernels.h"

/* The table of the level in force. Exits 77, which ctest reports as
 * skipped (never as passed), when this CPU or build lacks the level
 * MNIST_ISA names, and 1 when MNIST_ISA names none. */
static inline const mn_kernels *check_level(void)
{
    mn_isa isa;
    mn_error err;
    if (mn_isa_active(&isa, &err) != MN_OK) {
        mn_isa want;
        const char *name = getenv("MNIST_ISA");
        int lacks = mn_isa_parse(name, &want) && !mn_isa_supported(want);
        fprintf(stderr, "%s: %s\n", lacks ? "SKIP" : "FAIL", err.msg);
        exit(lacks ? 77 : 1);
    }
    printf("kernel level: %s\n", mn_isa_name(isa));
    return mn_kernels_for(isa);
}

#endif
