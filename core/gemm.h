/* gemm.h (internal): single-precision matrix multiply, the one hot loop
 * under convolution and dense layers. Row-major. The micro-kernels are
 * those of the level in force (kernels/kernels.h); mn_gemm_ref is the
 * naive oracle the tests compare them with. Single-threaded; allocates
 * nothing. */
#ifndef MNIST_CORE_GEMM_H
#define MNIST_CORE_GEMM_H

#include "mnist/cpu.h"

/* C[M,N] = beta * C + A' B' where A' is A[M,K] (or A[K,M] transposed when
 * ta) and B' is B[K,N] (or B[N,K] transposed when tb); lda/ldb/ldc are row
 * strides in floats. beta is 0 (C overwritten, may hold garbage/NaN) or 1
 * (accumulate). Deterministic: the same inputs give the same bits, and
 * row i of C is the same whatever M (a sample's result does not depend on
 * the batch it is computed in). */
void mn_gemm(int ta, int tb, int M, int N, int K, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc);
void mn_gemm_ref(int ta, int tb, int M, int N, int K, const float *A, int lda,
                 const float *B, int ldb, float beta, float *C, int ldc);

/* mn_gemm with the rows of B at arbitrary offsets: row r of B (B[K,N] when
 * !tb, B[N,K] when tb) starts at B + brow[r] (brow has K, or N, entries).
 * A stride-1 convolution's columns are overlapping windows of its input,
 * so it can be multiplied without copying them out (im2col). Otherwise
 * the contract of mn_gemm. */
void mn_gemm_rows(int ta, int tb, int M, int N, int K, const float *A, int lda,
                  const float *B, const long *brow, float beta, float *C, int ldc);

/* The K block mn_gemm sums at a time for an inner dimension K: each C
 * element is C + (sum of the first block) + (sum of the next) ..., each
 * sum a chain of multiply-adds in k order from zero, blocks of at most
 * MN_GEMM_KC_MAX as even as they come. Kernels that must give mn_gemm's
 * bits (the direct convolutions) block K alike. */
#define MN_GEMM_KC_MAX 256
static inline int mn_gemm_kc(int K)
{
    int nk = (K + MN_GEMM_KC_MAX - 1) / MN_GEMM_KC_MAX;
    return K > 0 ? (K + nk - 1) / nk : 1;
}

/* mn_gemm and mn_gemm_rows on the kernels of level isa (mnist/cpu.h),
 * which this CPU must run (asserted), so tests and benchmarks can hold
 * every level to mn_gemm_ref; mn_gemm itself runs the level in force. */
void mn_gemm_with(mn_isa isa, int ta, int tb, int M, int N, int K, const float *A, int lda,
                  const float *B, int ldb, float beta, float *C, int ldc);
void mn_gemm_rows_with(mn_isa isa, int ta, int tb, int M, int N, int K, const float *A,
                       int lda, const float *B, const long *brow, float beta, float *C, int ldc);

/* Internal, between gemm.c (the shared packing and cache-blocking driver)
 * and gemm_<isa>.c (the register-blocked micro-kernels). */
typedef struct {
    int mr, nr; /* micro-tile rows and columns */
    /* c[m,n] (+)= sum over kc of a[i*ais + k*aks] * b_k[j], m <= mr,
     * n <= nr, with ais == 1 or aks == 1, where row b_k = b + boff[k], or
     * b + k*ldbk when boff is NULL; reads no b column >= n; accumulate 0
     * overwrites c. */
    void (*tile)(int m, int n, int kc, const float *a, long ais, long aks, const float *b,
                 long ldbk, const long *boff, float *c, long ldc, int accumulate);
    /* C[M,N] = beta C + A B^T with A[M,K] row-major and row j of B[N,K] at
     * B + brow[j] (B + j*ldb when brow is NULL): dot products along K, no
     * packing; NULL when absent. */
    void (*dot_nt)(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                   const long *brow, float beta, float *C, int ldc);
    /* bp[(q*kc + k)*nr + j] = row (q*nr + j) of B at [k], rows as in dot_nt:
     * the nc x kc block of a transposed B packed into nr-column panels
     * (columns past nc of the last panel are unspecified); NULL: gemm.c's
     * scalar loop. */
    void (*pack_bt)(float *bp, const float *B, int ldb, const long *brow, int nc, int kc);
} mn_gemm_isa;


#endif
