/*
 * detect_attach.h - attachments and malware (detect_attach.c).
 */
#ifndef SEKISHO_DETECT_ATTACH_H
#define SEKISHO_DETECT_ATTACH_H

#include "detect/detect.h"

extern const struct detector detect_attach;

#endif
