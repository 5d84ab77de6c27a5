/*
 * detect_headers.h - header sanity and parser limits.
 */
#ifndef SEKISHO_DETECT_HEADERS_H
#define SEKISHO_DETECT_HEADERS_H

#include "detect/detect.h"

extern const struct detector detect_headers;

#endif
