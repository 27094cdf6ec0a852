/* big_alloc.c: huge-page-backed large buffers (big_alloc.h). */
#define _DEFAULT_SOURCE
#include "big_alloc.h"

#include <stdlib.h>
#include <sys/mman.h>

#define HUGE_PAGE ((size_t)2 << 20)

void *mn_big_alloc(size_t n)
{
    if (n < HUGE_PAGE / 2)
        return aligned_alloc(64, (n + 63) & ~(size_t)63);
    const size_t r = (n + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    void *p = aligned_alloc(HUGE_PAGE, r);
#ifdef MADV_HUGEPAGE
    if (p)
        (void)madvise(p, r, MADV_HUGEPAGE); /* advice only: small pages still work */
#endif
    return p;
}
