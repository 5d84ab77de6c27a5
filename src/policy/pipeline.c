/*
 * pipeline.c - parse, detect, decide, rewrite.
 *
 * The spool file is mapped read-only; the parsed message refers to the
 * mapping, so it is unmapped only after the message is freed.  The whole
 * analysis of one message is bounded by scan_timeout (each detector checks
 * the deadline; detect_run adds SCAN_TIMEOUT when it runs out).
 */
#include "policy/pipeline.h"
#include "detect/detect.h"
#include "message/message.h"
#include "policy/policy.h"
#include "util/dns.h"
#include "util/log.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct pipeline {
	const struct config *cfg;
	struct detect_engine *de;
	struct policy *policy;
	struct dns *dns;
	struct message_limits limits;
	const struct pipeline_ops *ops;	/* from above, or NULL */
	void *protect;			/* ops' attachment protection, or NULL */
	int record;		/* pass scan_ctx.record: 1 in the daemon */
};

static const char *const action_names[] = {
	[ACTION_DELIVER] = "deliver",
	[ACTION_TAG] = "tag",
	[ACTION_QUARANTINE] = "quarantine",
	[ACTION_REJECT] = "reject",
	[ACTION_HOLD] = "hold",
};

const char *
action_name(enum action a)
{
	if ((size_t)a >= UTIL_ARRAY_LEN(action_names))
		return "unknown";
	return action_names[a];
}

void
verdict_clear(struct verdict *v)
{
	free(v->scan_json);
	free(v->subject);
	free(v->rewritten);
	memset(v, 0, sizeof(*v));
}

struct pipeline *
pipeline_new(const struct config *cfg, const struct pipeline_ops *ops, char *err,
    size_t errlen)
{
	struct pipeline *pl = xcalloc(1, sizeof(*pl));

	pl->cfg = cfg;
	pl->ops = ops;
	pl->record = 1;
	message_limits_default(&pl->limits);
	if (cfg->network_checks) {
		pl->dns = dns_new((const char *const *)cfg->dns_forwarders,
		    (int)cfg->dns_timeout, err, errlen);
		if (pl->dns == NULL)
			goto fail;
	}
	if ((pl->de = detect_new(cfg, err, errlen)) == NULL)
		goto fail;
	if ((pl->policy = policy_new(cfg, ops, err, errlen)) == NULL)
		goto fail;
	if (ops != NULL && ops->protect_open != NULL)
		pl->protect = ops->protect_open(cfg);
	return pl;
fail:
	pipeline_free(pl);
	return NULL;
}

void
pipeline_set_record(struct pipeline *pl, int record)
{
	pl->record = record;
}

void
pipeline_free(struct pipeline *pl)
{
	if (pl == NULL)
		return;
	if (pl->protect != NULL)
		pl->ops->protect_close(pl->protect);
	policy_free(pl->policy);
	detect_free(pl->de);
	dns_free(pl->dns);
	free(pl);
}

static char *
result_json(const struct scan_result *r, const struct verdict *v)
{
	json_t *syms = json_array(), *root;
	char *s;

	for (size_t i = 0; i < r->nsyms; i++)
		json_array_append_new(syms, json_pack("{s:s, s:f, s:s}",
		    "name", r->syms[i].name, "score", r->syms[i].score,
		    "reason", r->syms[i].reason));
	root = json_pack("{s:s, s:f, s:o}", "action", action_name(v->action),
	    "score", r->score, "symbols", syms);
	s = json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(root);
	if (s == NULL)
		panic("out of memory (json)");
	/* jansson allocates with malloc by default: free() is right */
	return s;
}

int
pipeline_run_mem(struct pipeline *pl, const struct envelope *env, const char *buf,
    size_t len, struct verdict *v, struct scan_result *res)
{
	struct message *msg = pipeline_parse(pl, buf, len);
	int rc = pipeline_run_msg(pl, env, msg, v, res);

	message_free(msg);
	return rc;
}

struct message *
pipeline_parse(const struct pipeline *pl, const char *buf, size_t len)
{
	return message_parse(buf, len, &pl->limits);
}

int
pipeline_run_msg(struct pipeline *pl, const struct envelope *env,
    const struct message *msg, struct verdict *v, struct scan_result *res)
{
	struct scan_result r;
	struct policy_changes ch;
	struct scan_ctx ctx;

	memset(v, 0, sizeof(*v));
	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = pl->cfg;
	ctx.env = env;
	ctx.msg = msg;
	ctx.dns = pl->dns;
	ctx.outbound = env->listener != NULL && strcmp(env->listener, "outbound") == 0;
	ctx.deadline_ms = util_mono_ms() + pl->cfg->scan_timeout;
	ctx.record = pl->record;

	scan_result_init(&r, detect_scores(pl->de));
	detect_run(pl->de, &ctx, &r);
	policy_decide(pl->policy, &ctx, &r, v, &ch);
	detect_verdict(pl->de, &ctx, &r, (int)v->action);
	v->subject = msg->subject ? xstrdup(msg->subject) : NULL;
	if (v->action != ACTION_REJECT) {
		struct message_strip st = {
			.parts = ch.strip_parts, .n = ch.nstrip, .notice = ch.strip_notice,
		};
		struct message_rewrite rw = {
			.remove = ch.remove,
			.prepend = (const char *const *)ch.prepend,
			.subject_prefix = ch.subject_prefix,
			.text_banner = ch.text_banner,
			.html_banner = ch.html_banner,
			.drop_addrs = (const char *const *)ch.bcc_addrs,
		};
		v->rewritten = message_rewrite_strip(msg, &rw, &st, &v->rewritten_len);
		if (st.n > 0 && st.stripped != st.n) {
			/* fail closed: never deliver what was to be removed */
			log_warn("pipeline: id=%s: %zu of %zu attachments could not be removed; "
			    "quarantined", env->id, st.n - st.stripped, st.n);
			v->action = ACTION_QUARANTINE;
			free(v->rewritten);
			v->rewritten = message_rewrite(msg, &rw, &v->rewritten_len);
		}
		if (v->rewritten == NULL)
			log_warn("pipeline: id=%s: the message could not be rewritten; "
			    "delivered unchanged", env->id);
		/* attachment protection: only for mail that leaves, after the
		 * checks (a file with malware never gets a link) */
		if (pl->protect != NULL && pl->record && ctx.outbound &&
		    v->action != ACTION_QUARANTINE && pl->ops->protect_apply(pl->protect, env,
		    msg->raw, msg->rawlen, v) < 0) {
			log_warn("pipeline: id=%s: the attachments could not be protected; "
			    "quarantined", env->id);
			v->action = ACTION_QUARANTINE;
		}
	}
	v->scan_json = result_json(&r, v);
	policy_changes_clear(&ch);
	if (res != NULL)
		*res = r;
	else
		scan_result_clear(&r);
	return 0;
}

int
pipeline_run(struct pipeline *pl, const struct envelope *env, const char *path,
    struct verdict *v, struct scan_result *res)
{
	struct stat st;
	void *map = NULL;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -1;
	}
	if (st.st_size > 0) {
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			close(fd);
			return -1;
		}
	}
	close(fd);
	rc = pipeline_run_mem(pl, env, map ? map : "", map ? (size_t)st.st_size : 0, v, res);
	if (map != NULL)
		munmap(map, (size_t)st.st_size);
	return rc;
}
