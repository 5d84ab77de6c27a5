/*
 * outbound_hold.c - recording holds, deciding them, and the signed links.
 *
 * Which action fits which hold:
 *
 *   kind       cancel  release  approve  reject  confirm
 *   hold         x       x
 *   approval     x       x        x        x
 *   confirm      x       x                          x
 *   admin        x       x
 *
 * An approver can never approve their own mail (the actor is compared
 * with the sender).  The sender is told the outcome of an approval.
 *
 * Tokens are 256 random bits from libsodium, given out base64url-encoded
 * in a link; the store keeps only their BLAKE2b-256 hash, so a copy of the
 * database gives no working link.  A token allows one action on one
 * message, once, until it expires (the end of the hold or the deadline).
 * Tokens never reach a log.
 */
#include "outbound/outbound.h"
#include "queue/queue_digest.h"
#include "util/log.h"
#include "util/util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

static int
is_kind(const char *k)
{
	return strcmp(k, "hold") == 0 || strcmp(k, "approval") == 0 ||
	    strcmp(k, "confirm") == 0;
}

/* The symbol names of a scan result's JSON. */
static size_t
scan_names(const char *scan, json_t **root, const char ***names)
{
	json_t *syms, *s;
	size_t i, n = 0;

	*names = NULL;
	*root = scan ? json_loads(scan, 0, NULL) : NULL;
	if (*root == NULL)
		return 0;
	syms = json_object_get(*root, "symbols");
	*names = xcalloc(json_array_size(syms) + 1, sizeof(**names));
	json_array_foreach(syms, i, s) {
		const char *name = json_string_value(json_object_get(s, "name"));
		if (name)
			(*names)[n++] = name;
	}
	return n;
}

int
outbound_hold_record(struct store *st, const struct config *cfg,
    const struct envelope *env, const struct queue_info *qi)
{
	struct store_hold h;
	struct outbound_person p;
	const char **names;
	json_t *root;
	char why[512];
	size_t n;
	int64_t now = util_now_ms();
	int outbound = env->listener && strcmp(env->listener, "outbound") == 0;
	int rc;

	memset(&h, 0, sizeof(h));
	util_strlcpy(h.msg_id, env->id, sizeof(h.msg_id));
	util_strlcpy(h.kind, outbound && qi->action && is_kind(qi->action) ? qi->action :
	    "admin", sizeof(h.kind));
	util_strlcpy(h.status, "held", sizeof(h.status));
	if (outbound_person_get(st, cfg, env->mail_from, &p) < 0)
		log_warn("outbound: directory look-up failed for id=%s: %s", env->id,
		    store_errmsg(st));
	n = scan_names(qi->scan, &root, &names);
	h.risk = outbound_risk(cfg, names, n, why, sizeof(why));
	free(names);
	json_decref(root);
	h.sender = env->mail_from;
	h.lang = p.lang;
	h.reasons = why;
	h.created_ms = now;
	if (strcmp(h.kind, "hold") == 0) {
		h.release_at = qi->next_try_ms > now ? qi->next_try_ms : now;
	} else if (strcmp(h.kind, "admin") == 0) {
		h.notified = 1;		/* an admin's hold: nobody to tell */
	} else {
		h.deadline_at = now + cfg->approval_deadline * 1000;
		if (strcmp(h.kind, "approval") == 0) {
			h.approvers = p.approvers;
			if (cfg->approval_reminder > 0 &&
			    cfg->approval_reminder < cfg->approval_deadline)
				h.reminder_at = h.deadline_at - cfg->approval_reminder * 1000;
			if (*p.approvers == '\0')
				log_warn("outbound: id=%s needs approval but the directory names no "
				    "approvers for <%s>; decide with sekisho approval", env->id,
				    env->mail_from);
		}
	}
	rc = store_hold_insert(st, &h);
	if (rc == 0)
		log_info("hold id=%s kind=%s risk=%.1f reasons=\"%s\"", env->id, h.kind, h.risk,
		    why);
	outbound_person_clear(&p);
	return rc;
}

