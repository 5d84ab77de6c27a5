/*
 * store_attach.h - protected attachments: the sets of files behind a
 * download link (or the password of a ZIP), their files and every
 * download (store_sqlite_attach.c, tables from migration 12).
 *
 * A set is keyed by the message's queue id and lives through three
 * states: "pending" (written by the scan worker, with its files already
 * on disk), "active" (made so in the queue writer's transaction that puts
 * the rewritten message in place) and "revoked".  Only an active set
 * serves downloads.  A pending set is replaced when the same message is
 * analysed again after a crash: its rewrite never reached the spool, so
 * its link was never sent.
 *
 * The link's token is kept only as its hash; the one-time code the same
 * way.  The secret column holds the code or the ZIP password only until
 * its mail is queued (store_attach_notified clears it).
 */
#ifndef SEKISHO_STORE_ATTACH_H
#define SEKISHO_STORE_ATTACH_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "store/store_outbound.h"

struct attach_set {
	char id[QUEUE_ID_SIZE];
	char mode[8];		/* "link" or "zip" */
	char state[12];		/* "pending", "active", "revoked" */
	char *sender;		/* may be "" (the null sender) */
	char *recipients;	/* space separated */
	char *lang;		/* the sender's language */
	char *subject;		/* decoded, or NULL */
	int64_t created_ms, expires_ms;
	int64_t max_downloads;	/* 0: no limit */
	int64_t downloads;
	int has_code;
	unsigned char code_hash[STORE_TOKEN_HASH];
	char *secret;		/* code or password until its mail is queued, or NULL */
	int notified;
	int purged;		/* the files are removed */
	int64_t revoked_ms;
	char *revoked_by;
};

struct attach_file {
	int idx;		/* 1, 2, ... in the order of the message */
	char *name;		/* UTF-8 */
	char *ctype;
	int64_t size;
	char *path;		/* the stored copy (state_dir/attachments/...) */
};

struct attach_download {
	int64_t t_ms;
	int idx;		/* file, or 0 for a refused request */
	char *ip;
	char *agent;
	char *result;		/* "ok", "code", "gone" */
};

void attach_set_clear(struct attach_set *s);
void attach_files_free(struct attach_file *f, size_t n);

/*
 * Keep a new pending set with its files (hash: the link token's, NULL for
 * a ZIP).  An older pending set of the same id is replaced: its files'
 * paths are returned in *old (NULL-terminated, malloc'ed, for the caller
 * to unlink; may be NULL).  0 done, 1 an active or revoked set exists
 * (nothing changed), -1 error.
 */
int store_attach_put(struct store *st, const struct attach_set *s,
    const unsigned char hash[STORE_TOKEN_HASH], const struct attach_file *files,
    size_t nfiles, char ***old);
/* pending -> active (in the caller's transaction).  0, 1 none pending, -1. */
int store_attach_activate(struct store *st, const char *id);
/* 0 found, 1 not, -1 error.  Release with attach_set_clear. */
int store_attach_get(struct store *st, const char *id, struct attach_set *s);
int store_attach_by_hash(struct store *st, const unsigned char hash[STORE_TOKEN_HASH],
    struct attach_set *s);
/* The files of a set in order (release with attach_files_free).  0 or -1. */
int store_attach_files(struct store *st, const char *id, struct attach_file **f,
    size_t *n);
/*
 * Count one download of file idx if the set still allows it at now_ms
 * (active, not expired, below its limit), and log it with ip and agent.
 * 0 allowed, 1 refused (logged as "gone"), -1 error.
 */
int store_attach_download(struct store *st, const char *id, int idx, const char *ip,
    const char *agent, int64_t now_ms);
/* Log a refused request (result "code", "gone"...).  0 or -1. */
int store_attach_log(struct store *st, const char *id, int idx, const char *ip,
    const char *agent, const char *result, int64_t now_ms);
/* Revoke an active (or pending) set.  0 done, 1 not possible, -1 error. */
int store_attach_revoke(struct store *st, const char *id, const char *by, int64_t now_ms);
/* Active sets whose mails are not yet sent (up to max).  *v malloc'ed. */
int store_attach_unnotified(struct store *st, struct attach_set **v, int max);
/* The mails are queued: notified = 1, secret forgotten.  0 or -1. */
int store_attach_notified(struct store *st, const char *id);
/* Sets whose files can go (expired or revoked, not yet purged; a pending
 * set whose message never left counts once expired).  Their ids into ids
 * (up to max).  Count or -1. */
int store_attach_purgeable(struct store *st, int64_t now_ms, char (*ids)[QUEUE_ID_SIZE],
    int max);
int store_attach_purged(struct store *st, const char *id);

typedef int (*store_attach_cb)(const struct attach_set *s, void *arg);
/* Every set, newest first.  The callback returns non-zero to stop. */
int store_attach_foreach(struct store *st, store_attach_cb cb, void *arg);
/* The download log of a set, oldest first.  *v malloc'ed; count or -1. */
int store_attach_log_get(struct store *st, const char *id, struct attach_download **v);
void attach_downloads_free(struct attach_download *v, int n);

#endif
