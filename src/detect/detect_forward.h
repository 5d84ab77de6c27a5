/*
 * detect_forward.h - outbound mail forwarded by a mailbox rule
 * (detect_forward.c).
 */
#ifndef SEKISHO_DETECT_FORWARD_H
#define SEKISHO_DETECT_FORWARD_H

#include "detect/detect.h"

extern const struct detector detect_forward;

#endif