struct act_rule {
	const char *action;
	const char *status;	/* the hold's status after it */
	int release;		/* the message goes out */
	const char *kinds;	/* the kinds it applies to */
};

static const struct act_rule act_rules[] = {
	{ "cancel", "cancelled", 0, " hold approval confirm admin " },
	{ "release", "released", 1, " hold approval confirm admin " },
	{ "approve", "approved", 1, " approval " },
	{ "reject", "rejected", 0, " approval " },
	{ "confirm", "released", 1, " confirm " },
};

int
outbound_act(struct store *st, const char *id, const char *action, const char *actor,
    const char *comment)
{
	const struct act_rule *rule = NULL;
	struct store_hold h;
	char pat[24];
	int rc;

	for (size_t i = 0; i < UTIL_ARRAY_LEN(act_rules); i++)
		if (strcmp(act_rules[i].action, action) == 0)
			rule = &act_rules[i];
	if (rule == NULL)
		return 1;
	rc = store_hold_get(st, id, &h);
	if (rc != 0)
		return rc;
	snprintf(pat, sizeof(pat), " %s ", h.kind);
	if (strcmp(h.status, "held") != 0 || strstr(rule->kinds, pat) == NULL ||
	    (strcmp(action, "approve") == 0 && actor && h.sender &&
	    util_strcasecmp(actor, h.sender) == 0)) {
		store_hold_clear(&h);
		return 1;
	}
	rc = store_hold_decide(st, id, rule->status, rule->release, actor, comment,
	    util_now_ms(), strcmp(h.kind, "approval") == 0);
	if (rc == 0)
		log_info("hold id=%s %s by=%s kind=%s", id, rule->status, actor ? actor : "-",
		    h.kind);
	store_hold_clear(&h);
	return rc;
}

void
outbound_token_hash(const char *token, unsigned char hash[STORE_TOKEN_HASH])
{
	crypto_generichash(hash, STORE_TOKEN_HASH, (const unsigned char *)token,
	    strlen(token), NULL, 0);
}

int
outbound_token_make(char out[OUTBOUND_TOKEN_LEN + 1], unsigned char hash[STORE_TOKEN_HASH])
{
	unsigned char rnd[32];

	if (sodium_init() < 0)
		return -1;
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2base64(out, OUTBOUND_TOKEN_LEN + 1, rnd, sizeof(rnd),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(rnd, sizeof(rnd));
	outbound_token_hash(out, hash);
	return 0;
}

int
outbound_token_new(struct store *st, const char *id, const char *action,
    const char *owner, int64_t expires_ms, char out[OUTBOUND_TOKEN_LEN + 1])
{
	unsigned char hash[STORE_TOKEN_HASH];

	if (outbound_token_make(out, hash) < 0)
		return -1;
	return store_token_put(st, hash, id, action, owner, expires_ms);
}

int
outbound_link_act(struct store *st, const char *token, const char *action,
    const char *actor, const char *comment)
{
	unsigned char hash[STORE_TOKEN_HASH];
	char id[QUEUE_ID_SIZE];
	char *owner = NULL;
	int rc;

	if (token == NULL || strlen(token) != OUTBOUND_TOKEN_LEN)
		return 1;
	outbound_token_hash(token, hash);
	/* the quarantine digest's links (queue_digest.h) */
	if (queue_digest_link_action(action))
		return queue_digest_link_act(st, hash, action, actor);
	if (store_begin(st) < 0)
		return -1;
	rc = store_token_use(st, hash, action, util_now_ms(), id, &owner);
	if (rc == 0)
		rc = outbound_act(st, id, action, actor ? actor : owner, comment);
	if (rc < 0 || store_commit(st) < 0) {
		store_rollback(st);
		rc = -1;
	}
	free(owner);
	return rc;
}
