/* big_alloc.h: buffers of a megabyte or more (a model file being read, a
 * model's parameters, its prepared weights), backed by transparent huge
 * pages where the kernel offers them. Internal to core/.
 *
 * Why: on the VMs our users start containers on a page fault costs several
 * microseconds (about 16 us on the development VM: 16 ms for 4 MiB in 4 KiB
 * pages against 0.6 ms in 2 MiB pages), and the default three-member model
 * touches about 12 MB of fresh memory before it is ready: most of its
 * start-up time. */
#ifndef MNIST_BIG_ALLOC_H
#define MNIST_BIG_ALLOC_H

#include <stddef.h>

/* n bytes (any n) on a 64-byte boundary, released with free(); NULL when
 * out of memory. From 1 MiB on, the block is rounded up to whole 2 MiB
 * pages (at most half of it unused) and marked for huge pages
 * (madvise MADV_HUGEPAGE, where it exists; the kernel may still use small
 * pages). The content is not initialised. */
void *mn_big_alloc(size_t n);

#endif
