/*
 * incident_warn.c - step 3's warning to the contacts (incident_warn.h).
 *
 * The list is rebuilt from the store at each call (store_user_contacts,
 * store_user_recipients), so the preview, the dry run and the send see
 * the same contacts unless the user mailed someone new in between (then
 * the dry run shows it too).  Only the count and the addresses go into
 * the timeline, never the message text.
 */
#include "account/incident_warn.h"
#include "util/base64.h"
#include "store/store.h"
#include "store/store_audit.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/util.h"

#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>

static const char *const langs[] = { "ja", "en" };

const char *
incident_warn_lang(const char *addr)
{
	const char *dom = envelope_domain(addr);
	size_t n = strlen(dom);

	return n >= 3 && util_strcasecmp(dom + n - 3, ".jp") == 0 ? "ja" : "en";
}

char *
incident_warn_strip_bcc(const char *msg)
{
	struct buf b = { 0 };
	const char *p = msg;
	int skipping = 0, in_header = 1;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p + 1) : strlen(p);

		if (in_header && (n == 1 || (n == 2 && p[0] == '\r')))
			in_header = 0;
		if (in_header) {
			if (p[0] == ' ' || p[0] == '\t') {
				if (skipping) {
					p += n;
					continue;
				}
			} else {
				skipping = strncasecmp(p, "Bcc:", 4) == 0;
				if (skipping) {
					p += n;
					continue;
				}
			}
		}
		buf_add(&b, p, n);
		p += n;
	}
	return b.p ? buf_steal(&b, NULL) : xstrdup("");
}

/* len bytes in charset as UTF-8 (malloc'ed), or NULL. */
static char *
to_utf8(const char *charset, const char *in, size_t len)
{
	iconv_t cd = iconv_open("UTF-8", charset);
	struct buf b = { 0 };
	char tmp[1024], *ip = (char *)(uintptr_t)in;
	size_t il = len;

	if (cd == (iconv_t)-1)
		return NULL;
	while (il > 0) {
		char *op = tmp;
		size_t ol = sizeof(tmp);
		if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 && errno != E2BIG) {
			iconv_close(cd);
			buf_free(&b);
			return NULL;
		}
		buf_add(&b, tmp, sizeof(tmp) - ol);
	}
	iconv_close(cd);
	return b.p ? buf_steal(&b, NULL) : xstrdup("");
}

/* An unfolded header value: each RFC 2047 B word decoded on its own (a
 * decoder that joins words first loses what follows a padded word). */
static void
decode_words(struct buf *out, const char *v)
{
	while (*v) {
		const char *q, *e;
		if (strncmp(v, "=?", 2) == 0 && (q = strstr(v + 2, "?B?")) != NULL &&
		    (e = strstr(q + 3, "?=")) != NULL) {
			char *cs = xstrndup(v + 2, (size_t)(q - v - 2)), *u;
			unsigned char *raw = xmalloc((size_t)(e - q) + 1);
			long n = base64_decode(q + 3, (size_t)(e - q - 3), raw);
			if (n >= 0 && (u = to_utf8(cs, (const char *)raw, (size_t)n)) != NULL) {
				buf_str(out, u);
				free(u);
			}
			free(raw);
			free(cs);
			v = e + 2;
			while (*v == ' ' && strncmp(v + 1, "=?", 2) == 0)
				v++;	/* space between encoded words is not text */
		} else {
			buf_add(out, v, 1);
			v++;
		}
	}
}

char *
incident_warn_readable(const char *msg)
{
	const char *body = strstr(msg, "\r\n\r\n"), *p;
	struct buf subj = { 0 }, out = { 0 };
	char *text = NULL;
	int jis;

	if (body == NULL)
		return xstrdup(msg);
	body += 4;
	/* the Subject field with its continuation lines, unfolded */
	for (p = msg; p < body; p = strchr(p, '\n') + 1) {
		if (strncasecmp(p, "Subject:", 8) == 0) {
			const char *e = p + 8;
			for (;;) {
				const char *nl = strstr(e, "\r\n");
				while (*e == ' ' || *e == '\t')
					e++;
				buf_add(&subj, e, (size_t)(nl - e));
				if (nl[2] != ' ' && nl[2] != '\t')
					break;
				e = nl + 2;
			}
			break;
		}
	}
	jis = strstr(msg, "charset=ISO-2022-JP") != NULL &&
	    strstr(msg, "charset=ISO-2022-JP") < body;
	if (jis)
		text = to_utf8("ISO-2022-JP", body, strlen(body));
	buf_str(&out, "Subject: ");
	if (subj.p)
		decode_words(&out, subj.p);
	buf_str(&out, "\n\n");
	for (const char *c = text ? text : body; *c; c++)
		if (*c != '\r')
			buf_add(&out, c, 1);
	free(text);
	buf_free(&subj);
	return buf_steal(&out, NULL);
}

struct contacts {
	const struct config *cfg;
	char **addr;
	size_t n;
};

