/*
 * http_form.h - the console API's small pure parts for holds, accounts
 * and the one-click link pages: HTML escaping, form bodies, durations,
 * the reasons of a hold's risk, and a per-address failure limiter.  No
 * network, no store (tests/unit/test_http_form.c).
 */
#ifndef SEKISHO_HTTP_FORM_H
#define SEKISHO_HTTP_FORM_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"


/*
 * The value of field name in an application/x-www-form-urlencoded body
 * ('+' is a space, %XX a byte), NUL-terminated into out.  0 found, 1 not
 * there, -1 malformed, longer than outlen - 1, or holding a NUL byte.
 */
int http_form_field(const char *body, size_t len, const char *name, char *out,
    size_t outlen);

/* "" or NULL: 0 (no limit); N (seconds) or N followed by s, m, h or d:
 * milliseconds (as sekisho account lock --for).
 * 0, or -1 (no number, another unit, zero, or over a year). */
int http_parse_duration(const char *text, int64_t *ms);

/* A hold's reasons "NAME(weight) NAME(weight)" as [{"name","weight"}];
 * words without a weight get weight 0.  NULL gives []. */
json_t *http_reasons_json(const char *reasons);

/* Is addr one of the words of list (space or comma separated), without
 * case?  1 or 0. */
int http_addr_in_list(const char *list, const char *addr);

/*
 * Failures per client address: at most max in window_ms; the oldest
 * entry makes room when all HTTP_RL_SLOTS are taken.  Thread-safe.
 */
#define HTTP_RL_SLOTS	512

struct http_rl_slot {
	char ip[64];
	int64_t start_ms;
	int count;
};

struct http_ratelimit {
	pthread_mutex_t mu;
	int max;
	int64_t window_ms;
	struct http_rl_slot slot[HTTP_RL_SLOTS];
};

void http_rl_init(struct http_ratelimit *rl, int max, int64_t window_ms);
void http_rl_destroy(struct http_ratelimit *rl);
/* 1 when ip has used up its failures in the window, else 0. */
int http_rl_blocked(struct http_ratelimit *rl, const char *ip, int64_t now_ms);
/* Count a failure of ip. */
void http_rl_fail(struct http_ratelimit *rl, const char *ip, int64_t now_ms);

#endif
