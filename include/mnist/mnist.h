/* mnist.h: the whole public API of the mnist library in one include. */
#ifndef MNIST_MNIST_H
#define MNIST_MNIST_H

#include "mnist/adam.h"
#include "mnist/arch.h"
#include "mnist/augment.h"
#include "mnist/cpu.h"
#include "mnist/ensemble.h"
#include "mnist/error.h"
#include "mnist/explain.h"
#include "mnist/idx.h"
#include "mnist/layers.h"
#include "mnist/model.h"
#include "mnist/normalize.h"
#include "mnist/rng.h"
#include "mnist/segment.h"
#include "mnist/sha256.h"
#include "mnist/verdict.h"
#include "mnist/weights.h"

#endif
