/* images.h: a training set from a directory of labelled image files,
 * DIR/<label>/<file>, decoded (PNG, JPEG, GIF, BMP, PGM/PPM) and
 * normalised exactly as the server normalises what it is sent. */
#ifndef MNIST_TRAIN_IMAGES_H
#define MNIST_TRAIN_IMAGES_H

#include <stdint.h>

#include "image_decode.h"
#include "mnist/mnist.h"

/* Most images one directory may hold, and the largest file read. */
#define IMAGES_MAX_COUNT 1000000
#define IMAGES_MAX_FILE_BYTES (32u * 1024u * 1024u)
#define IMAGES_MAX_PIXELS (16384ull * 16384ull)

/* Loads every image under dir/<label>/ (label: a whole number 0..255;
 * hidden entries skipped) into out (mn_dataset_free), 28x28 MNIST
 * convention, in an order shuffled from seed so that a --val tail mixes
 * the classes. input must be 1x28x28. Images that cannot be decoded or
 * hold no ink are skipped with a note on stderr; no usable image at all
 * is an error. Messages name the file. */
mn_status images_load(const char *dir, mn_shape input, uint64_t seed, mn_dataset *out,
                      mn_error *err);

/* Decodes one image file with the server's decoder (image_decode.h: PNG,
 * JPEG, GIF, BMP, binary PGM/PPM; at most IMAGES_MAX_FILE_BYTES and
 * IMAGES_MAX_PIXELS) into *out (img_free). Returns 0, or -1 with the
 * reason in why. */
int images_decode_file(const char *path, img_decoded *out, char *why, size_t whylen);

/* Decodes and normalises one file into px, as the server does; 0 on
 * success, -1 (with a note on stderr naming the file) when it cannot be
 * read, decoded, or holds no ink. */
int images_read_file(const char *path, uint8_t px[MN_PIXELS]);

#endif
