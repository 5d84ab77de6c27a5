/*
 * detect_report.h - machine reports (DMARC aggregate, SMTP TLS reporting).
 */
#ifndef SEKISHO_DETECT_REPORT_H
#define SEKISHO_DETECT_REPORT_H

#include <stddef.h>

#include "detect/detect.h"

extern const struct detector detect_report;

enum report_kind {
	REPORT_NONE = 0,
	REPORT_DMARC,		/* RFC 7489 aggregate report (XML, zip or gzip) */
	REPORT_TLSRPT,		/* RFC 8460 SMTP TLS report (JSON, gzip) */
};

/*
 * Whether msg is shaped like a machine report: one attachment named
 * "submitter!domain!begin!end[!id].ext" (the RFC naming) of an archive or
 * XML/JSON type, a Subject naming that domain, no other file, and links (if
 * any) only to the two domains of the name.  The submitter and the report's
 * domain go to submitter/domain (size bytes each; may be NULL).  The shape
 * alone says nothing about who sent it: the detector only credits it when
 * no other check found fault.
 */
enum report_kind report_recognize(const struct message *msg, char *submitter,
    char *domain, size_t size);

#endif
