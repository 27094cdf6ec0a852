/* cpu.c: what this CPU can run, read once, and the level this process
 * runs (cpu.h). The only file of the library that asks the CPU; kernels
 * never check for themselves. */
#include "mnist/cpu.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_features.h"

static const char *const names[MN_ISA_COUNT] = {"generic", "avx2", "avx512", "neon"};

const char *mn_isa_name(mn_isa isa)
{
    return (unsigned)isa < MN_ISA_COUNT ? names[isa] : "?";
}

int mn_isa_parse(const char *s, mn_isa *out)
{
    for (int i = 0; s && i < MN_ISA_COUNT; i++)
        if (!strcmp(s, names[i])) {
            *out = (mn_isa)i;
            return 1;
        }
    return 0;
}

/* Bit i set: level i supported; bit 8: the SHA extensions. Asked once:
 * GCC's cpu checks are cheap but not free, and the answer never changes. */
#define FEATURE_SHA (1u << 8)
#define FEATURES_UNREAD (1u << 31)
static atomic_uint features = FEATURES_UNREAD;

#if defined(MN_KERNELS_X86)
#include <cpuid.h>

/* libgcc's __builtin_cpu_supports does not know "sha" in GCC 12: ask cpuid
 * (leaf 7 EBX bit 29; SSSE3 and SSE4.1 in leaf 1 ECX bits 9 and 19). */
static int have_sha(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 9)) || !(c & (1u << 19)))
        return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return 0;
    return (b >> 29) & 1;
}

static unsigned read_features(void)
{
    /* GCC's checks also require the OS to save the wider registers. */
    unsigned f = 1u << MN_ISA_GENERIC;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        f |= 1u << MN_ISA_AVX2;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma"))
        f |= 1u << MN_ISA_AVX512;
    if (have_sha())
        f |= FEATURE_SHA;
    return f;
}
#elif defined(MN_KERNELS_NEON)
static unsigned read_features(void)
{
    return 1u << MN_ISA_GENERIC | 1u << MN_ISA_NEON; /* Advanced SIMD is part of arm64 */
}
#else
static unsigned read_features(void) { return 1u << MN_ISA_GENERIC; }
#endif

static unsigned cpu_features(void)
{
    unsigned f = atomic_load_explicit(&features, memory_order_relaxed);
    if (f == FEATURES_UNREAD) { /* two threads may both read: the same answer */
        f = read_features();
        atomic_store_explicit(&features, f, memory_order_relaxed);
    }
    return f;
}

int mn_isa_supported(mn_isa isa)
{
    return (unsigned)isa < MN_ISA_COUNT && (cpu_features() >> isa & 1u);
}

int mn_cpu_has_sha(void) { return (cpu_features() & FEATURE_SHA) != 0; }

mn_isa mn_isa_best(void)
{
    static const mn_isa order[] = {MN_ISA_AVX512, MN_ISA_AVX2, MN_ISA_NEON};
    for (size_t i = 0; i < sizeof order / sizeof *order; i++)
        if (mn_isa_supported(order[i]))
            return order[i];
    return MN_ISA_GENERIC;
}

/* MNIST_ISA's level, checked: the environment is read once too. */
static mn_status read_active(mn_isa *out, mn_error *err)
{
    *out = mn_isa_best();
    const char *want = getenv("MNIST_ISA");
    if (!want || !*want)
        return MN_OK;
    char have[64] = "";
    for (int i = 0; i < MN_ISA_COUNT; i++)
        if (mn_isa_supported((mn_isa)i)) {
            strcat(have, *have ? ", " : "");
            strcat(have, names[i]);
        }
    mn_isa isa;
    if (!mn_isa_parse(want, &isa))
        return mn_error_set(err, MN_ERR_ARG,
                            "MNIST_ISA=%.40s names no level (generic, avx2, avx512, neon); "
                            "this machine runs %s",
                            want, have);
    if (!mn_isa_supported(isa))
        return mn_error_set(err, MN_ERR_ARG, "MNIST_ISA=%s: this %s cannot run it; it runs %s",
                            want, isa == MN_ISA_NEON ? "build" : "CPU or build", have);
    *out = isa;
    return MN_OK;
}

#define ACTIVE_UNREAD (-2)
#define ACTIVE_WRONG (-1)
static atomic_int active = ACTIVE_UNREAD;

mn_status mn_isa_active(mn_isa *out, mn_error *err)
{
    int a = atomic_load_explicit(&active, memory_order_relaxed);
    if (a >= 0) {
        *out = (mn_isa)a;
        return MN_OK;
    }
    mn_status st = read_active(out, err); /* again when wrong: for the message */
    atomic_store_explicit(&active, st == MN_OK ? (int)*out : ACTIVE_WRONG, memory_order_relaxed);
    return st;
}
