/*
 * detect_bayes.h - the learning spam classifier as a detector
 * (detect_bayes.c; the model is classifier.h, learning is learn.h).
 */
#ifndef SEKISHO_DETECT_BAYES_H
#define SEKISHO_DETECT_BAYES_H

#include "detect/detect.h"

/* Keep it last in the registry: its autolearn reads the other checks' score. */
extern const struct detector detect_bayes;

#endif
