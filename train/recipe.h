/* recipe.h: a training recipe as data: the presets --preset names, the
 * metadata JSON a run writes into its files, and reading the recipe back
 * from a checkpoint so a resumed run is the same run. */
#ifndef MNIST_TRAIN_RECIPE_H
#define MNIST_TRAIN_RECIPE_H

#include "mnist/model.h"
#include "trainer.h"

/* Applies preset `name` ("reference", "large", "small") to o: its layer
 * string and recipe. Returns 0, or -1 for an unknown name. Flags given
 * after --preset override it. */
int recipe_preset(train_options *o, const char *name);

/* "reference, large, small" for messages. */
const char *recipe_preset_names(void);

/* Parses "const", "exp:F" or "cosine" into o; -1 when malformed. */
int recipe_parse_schedule(train_options *o, const char *s);

/* The class names of a dataset: "0".."9" for MNIST, Fashion-MNIST's ten
 * names; classes beyond them are numbered. */
const char *recipe_label(const char *dataset, uint32_t k, char *buf, size_t len);

/* The metadata JSON (malloc'd) of a model trained by o; accuracies < 0
 * are written as null; arch_trained is the layer string that was trained
 * (before folding); seconds of wall time and of CPU time (all threads). */
char *recipe_meta(const train_options *o, const mn_model *m, const char *arch_trained,
                  double test_acc, double val_acc, double seconds, double cpu_seconds);

/* Restores o's recipe from a checkpoint's metadata; an explicit --epochs
 * may extend it. *seconds and *cpu_seconds get the training time so far.
 * Returns 0, or -1 with a message on stderr. */
int recipe_from_checkpoint(train_options *o, const mn_model *m, const char *path, double *seconds,
                           double *cpu_seconds);

#endif
