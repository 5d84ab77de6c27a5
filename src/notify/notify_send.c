/*
 * notify_send.c - queueing notification mails (notify_send.h).
 *
 * notify_spool_inject() is the CLI's way into the queue: bytes first
 * (spool_commit returns once they and their name are on disk), then the
 * row.  The row is the commit point: until it exists, nothing refers to
 * the file and recovery removes it.
 */
#include "notify/notify_send.h"
#include "outbound/outbound.h"
#include "queue/queue_spool.h"
#include "store/store.h"
#include "util/log.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

int
notify_spool_inject(void *arg, struct envelope *env, const char *msg, size_t len)
{
	struct notify_spool_sink *k = arg;
	struct queue_info qi;
	int rc;

	if (spool_put(k->sp, env, msg, len) < 0) {
		log_err("notify: cannot spool a notice: the spool refused it");
		envelope_free(env);
		return -1;
	}
	memset(&qi, 0, sizeof(qi));
	qi.state = MSG_QUEUED;
	qi.created_ms = env->received_ms;
	qi.next_try_ms = env->received_ms;
	qi.action = "deliver";
	rc = store_msg_insert(k->st, env, &qi);
	if (rc < 0) {
		log_err("notify: cannot queue id=%s: %s", env->id, store_errmsg(k->st));
		spool_remove(k->sp, env->id);
	}
	envelope_free(env);
	return rc < 0 ? -1 : 0;
}

struct envelope *
notify_envelope(const struct config *cfg, const char *listener, const char *to)
{
	struct envelope *env = envelope_new();
	char *copy = xstrdup(to), *save = NULL;

	env->listener = xstrdup(listener);
	env->mail_from = xstrdup("");
	env->helo = xstrdup(cfg->myhostname);
	env->received_ms = util_now_ms();
	for (char *a = strtok_r(copy, " ,", &save); a; a = strtok_r(NULL, " ,", &save))
		envelope_add_rcpt(env, a, NULL, 0);
	free(copy);
	return env;
}

int
notify_send(const struct config *cfg, notify_inject_fn inject, void *arg,
    const char *listener, const char *kind, const char *lang, const char *to,
    const struct notify_var *vars, size_t nvars)
{
	size_t len;
	char *msg;
	int rc;

	if (to == NULL || *to == '\0')
		return 0;
	msg = notify_compose(cfg, kind, lang, to, vars, nvars, &len);
	if (msg == NULL)
		return -1;
	rc = inject(arg, notify_envelope(cfg, listener, to), msg, len);
	if (rc < 0)
		log_err("notify: cannot queue the %s mail to <%s>", kind, to);
	else
		log_info("notice kind=%s lang=%s to=<%s>", kind, lang, to);
	free(msg);
	return rc < 0 ? -1 : 0;
}

const char *
notify_lang_of(struct store *st, const struct config *cfg, const char *addr)
{
	struct outbound_person p;
	int en;

	(void)outbound_person_get(st, cfg, addr, &p);	/* on error: the config's */
	en = strcmp(p.lang ? p.lang : cfg->notify_language, "en") == 0;
	outbound_person_clear(&p);
	return en ? "en" : "ja";
}
