/* cpu.h: the instruction-set levels the library's kernels come in, and
 * the one a process runs. The fastest level this CPU has is taken unless
 * the environment variable MNIST_ISA names another (generic, avx2,
 * avx512, neon), so tests and benchmarks can run every path on one
 * machine. Each level gives the same bits on every CPU that runs it; two
 * levels may differ in the last bits (the generic one has no fused
 * multiply-add, Winograd is a kernel of some levels only). */
#ifndef MNIST_CPU_H
#define MNIST_CPU_H

#include "mnist/error.h"

typedef enum {
    MN_ISA_GENERIC = 0, /* plain C the compiler vectorises: any CPU */
    MN_ISA_AVX2 = 1,    /* x86-64 with AVX2 and FMA */
    MN_ISA_AVX512 = 2,  /* x86-64 with AVX-512F */
    MN_ISA_NEON = 3,    /* arm64 (Advanced SIMD is part of the architecture) */
    MN_ISA_COUNT = 4
} mn_isa;

/* "generic", "avx2", "avx512", "neon"; "?" for anything else. */
const char *mn_isa_name(mn_isa isa);

/* The level named s (as mn_isa_name spells it) in *out; 0 when s names
 * none. */
int mn_isa_parse(const char *s, mn_isa *out);

/* 1 when this build has isa's kernels and this CPU (and OS) runs them. */
int mn_isa_supported(mn_isa isa);

/* The fastest supported level. */
mn_isa mn_isa_best(void);

/* The level this process runs, in *out: MNIST_ISA's when it is set, else
 * mn_isa_best(). An MNIST_ISA that names no level, or one this build or
 * CPU lacks, is an error (MN_ERR_ARG, the message says what it names and
 * which levels are there). Model preparation and workspaces call it, so
 * a wrong MNIST_ISA stops a program before it computes anything. */
mn_status mn_isa_active(mn_isa *out, mn_error *err);

#endif
