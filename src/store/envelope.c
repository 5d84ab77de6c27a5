/*
 * envelope.c - allocation and copying of struct envelope.
 */
#include "store/envelope.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

struct envelope *
envelope_new(void)
{
	return xcalloc(1, sizeof(struct envelope));
}

void
envelope_free(struct envelope *env)
{
	if (env == NULL)
		return;
	for (size_t i = 0; i < env->nrcpt; i++) {
		free(env->rcpt[i].addr);
		free(env->rcpt[i].orcpt);
		free(env->rcpt[i].reply);
	}
	free(env->rcpt);
	free(env->listener);
	free(env->client_addr);
	free(env->client_name);
	free(env->helo);
	free(env->tls);
	free(env->auth_user);
	free(env->mail_from);
	free(env->envid);
	free(env);
}

struct rcpt *
envelope_add_rcpt(struct envelope *env, const char *addr, const char *orcpt, int notify)
{
	struct rcpt *r;

	/* grow in powers of two */
	if ((env->nrcpt & (env->nrcpt - 1)) == 0)
		env->rcpt = xrealloc(env->rcpt,
		    (env->nrcpt ? env->nrcpt * 2 : 1) * sizeof(*env->rcpt));
	r = &env->rcpt[env->nrcpt++];
	memset(r, 0, sizeof(*r));
	r->addr = xstrdup(addr);
	r->orcpt = orcpt ? xstrdup(orcpt) : NULL;
	r->notify = notify;
	r->status = RCPT_PENDING;
	return r;
}

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

struct envelope *
envelope_dup(const struct envelope *env)
{
	struct envelope *d = envelope_new();

	memcpy(d->id, env->id, sizeof(d->id));
	d->listener = dup_or_null(env->listener);
	d->client_addr = dup_or_null(env->client_addr);
	d->client_name = dup_or_null(env->client_name);
	d->helo = dup_or_null(env->helo);
	d->tls = dup_or_null(env->tls);
	d->auth_user = dup_or_null(env->auth_user);
	d->mail_from = dup_or_null(env->mail_from);
	d->body = env->body;
	d->smtputf8 = env->smtputf8;
	d->ret = env->ret;
	d->envid = dup_or_null(env->envid);
	d->received_ms = env->received_ms;
	d->size = env->size;
	for (size_t i = 0; i < env->nrcpt; i++) {
		struct rcpt *r = envelope_add_rcpt(d, env->rcpt[i].addr,
		    env->rcpt[i].orcpt, env->rcpt[i].notify);
		r->status = env->rcpt[i].status;
		r->reply = dup_or_null(env->rcpt[i].reply);
	}
	return d;
}

size_t
envelope_count(const struct envelope *env, enum rcpt_status status)
{
	size_t n = 0;

	for (size_t i = 0; i < env->nrcpt; i++)
		if (env->rcpt[i].status == status)
			n++;
	return n;
}

const char *
envelope_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at ? at + 1 : "";
}
