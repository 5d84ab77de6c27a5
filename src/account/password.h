/*
 * password.h - the password policy of NIST SP 800-63B rev.4.
 *
 * A password is acceptable when, after Unicode NFKC normalisation, it has
 * at least password_min_length characters (password_min_length_mfa when it
 * is one factor of several), at most password_max_length, and is on none
 * of the blocklists: breached passwords (an offline file in the Have I
 * Been Pwned SHA-1 format), the cracklib dictionary, context words (the
 * user's login and name parts, the company's words and local_domains
 * labels), and repetitive or sequential strings.  There are no composition
 * rules (no "one digit, one symbol").
 *
 * The checker holds the breached list memory-mapped and is read-only after
 * pwcheck_new(), so one checker may serve several threads.
 */
#ifndef SEKISHO_PASSWORD_H
#define SEKISHO_PASSWORD_H

#include <stddef.h>
#include <stdint.h>

#include "util/config.h"

enum pw_reason {
	PW_OK = 0,
	PW_EMPTY,		/* nothing given */
	PW_INVALID,		/* not valid UTF-8, or control characters */
	PW_TOO_SHORT,
	PW_TOO_LONG,
	PW_BREACHED,		/* in the breached-password list */
	PW_DICTIONARY,		/* a dictionary word (cracklib) */
	PW_CONTEXT,		/* contains the user's or the company's words */
	PW_REPETITIVE,		/* aaaa..., abcabc..., passwordpassword */
	PW_SEQUENTIAL,		/* 1234..., abcd..., qwerty... */
	PW_ERROR,		/* the check itself failed (list unreadable...) */
};

struct pw_result {
	enum pw_reason reason;
	size_t length;		/* characters after NFKC */
	size_t min_length;	/* the minimum that applied */
	int64_t count;		/* PW_BREACHED: times seen in breaches */
	char word[128];		/* PW_CONTEXT: the word found */
};

/* Who the password is for; every field may be NULL / 0. */
struct pw_user {
	const char *login;	/* "taro.yamada" or "taro.yamada@example.co.jp" */
	const char *address;	/* the user's mail address, when not the login */
	int mfa;		/* the password is not the only factor */
};

struct pwcheck;

/* Open the lists named by cfg (password_breached_list, password_dictionary,
 * password_context_words, local_domains).  NULL + err when the breached
 * list is set but cannot be mapped. */
struct pwcheck *pwcheck_new(const struct config *cfg, char *err, size_t errlen);
void pwcheck_free(struct pwcheck *pc);

/* Check one password (len bytes, need not be NUL-terminated).  Returns the
 * reason (also in res); PW_OK when acceptable. */
enum pw_reason pwcheck_run(const struct pwcheck *pc, const char *pw, size_t len,
    const struct pw_user *user, struct pw_result *res);

/* The reason as one line for people: lang "ja" or anything else (en). */
const char *pw_reason_text(enum pw_reason r, const char *lang);
/* A stable name for machines ("too_short", "breached", ...). */
const char *pw_reason_name(enum pw_reason r);

/*
 * The breached-password list: lines "HASH:COUNT" (40 hex digits of the
 * SHA-1 of the password, upper case, sorted), as Have I Been Pwned ships
 * it; CRLF or LF line ends.  Looked up by binary search over the mapped
 * file, so a multi-gigabyte list costs about log2(lines) page reads and no
 * memory of its own.  A probe that finds no line end within 1024 bytes
 * gives up (not found): a broken file costs bounded work, never a scan.
 */
struct pwlist;

struct pwlist *pwlist_open(const char *path, char *err, size_t errlen);
void pwlist_close(struct pwlist *l);
/* hex: 40 hex digits (any case).  1 found (*count set), 0 not found. */
int pwlist_find(const struct pwlist *l, const char *hex, int64_t *count);
/* The upper-case hex SHA-1 of pw into out[41]. */
void pw_sha1_hex(const char *pw, size_t len, char out[41]);

/* NFKC of UTF-8 text: a malloc'ed string (*outlen bytes) and its length in
 * characters in *nchars, or NULL when the input is not valid UTF-8. */
char *pw_nfkc(const char *s, size_t len, size_t *outlen, size_t *nchars);

#endif