static int
contact_cb(const char *addr, int64_t count, int64_t last_ms, void *arg)
{
	struct contacts *c = arg;
	const char *dom = envelope_domain(addr);

	(void)count;
	(void)last_ms;
	if (*dom == '\0' || config_is_local_domain(c->cfg, dom))
		return 0;
	for (size_t i = 0; i < c->n; i++)
		if (util_strcasecmp(c->addr[i], addr) == 0)
			return 0;
	c->addr = xrealloc(c->addr, (c->n + 1) * sizeof(*c->addr));
	c->addr[c->n++] = xstrdup(addr);
	return 0;
}

static int
warned_cb(const struct store_incident_event *ev, void *arg)
{
	if (strcmp(ev->what, "contacts_warned") == 0)
		*(int *)arg = 1;
	return 0;
}

static const char *const what_of[] = { "warning_previewed", "warning_dry_run",
    "contacts_warned" };
static const char *const mode_name[] = { "preview", "dry-run", "send" };

json_t *
incident_warn(const struct incident_env *ie, int64_t id, enum incident_warn_mode mode,
    int again, notify_inject_fn inject, void *arg, char *err, size_t errlen)
{
	struct store_incident inc;
	struct contacts c = { ie->cfg, NULL, 0 };
	json_t *rcpts = json_array(), *msgs = json_object(), *texts = json_object(), *o = NULL;
	int64_t until = util_now_ms(), since;
	char *user = NULL, *detail;
	int queued = 0, warned = 0, rc;

	rc = store_incident_get(ie->st, id, &inc);
	if (rc != 0) {
		snprintf(err, errlen, "%s", rc < 0 ? store_errmsg(ie->st) : "no such incident");
		goto out;
	}
	since = inc.opened_ms - ie->cfg->incident_contacts_window * 1000;
	if (store_user_contacts(ie->st, inc.login, since, contact_cb, &c) < 0 ||
	    store_user_recipients(ie->st, inc.login, since, contact_cb, &c) < 0 ||
	    store_incident_event_foreach(ie->st, id, warned_cb, &warned) < 0) {
		snprintf(err, errlen, "%s", store_errmsg(ie->st));
		goto out;
	}
	if (mode == INCIDENT_WARN_SEND && warned && !again) {
		snprintf(err, errlen, "incident %lld: the contacts were already warned "
		    "(use --again to send once more)", (long long)id);
		goto out;
	}
	user = incident_user_address(ie->cfg, inc.login);
	for (size_t i = 0; i < c.n; i++)
		json_array_append_new(rcpts, json_pack("{s:s, s:s}", "address", c.addr[i],
		    "lang", incident_warn_lang(c.addr[i])));
	for (size_t l = 0; l < UTIL_ARRAY_LEN(langs); l++) {
		char **list = xcalloc(c.n + 1, sizeof(*list)), *msg, *clean, *to;
		size_t n = 0;
		struct buf tob = { 0 };

		for (size_t i = 0; i < c.n; i++)
			if (strcmp(incident_warn_lang(c.addr[i]), langs[l]) == 0) {
				list[n++] = c.addr[i];
				buf_printf(&tob, "%s%s", tob.len ? " " : "", c.addr[i]);
			}
		if (mode == INCIDENT_WARN_DRY_RUN || (n == 0 && mode == INCIDENT_WARN_SEND)) {
			free(list);
			buf_free(&tob);
			continue;
		}
		msg = incident_notice(ie->cfg, langs[l], user, since, until, list, n, err,
		    errlen);
		free(list);
		if (msg == NULL) {
			buf_free(&tob);
			goto out;
		}
		clean = incident_warn_strip_bcc(msg);
		free(msg);
		to = buf_steal(&tob, NULL);
		if (mode == INCIDENT_WARN_PREVIEW) {
			char *readable = incident_warn_readable(clean);
			json_object_set_new(msgs, langs[l], json_string(clean));
			json_object_set_new(texts, langs[l], json_string(readable));
			free(readable);
		} else if (inject(arg, notify_envelope(ie->cfg, "outbound", to), clean,
		    strlen(clean)) < 0) {
			snprintf(err, errlen, "cannot queue the %s warning", langs[l]);
			free(clean);
			free(to);
			goto out;
		} else {
			queued += (int)n;
			log_info("incident id=%lld warning lang=%s recipients=%zu queued", (long long)id,
			    langs[l], n);
		}
		free(clean);
		free(to);
	}
	o = json_pack("{s:I, s:s, s:s, s:O, s:i}", "incident", (json_int_t)id, "login",
	    inc.login, "mode", mode_name[mode], "recipients", rcpts, "queued", queued);
	detail = json_dumps(o, JSON_COMPACT);
	if (store_incident_event_add(ie->st, id, 3, ie->actor && *ie->actor ? ie->actor :
	    "admin", what_of[mode], detail) < 0) {
		snprintf(err, errlen, "%s", store_errmsg(ie->st));
		free(detail);
		json_decref(o);
		o = NULL;
		goto out;
	}
	free(detail);
	if (mode == INCIDENT_WARN_PREVIEW) {
		json_object_set(o, "messages", msgs);
		json_object_set(o, "text", texts);
	}
out:
	json_decref(rcpts);
	json_decref(msgs);
	json_decref(texts);
	for (size_t i = 0; i < c.n; i++)
		free(c.addr[i]);
	free(c.addr);
	free(user);
	return o;
}
