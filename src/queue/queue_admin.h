/*
 * queue_admin.h - what an administrator does to a quarantined message:
 * release, delete, learn.  One implementation for "sekisho quarantine" and
 * the console's REST API.
 *
 * Each call works on the store and spool it is given (the caller's own
 * connection) and changes the state in one transaction, so a running
 * sekishod picks a released message up within queue_scan_interval and two
 * admins acting at once cannot both succeed.  The message must be
 * quarantined: anything else is QADMIN_WRONG_STATE.
 */
#ifndef SEKISHO_QUEUE_ADMIN_H
#define SEKISHO_QUEUE_ADMIN_H

#include <stddef.h>

#include "detect/learn.h"

struct store;
struct spool;

enum qadmin_rc {
	QADMIN_ERROR = -1,	/* store or spool failure: see err */
	QADMIN_OK = 0,
	QADMIN_NOT_FOUND = 1,
	QADMIN_WRONG_STATE = 2,	/* exists but is not quarantined */
};

/* Quarantined -> queued, due now, action "release". */
enum qadmin_rc quarantine_release(struct store *st, const char *id, char *err, size_t errlen);
/* Remove the row, then the spool file. */
enum qadmin_rc quarantine_delete(struct store *st, struct spool *sp, const char *id,
    char *err, size_t errlen);
/*
 * Learn the spooled message as spam (1) or ham (0) into the site-wide model
 * (created with 2^bits buckets when there is none), recorded with source
 * ("user", "cli").  *outcome gets what the learner did.
 */
enum qadmin_rc quarantine_learn(struct store *st, struct spool *sp, const char *id,
    int spam, unsigned bits, const char *source, enum learn_outcome *outcome,
    char *err, size_t errlen);
/* The spooled bytes of a message (caller frees), or NULL with errno. */
char *quarantine_read(struct spool *sp, const char *id, size_t *len);
/* The total score of a stored scan result (its JSON), 0 when there is none. */
double queue_scan_score(const char *scan_json);

#endif
