/* cpu_features.h (internal): the CPU features beyond the kernel levels
 * of mnist/cpu.h that a part of the library asks cpu.c about. */
#ifndef MNIST_CORE_CPU_FEATURES_H
#define MNIST_CORE_CPU_FEATURES_H

/* 1 when this is an x86-64 build and the CPU has the SHA extensions. */
int mn_cpu_has_sha(void);

#endif
