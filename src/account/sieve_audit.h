/*
 * sieve_audit.h - what users' Sieve scripts do with their mail.
 *
 * An attacker who holds a mailbox often leaves a rule behind: a copy of
 * every message redirected to an outside address, or the replies to the
 * fraud discarded so that the owner never sees them.  The audit parses each
 * user's Sieve scripts (RFC 5228 with redirect :copy, reject/ereject,
 * discard, fileinto, vacation and the Pigeonhole pipe extension), lists the
 * risky actions, and compares them with what the previous audit saw, kept
 * in the store (store_audit.h).
 *
 * sieve_parse() is a pure function over bytes, bounded (SIEVE_MAX_DEPTH
 * nesting, SIEVE_MAX_ACTIONS actions, SIEVE_MAX_TOKENS tokens) and fuzzed
 * (tests/fuzz/fuzz_sieve.c).  A script it cannot parse is itself a finding:
 * the mail server might run what we cannot read.
 */
#ifndef SEKISHO_SIEVE_AUDIT_H
#define SEKISHO_SIEVE_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "util/config.h"

#define SIEVE_MAX_DEPTH		32
#define SIEVE_MAX_ACTIONS	1024
#define SIEVE_MAX_TOKENS	200000

enum sieve_kind {
	SIEVE_REDIRECT = 1,	/* redirect ADDRESS (the original is not kept) */
	SIEVE_REDIRECT_COPY,	/* redirect :copy ADDRESS (a silent copy) */
	SIEVE_DISCARD,
	SIEVE_REJECT,		/* reject or ereject */
	SIEVE_FILEINTO,
	SIEVE_VACATION,
	SIEVE_PIPE,		/* vnd.dovecot.pipe / execute: mail to a program */
	SIEVE_UNPARSED,		/* the script could not be parsed (detail says why) */
};

struct sieve_action {
	enum sieve_kind kind;
	char *target;		/* address, folder or program; "" when none */
	int conditional;	/* inside if/elsif/else */
	int line;
};

struct sieve_script {
	struct sieve_action *act;
	size_t nact;
	int error;		/* the script did not parse */
	char errmsg[160];	/* "line 3: expected ';'" */
	int limit;		/* a limit was hit (depth, tokens, actions) */
};

/* Parse len bytes.  0, or -1 when the script is not valid Sieve or a limit
 * was hit (errmsg says which); the actions found up to there are kept.
 * Release with sieve_script_clear(). */
int sieve_parse(const char *buf, size_t len, struct sieve_script *out);
void sieve_script_clear(struct sieve_script *s);
const char *sieve_kind_name(enum sieve_kind k);

/*
 * One finding of the audit: an action of a script, judged.  risky: a
 * redirect to an address outside local_domains (or one the script builds
 * from variables), any discard, reject or pipe, and a script that does not
 * parse.
 */
struct sieve_finding {
	char *script;		/* script name */
	enum sieve_kind kind;
	char *target;
	int external;		/* redirect target outside local_domains */
	int conditional;
	int risky;
	int is_new;		/* not seen by the previous audit */
	int line;
};

struct sieve_user_audit {
	char *user;
	struct sieve_finding *f;
	size_t nf;
	char **removed;		/* findings the previous audit had, now gone */
	size_t nremoved;
	char digest[65];	/* SHA-256 over the scripts' names and bytes */
	int changed;		/* digest differs from the previous audit's */
	int first;		/* no previous audit of this user */
	int new_risky;		/* count of new risky findings */
	char *error;		/* the scripts could not be read, or NULL */
};

/* Judge the actions of one parsed script into findings (appended to ua). */
void sieve_judge(const struct config *cfg, const char *script,
    const struct sieve_script *s, struct sieve_user_audit *ua);
/* A stable key of a finding ("redirect_copy|x@example.com|vacation.sieve"). */
char *sieve_finding_key(const struct sieve_finding *f);

struct store;

/*
 * Audit one user: read their scripts (sieve_dir or doveadm), judge them,
 * compare with the store's previous audit and save this one (when st is
 * not NULL).  0 (ua filled; ua->error set when the scripts could not be
 * read), -1 when the store fails.
 */
int sieve_audit_user(const struct config *cfg, struct store *st, const char *user,
    struct sieve_user_audit *ua);
void sieve_user_audit_clear(struct sieve_user_audit *ua);
/* Users to audit: subdirectories of sieve_dir, or `doveadm user '*'`.
 * A NULL-terminated malloc'ed array, or NULL with err. */
char **sieve_users(const struct config *cfg, char *err, size_t errlen);

#endif
