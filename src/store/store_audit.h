/*
 * store_audit.h - mailbox audits, forced password changes and incidents.
 *
 * Sieve audit state: per login, when the last audit ran, the digest of the
 * scripts it read and the keys of its findings (a JSON array of strings),
 * so the next audit can say what is new and what went away.
 *
 * Forced password change: a login marked "must change the password" (an
 * incident's step 2), with when and why; cleared when the password has been
 * changed.  NIST SP 800-63B: no periodic change, a forced one after a
 * compromise.
 *
 * Incidents: one row per incident (login, opened/closed, by whom), four
 * steps each with done/not done, when, by whom and a note, and a timeline
 * of events (time, actor, step, what, detail) that is only ever appended
 * to.  Ids are integers so the REST API can expose them as they are.
 *
 * User history for incidents: the ids of a login's recent outbound
 * messages (auth_user or mail_from equal to it, any case) and the
 * recipients they were sent to, from the messages the store still holds.
 *
 * Fixed-size strings are cut to fit and NUL-terminated; malloc'ed ones say
 * so.  Calls return 0 or -1 (store_errmsg()); "not found" is 1 where said.
 */
#ifndef SEKISHO_STORE_AUDIT_H
#define SEKISHO_STORE_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "store/envelope.h"

struct store;

struct store_sieve_state {
	int64_t audited_ms;
	char digest[65];
	char *findings;		/* JSON array of finding keys; malloc'ed */
};

/* 0 found, 1 never audited, -1 error.  Clear with store_sieve_state_clear. */
int store_sieve_get(struct store *st, const char *login, struct store_sieve_state *s);
int store_sieve_put(struct store *st, const char *login, int64_t audited_ms,
    const char *digest, const char *findings_json);
void store_sieve_state_clear(struct store_sieve_state *s);

/* Mark login for a forced password change (insert or replace). */
int store_pwchange_set(struct store *st, const char *login, const char *reason);
/* 0 marked (since_ms and reason filled when not NULL), 1 not, -1 error. */
int store_pwchange_get(struct store *st, const char *login, int64_t *since_ms,
    char *reason, size_t reasonlen);
/* 0 cleared, 1 was not marked, -1 error. */
int store_pwchange_clear(struct store *st, const char *login);

#define INCIDENT_STEPS	4

struct store_incident {
	int64_t id;
	char login[256];
	int64_t opened_ms;
	int64_t closed_ms;		/* 0 while open */
	char opened_by[64];
	char closed_by[64];
	unsigned steps_done;		/* bit (n - 1) for step n */
};

struct store_incident_step {
	int step;			/* 1..4 */
	int done;
	int64_t done_ms;
	char actor[64];
	char note[512];
};

struct store_incident_event {
	int64_t id;
	int64_t incident_id;
	int64_t time_ms;
	int step;			/* 0: the incident itself */
	char actor[64];
	char what[64];			/* "opened", "step_done", "locked", ... */
	char *detail;			/* text or JSON; malloc'ed by foreach, freed after the callback */
};

/* A new open incident for login; its id into *id. */
int store_incident_open(struct store *st, const char *login, const char *actor,
    int64_t *id);
/* 0 found, 1 no such incident, -1 error. */
int store_incident_get(struct store *st, int64_t id, struct store_incident *inc);
/* The open incident of login, if any: 0 found, 1 none, -1 error. */
int store_incident_find_open(struct store *st, const char *login,
    struct store_incident *inc);
/* Newest first; open_only skips closed ones.  A callback returning
 * non-zero stops and that value is returned. */
typedef int (*store_incident_cb)(const struct store_incident *inc, void *arg);
int store_incident_foreach(struct store *st, int open_only, store_incident_cb cb,
    void *arg);
/* 0 closed, 1 no such open incident, -1 error. */
int store_incident_close(struct store *st, int64_t id, const char *actor);
/* Set step n (1..4) done or not; 0, 1 no such incident, -1 error. */
int store_incident_step_set(struct store *st, int64_t id, int step, int done,
    const char *actor, const char *note);
/* The four steps into steps[0..3] (step numbers filled even when never set). */
int store_incident_steps(struct store *st, int64_t id,
    struct store_incident_step steps[INCIDENT_STEPS]);
int store_incident_event_add(struct store *st, int64_t id, int step,
    const char *actor, const char *what, const char *detail);
/* Oldest first. */
typedef int (*store_incident_event_cb)(const struct store_incident_event *ev, void *arg);
int store_incident_event_foreach(struct store *st, int64_t id,
    store_incident_event_cb cb, void *arg);

/* Up to max ids of the outbound messages of login received since since_ms,
 * newest first.  The count, or -1. */
int store_user_outbound(struct store *st, const char *login, int64_t since_ms,
    char (*ids)[QUEUE_ID_SIZE], size_t max);
/* The recipients of login's outbound mail since since_ms, one call per
 * address (lower-cased) with the message count and the latest time. */
typedef int (*store_user_rcpt_cb)(const char *addr, int64_t count, int64_t last_ms,
    void *arg);
int store_user_recipients(struct store *st, const char *login, int64_t since_ms,
    store_user_rcpt_cb cb, void *arg);

/*
 * What each user sent, kept after the message rows are gone (delivered
 * mail leaves the messages table): one row per outbound message with its
 * verdict, and per recipient address the first and last time and the
 * count.  Written by the forward detector's verdict callback; logins and
 * addresses are kept lower-cased.
 */
struct store_sent {
	char msg_id[QUEUE_ID_SIZE];
	int64_t time_ms;
	char action[16];
	double score;
	char subject[256];
	int recipients;
};

/* Record one outbound message of login and its recipients (one transaction). */
int store_user_sent_add(struct store *st, const char *login, const struct store_sent *m,
    char *const *rcpts, size_t nrcpts);
/* Newest first, at most max (0: no limit). */
typedef int (*store_sent_cb)(const struct store_sent *m, void *arg);
int store_user_sent_foreach(struct store *st, const char *login, int64_t since_ms,
    size_t max, store_sent_cb cb, void *arg);
/* Addresses login sent to with last_ms >= since_ms, by address. */
int store_user_contacts(struct store *st, const char *login, int64_t since_ms,
    store_user_rcpt_cb cb, void *arg);

#endif
