/* fma_peak.h: the machine's single-precision FMA peak, measured by a
 * register-resident FMA loop, so benchmarks can report a fraction of the
 * hardware measured in the same run. */
#ifndef BENCH_FMA_PEAK_H
#define BENCH_FMA_PEAK_H

/* GFLOP/s (one FMA = 2 flops) of the widest FMA this CPU runs (AVX-512,
 * AVX2, else scalar C), on `threads` OpenMP threads for about `seconds`.
 * *isa (if non-NULL) gets "avx512", "avx2" or "scalar". */
double bench_fma_peak(int threads, double seconds, const char **isa);

/* Monotonic wall-clock seconds. */
double bench_now(void);

#endif
