/*
 * detect_takeover.c - an account that sends like an attacker.
 *
 * A hijacked mailbox shows itself in what it sends: many messages in an
 * hour, to people it never wrote to, in many outside domains, phishing-
 * like content, soon after a login from a new country.  Each is graded
 * against the same sender's own history -- the hourly summary kept with
 * the sent-mail history (store_takeover.h, written by detect_forward.c's
 * writer) -- and only once that history has takeover_min_hours hours with
 * mail: a newsletter sender's usual hour is not a clerk's.
 *
 * Symbols (outbound only; the login is auth_user, else MAIL FROM from
 * trusted_networks):
 *   ACCT_OUTBOUND_BURST        messages this hour over takeover_burst_factor
 *                              times the usual hour and over the busiest
 *   ACCT_NEW_RECIPIENTS_SPIKE  new recipients this hour, their share over
 *                              the usual share by takeover_new_share
 *   ACCT_DOMAIN_SPREAD         external domains this hour over the factor
 *                              times the usual count and over the most
 *   ACCT_PHISHY_OUTBOUND       content score takeover_phish_score over the
 *                              sender's usual score
 *   ACCT_AFTER_RISKY_LOGIN     a new-country, impossible-travel, lock or
 *                              attack alert of the login, or
 *                              takeover_risky_failures failed logins, in
 *                              the last takeover_risky_login_window
 *   ACCT_SIGNATURE_CHANGED     the signature block carries a URL, phone or
 *                              bank number the sender's last one did not
 *   ACCT_SUSPENDED             the account is suspended for sending: policy
 *                              holds the message (hold kind "admin")
 * The graded ones scale their score by how far past the mark they are
 * (1 to 2 times).  When the ACCT_* score of one message reaches
 * takeover_threshold and a risky login or phishing-like content is among
 * them, the account is suspended for sending (store_suspend_set), an alert
 * is raised (takeover_set_alert; stored in any case) and an incident is
 * opened unless one is open: once per suspension, in one transaction, so
 * two scan threads or two nodes agree.  `sekisho account resume LOGIN`
 * lifts it; the held mail is released or cancelled with `sekisho hold`.
 *
 * The current hour is counted in memory (the history's writer lags by a
 * few seconds, a burst does not): at most TALLY_MAX senders, the least
 * recently seen dropped first, each with at most SEEN_MAX recipients and
 * DOMS_MAX domains remembered.  Store access happens under the detector's
 * lock on its own connection, opened on the first recording scan; a store
 * failure is logged once and the message is judged without history.
 * `sekisho scan` (record = 0) changes nothing and counts nothing.
 *
 * Options: takeover_* (docs/configuration.md); scores via score.NAME.
 */
#include "detect/detect_takeover.h"

#include "store/store.h"
#include "store/store_audit.h"
#include "store/store_takeover.h"
#include "util/cidr.h"
#include "util/log.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define TALLY_MAX	4096
#define SEEN_MAX	512
#define DOMS_MAX	256
#define BASE_HOURS_MAX	2048	/* hours read for a baseline (28 days: 672) */
#define RISK_CHECK_MS	10000	/* how often a sender's logins are looked at */
#define SIG_LINES	12

static const struct symbol_def symbols[] = {
	{ "ACCT_OUTBOUND_BURST", 4.0,
	    "far more messages this hour than the sender usually sends (graded, x1 to x2)" },
	{ "ACCT_NEW_RECIPIENTS_SPIKE", 4.0,
	    "many recipients this hour the sender never wrote to before (graded, x1 to x2)" },
	{ "ACCT_DOMAIN_SPREAD", 3.0,
	    "mail to far more external domains this hour than the sender's usual (graded, x1 to x2)" },
	{ "ACCT_PHISHY_OUTBOUND", 4.0,
	    "spam- or phishing-like content, unlike what the sender usually sends (graded, x1 to x2)" },
	{ "ACCT_AFTER_RISKY_LOGIN", 3.0,
	    "sent soon after a risky login of the account (new country, impossible travel,"
	    " lock, many failures)" },
	{ "ACCT_SIGNATURE_CHANGED", 3.0,
	    "the signature block has a URL, phone or bank number the sender's last one did not" },
	{ "ACCT_SUSPENDED", 0.0,
	    "the account is suspended for sending after takeover-like mail; held for the admin" },
	{ NULL, 0, NULL },
};

struct tally {
	char *login;
	int64_t hour;
	int64_t msgs, rcpts, fresh, doms_before;
	char **seen;			/* recipients counted this hour */
	size_t nseen;
	char **doms;			/* external domains this hour */
	size_t ndoms;
	int64_t used_ms;		/* monotonic: eviction order */
	int64_t risk_checked_ms;
	char risk[200];			/* why the last login looked risky, "" none */
	int suspended;			/* this tally led to a suspension */
	/* the baseline, read when the tally is made */
	int base_hours;
	double base_msgs, base_msgs_max, base_share, base_doms, base_doms_max, base_score;
};

struct takeover {
	pthread_mutex_t lock;		/* everything below */
	struct tally *t;
	size_t nt;
	struct store *st;
	char *dbpath;
	int warned;
	int64_t now_seq;		/* tally use order */
};

static takeover_alert_fn alert_fn;

void
takeover_set_alert(takeover_alert_fn fn)
{
	alert_fn = fn;
}

/* ---- helpers also used elsewhere ---- */

const char *
takeover_login(const struct config *cfg, const struct envelope *env)
{
	if (env->auth_user != NULL && *env->auth_user != '\0')
		return env->auth_user;
	if (env->mail_from == NULL || *env->mail_from == '\0' || env->client_addr == NULL)
		return NULL;
	for (char **p = cfg->trusted_networks; p && *p; p++) {
		struct cidr net;
		if (cidr_parse(*p, &net) == 0 && cidr_match(&net, env->client_addr))
			return env->mail_from;
	}
	return NULL;
}

double
takeover_content_score(const struct scan_result *r)
{
	static const char *const skip[] = { "ACCT_", "OUT_", "DLP_", "FWD_" };
	double s = 0;

	for (size_t i = 0; i < r->nsyms; i++) {
		size_t k;
		for (k = 0; k < UTIL_ARRAY_LEN(skip); k++)
			if (strncmp(r->syms[i].name, skip[k], strlen(skip[k])) == 0)
				break;
		if (k == UTIL_ARRAY_LEN(skip))
			s += r->syms[i].score;
	}
	return s;
}

/* ---- the signature block ---- */

/* A rule line: at least 8 of one rule character (━ ─ ＝ ＿ = - _ * ~),
 * nothing else but blanks. */
static int
rule_line(const char *s, size_t len)
{
	static const char *const rules[] = { "\xe2\x94\x81", "\xe2\x94\x80", "\xef\xbc\x9d",
	    "\xef\xbc\xbf", "=", "-", "_", "*", "~" };
	size_t n = 0, i = 0;
	const char *which = NULL;

	while (i < len) {
		size_t k;
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r') {
			i++;
			continue;
		}
		for (k = 0; k < UTIL_ARRAY_LEN(rules); k++) {
			size_t rl = strlen(rules[k]);
			if (i + rl <= len && memcmp(s + i, rules[k], rl) == 0 &&
			    (which == NULL || which == rules[k]))
				break;
		}
		if (k == UTIL_ARRAY_LEN(rules))
			return 0;
		which = rules[k];
		i += strlen(rules[k]);
		n++;
	}
	return n >= 8;
}

struct line {
	const char *s;
	size_t len;
};

/* Full-width digits and the usual phone separators to ASCII: out gets
 * the line with ０-９ as 0-9 and －ー（）＋ as -()+ (NUL-terminated). */
static void
halfwidth(const char *s, size_t len, char *out, size_t outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 1 < outlen; ) {
		const unsigned char *u = (const unsigned char *)s + i;
		if (i + 3 <= len && u[0] == 0xef && u[1] == 0xbc && u[2] >= 0x90 && u[2] <= 0x99) {
			out[o++] = (char)('0' + (u[2] - 0x90));
			i += 3;
		} else if (i + 3 <= len && u[0] == 0xef && u[1] == 0xbc &&
		    (u[2] == 0x8d || u[2] == 0x88 || u[2] == 0x89 || u[2] == 0x8b)) {
			out[o++] = u[2] == 0x8d ? '-' : u[2] == 0x88 ? '(' : u[2] == 0x89 ? ')' : '+';
			i += 3;
		} else if (i + 3 <= len && u[0] == 0xe3 && u[1] == 0x83 && u[2] == 0xbc) {
			out[o++] = '-';		/* ー used as a dash */
			i += 3;
		} else {
			out[o++] = s[i++];
		}
	}
	out[o] = '\0';
}

/* strstr, ASCII letters in any case. */
static const char *
ci_find(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay; hay++)
		if (util_strncasecmp(hay, needle, n) == 0)
			return hay;
	return NULL;
}

static void
items_add(char ***v, size_t *n, const char *kind, const char *val, size_t len)
{
	char buf[300];

	snprintf(buf, sizeof(buf), "%s:%.*s", kind, (int)(len > 250 ? 250 : len), val);
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i], buf) == 0)
			return;
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = xstrdup(buf);
}

static int
bank_line(const char *s)
{
	static const char *const words[] = { "\xe9\x8a\x80\xe8\xa1\x8c" /* 銀行 */,
	    "\xe5\x8f\xa3\xe5\xba\xa7" /* 口座 */, "\xe6\x99\xae\xe9\x80\x9a" /* 普通 */,
	    "\xe5\xbd\x93\xe5\xba\xa7" /* 当座 */, "bank", "account", "a/c", "iban" };

	for (size_t i = 0; i < UTIL_ARRAY_LEN(words); i++)
		if (ci_find(s, words[i]) != NULL)
			return 1;
	return 0;
}

/* The items of one signature line. */
static void
line_items(const char *s, size_t len, char ***v, size_t *n)
{
	char buf[1024], digits[64];
	const char *p;
	int bank;

	halfwidth(s, len, buf, sizeof(buf));
	for (p = buf; (p = ci_find(p, "http")) != NULL; ) {
		size_t l;
		if (util_strncasecmp(p, "http://", 7) != 0 && util_strncasecmp(p, "https://", 8) != 0) {
			p += 4;
			continue;
		}
		for (l = 0; p[l] && !isspace((unsigned char)p[l]) && p[l] != '>' &&
		    p[l] != ')' && (unsigned char)p[l] < 0x80; l++)
			;
		while (l > 0 && strchr(".,;", p[l - 1]))
			l--;
		{
			char low[256];
			size_t k;
			for (k = 0; k < l && k + 1 < sizeof(low); k++)
				low[k] = (char)tolower((unsigned char)p[k]);
			low[k] = '\0';
			items_add(v, n, "url", low, k);
		}
		p += l;
	}
	bank = bank_line(buf);
	/* runs of digits with phone separators between them */
	for (p = buf; *p; ) {
		size_t nd = 0;
		const char *q = p;
		if (!isdigit((unsigned char)*p) && !(*p == '+' && isdigit((unsigned char)p[1]))) {
			p++;
			continue;
		}
		while (*q && (isdigit((unsigned char)*q) || strchr("-() +.", *q)) &&
		    nd + 1 < sizeof(digits)) {
			if (isdigit((unsigned char)*q))
				digits[nd++] = *q;
			else if (*q == ' ' && !isdigit((unsigned char)q[1]) && q[1] != '(')
				break;
			q++;
		}
		digits[nd] = '\0';
		if (bank && nd >= 6 && nd <= 8)
			items_add(v, n, "bank", digits, nd);
		else if (nd >= 10 && nd <= 13)
			items_add(v, n, "tel", digits, nd);
		p = q > p ? q : p + 1;
	}
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Where the quoted original of a reply starts (its signature is someone
 * else's): a line "-----Original Message-----" or its Japanese form, a
 * header line "From:" / "差出人:" / "送信者:", or "... wrote:" /
 * "...書きました:"; the end of text when there is none.
 */
static const char *
own_text_end(const char *text)
{
	static const char *const starts[] = { "-----Original Message-----",
	    "----- Original Message -----", "-----\xe5\x85\x83\xe3\x81\xae" /* -----元の */,
	    "From: ", "\xe5\xb7\xae\xe5\x87\xba\xe4\xba\xba:" /* 差出人: */,
	    "\xe5\xb7\xae\xe5\x87\xba\xe4\xba\xba\xef\xbc\x9a" /* 差出人： */,
	    "\xe9\x80\x81\xe4\xbf\xa1\xe8\x80\x85:" /* 送信者: */ };
	static const char *const ends[] = { "wrote:",
	    "\xe6\x9b\xb8\xe3\x81\x8d\xe3\x81\xbe\xe3\x81\x97\xe3\x81\x9f:" /* 書きました: */,
	    "\xe6\x9b\xb8\xe3\x81\x8d\xe3\x81\xbe\xe3\x81\x97\xe3\x81\x9f\xef\xbc\x9a" };
	const char *line = text;

	while (*line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);

		while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
			len--;
		if (line != text) {
			for (size_t i = 0; i < UTIL_ARRAY_LEN(starts); i++)
				if (util_strncasecmp(line, starts[i], strlen(starts[i])) == 0)
					return line;
			for (size_t i = 0; i < UTIL_ARRAY_LEN(ends); i++) {
				size_t el = strlen(ends[i]);
				if (len >= el && memcmp(line + len - el, ends[i], el) == 0)
					return line;
			}
		}
		if (nl == NULL)
			break;
		line = nl + 1;
	}
	return text + strlen(text);
}

char *
takeover_signature_items(const char *text)
{
	struct line lines[SIG_LINES + 2];
	size_t nl = 0, first = 0, last, nitems = 0, total = 0;
	const char *end, *p;
	char **items = NULL, *out;
	int found = 0, rules_seen = 0;

	if (text == NULL)
		return NULL;
	/* the last SIG_LINES + 2 non-empty lines of the sender's own text,
	 * newest first */
	end = own_text_end(text);
	while (end > text && nl < UTIL_ARRAY_LEN(lines)) {
		const char *e = end;
		while (e > text && (e[-1] == '\n' || e[-1] == '\r'))
			e--;
		p = e;
		while (p > text && p[-1] != '\n')
			p--;
		if (e == p && p == text)
			break;
		lines[nl].s = p;
		lines[nl].len = (size_t)(e - p);
		nl++;
		end = p;
	}
	/* lines[] runs backwards: find the block's start (exclusive) */
	last = 0;
	for (size_t i = 0; i < nl && !found; i++) {
		const struct line *l = &lines[i];
		if ((l->len == 3 && memcmp(l->s, "-- ", 3) == 0) ||
		    (l->len == 2 && memcmp(l->s, "--", 2) == 0)) {
			first = i;
			last = 0;
			found = 1;
		} else if (rule_line(l->s, l->len)) {
			if (i == 0 && rules_seen == 0) {
				last = 1;	/* a closing rule line */
			} else {
				first = i;	/* the opening one */
				found = 1;
			}
			rules_seen++;
		}
	}
	if (!found || first <= last)
		return NULL;
	for (size_t i = last; i < first; i++)
		if (!rule_line(lines[i].s, lines[i].len))
			line_items(lines[i].s, lines[i].len, &items, &nitems);
	if (nitems == 0) {
		free(items);
		return NULL;
	}
	qsort(items, nitems, sizeof(*items), cmp_str);
	for (size_t i = 0; i < nitems; i++)
		total += strlen(items[i]) + 1;
	out = xmalloc(total + 1);
	out[0] = '\0';
	for (size_t i = 0; i < nitems; i++) {
		strcat(out, items[i]);
		if (i + 1 < nitems)
			strcat(out, "\n");
		free(items[i]);
	}
	free(items);
	return out;
}

/* ---- the detector ---- */

static void
tally_clear(struct tally *t)
{
	for (size_t i = 0; i < t->nseen; i++)
		free(t->seen[i]);
	for (size_t i = 0; i < t->ndoms; i++)
		free(t->doms[i]);
	free(t->seen);
	free(t->doms);
	free(t->login);
	memset(t, 0, sizeof(*t));
}

static int
takeover_init(const struct config *cfg, void **state, char *err, size_t errlen)
{
	struct takeover *k = xcalloc(1, sizeof(*k));

	(void)err;
	(void)errlen;
	if (sodium_init() < 0)
		log_warn("takeover: libsodium did not initialise");
	k->dbpath = config_state_path(cfg, "sekisho.db");
	pthread_mutex_init(&k->lock, NULL);
	*state = k;
	return 0;
}

static void
takeover_free(void *state)
{
	struct takeover *k = state;

	for (size_t i = 0; i < k->nt; i++)
		tally_clear(&k->t[i]);
	free(k->t);
	store_close(k->st);
	free(k->dbpath);
	pthread_mutex_destroy(&k->lock);
	free(k);
}

static struct store *
store_of(struct takeover *k)
{
	char err[256];

	if (k->st == NULL && !k->warned) {
		k->st = store_open(k->dbpath, err, sizeof(err));
		if (k->st == NULL) {
			log_warn("takeover: no history, judging without it: %s", err);
			k->warned = 1;
		}
	}
	return k->st;
}

static void
store_failed(struct takeover *k, const char *what)
{
	if (!k->warned)
		log_warn("takeover: %s: %s", what, store_errmsg(k->st));
	k->warned = 1;
}

/* The sender's usual hour from the history before hour. */
static void
baseline_read(struct takeover *k, const struct config *cfg, struct tally *t)
{
	struct store_sender_hour *h;
	int64_t from = t->hour - cfg->takeover_history / 3600;
	double msgs = 0, rcpts = 0, fresh = 0, doms = 0, score = 0;
	int n;

	if (k->st == NULL)
		return;
	h = xcalloc(BASE_HOURS_MAX, sizeof(*h));
	n = store_sender_hours(k->st, t->login, from, t->hour, h, BASE_HOURS_MAX);
	if (n < 0)
		store_failed(k, "reading the history");
	for (int i = 0; i < n; i++) {
		msgs += (double)h[i].msgs;
		rcpts += (double)h[i].rcpts;
		fresh += (double)h[i].new_rcpts;
		doms += (double)h[i].domains;
		score += h[i].score_sum;
		if ((double)h[i].msgs > t->base_msgs_max)
			t->base_msgs_max = (double)h[i].msgs;
		if ((double)h[i].domains > t->base_doms_max)
			t->base_doms_max = (double)h[i].domains;
	}
	if (n > 0) {
		t->base_hours = n;
		t->base_msgs = msgs / n;
		t->base_share = rcpts > 0 ? fresh / rcpts : 0;
		t->base_doms = doms / n;
		t->base_score = msgs > 0 ? score / msgs : 0;
	}
	free(h);
}

/* The tally of login for hour, made (and its baseline read) when new. */
static struct tally *
tally_get(struct takeover *k, const struct config *cfg, const char *login, int64_t hour)
{
	struct tally *t = NULL;
	struct store_sender_hour cur;
	size_t i;

	for (i = 0; i < k->nt; i++)
		if (util_strcasecmp(k->t[i].login, login) == 0)
			break;
	if (i < k->nt && k->t[i].hour == hour) {
		t = &k->t[i];
		t->used_ms = ++k->now_seq;
		return t;
	}
	if (i < k->nt) {
		tally_clear(&k->t[i]);
	} else if (k->nt < TALLY_MAX) {
		k->t = xrealloc(k->t, (k->nt + 1) * sizeof(*k->t));
		i = k->nt++;
		memset(&k->t[i], 0, sizeof(k->t[i]));
	} else {
		size_t old = 0;
		for (size_t j = 1; j < k->nt; j++)
			if (k->t[j].used_ms < k->t[old].used_ms)
				old = j;
		tally_clear(&k->t[old]);
		i = old;
	}
	t = &k->t[i];
	t->login = xstrdup(login);
	t->hour = hour;
	t->used_ms = ++k->now_seq;
	/* what this hour already brought before this process saw it */
	if (k->st != NULL && store_sender_hour_get(k->st, login, hour, &cur) == 0) {
		t->msgs = cur.msgs;
		t->rcpts = cur.rcpts;
		t->fresh = cur.new_rcpts;
		t->doms_before = cur.domains;
	}
	baseline_read(k, cfg, t);
	return t;
}

static int
strv_has(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (util_strcasecmp(v[i], s) == 0)
			return 1;
	return 0;
}

/* Count the message into the hour. */
static void
tally_count(struct takeover *k, const struct config *cfg, struct tally *t,
    const char *login, const struct envelope *env)
{
	t->msgs++;
	for (size_t i = 0; i < env->nrcpt; i++) {
		const char *addr = env->rcpt[i].addr;
		const char *dom = envelope_domain(addr);
		int known;

		t->rcpts++;
		if (strv_has(t->seen, t->nseen, addr))
			continue;
		known = k->st ? store_sender_knows(k->st, login, addr) : 0;
		if (known < 0)
			store_failed(k, "reading the contacts");
		if (known == 1)
			t->fresh++;
		if (t->nseen < SEEN_MAX) {
			t->seen = xrealloc(t->seen, (t->nseen + 1) * sizeof(*t->seen));
			t->seen[t->nseen++] = xstrdup(addr);
		}
		if (*dom != '\0' && !config_is_local_domain(cfg, dom) &&
		    !strv_has(t->doms, t->ndoms, dom) && t->ndoms < DOMS_MAX) {
			t->doms = xrealloc(t->doms, (t->ndoms + 1) * sizeof(*t->doms));
			t->doms[t->ndoms++] = xstrdup(dom);
		}
	}
}

struct risk_find {
	const char *login;
	int64_t since;
	char *why;
	size_t len;
};

static int
risky_alert(const struct store_alert *a, void *arg)
{
	static const char *const kinds[] = { "new_country", "impossible_travel", "brute_force",
	    "dictionary_attack", "distributed_brute_force", "locked" };
	struct risk_find *f = arg;

	if (a->time_ms < f->since)
		return 1;		/* newest first: nothing older matters */
	if (util_strcasecmp(a->login, f->login) != 0)
		return 0;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(kinds); i++)
		if (strcmp(a->kind, kinds[i]) == 0) {
			snprintf(f->why, f->len, "%s: %.150s", a->kind, a->detail);
			return 2;
		}
	return 0;
}

static int
count_fail(const struct store_login *ev, void *arg)
{
	(void)ev;
	(*(int64_t *)arg)++;
	return 0;
}

/* Look at the login's recent logins at most every RISK_CHECK_MS. */
static void
risk_check(struct takeover *k, const struct config *cfg, struct tally *t, int64_t now)
{
	int64_t mono = util_mono_ms(), since = now - cfg->takeover_risky_login_window * 1000;
	struct risk_find f = { t->login, since, t->risk, sizeof(t->risk) };
	struct store_lock l;
	int64_t fails = 0;

	if (k->st == NULL || (t->risk_checked_ms != 0 && mono - t->risk_checked_ms < RISK_CHECK_MS))
		return;
	t->risk_checked_ms = mono;
	t->risk[0] = '\0';
	if (store_alert_foreach(k->st, 0, 1000, risky_alert, &f) < 0) {
		store_failed(k, "reading the alerts");
		return;
	}
	if (t->risk[0] != '\0')
		return;
	if (store_lock_get(k->st, t->login, &l) == 0 && l.created_ms >= since) {
		snprintf(t->risk, sizeof(t->risk), "locked: %.150s", l.reason);
		return;
	}
	if (cfg->takeover_risky_failures > 0 &&
	    store_login_foreach(k->st, t->login, since, LOGIN_FAIL,
	    (size_t)cfg->takeover_risky_failures, count_fail, &fails) == 0 &&
	    fails >= cfg->takeover_risky_failures)
		snprintf(t->risk, sizeof(t->risk), "%lld failed logins",
		    (long long)fails);
}

/* How far past the mark, 1 to 2: the configured score multiplies it. */
static double
grade(double ratio)
{
	return ratio < 1 ? 1 : ratio > 2 ? 2 : ratio;
}

/* The symbols graded against the baseline. */
static void
judge(const struct config *cfg, const struct tally *t, double content,
    struct scan_result *r)
{
	double f = cfg->takeover_burst_factor, mark, share;
	int64_t doms = t->doms_before + (int64_t)t->ndoms;

	if (t->base_hours < cfg->takeover_min_hours)
		return;
	mark = f * (t->base_msgs > 1 ? t->base_msgs : 1);
	if (t->msgs >= cfg->takeover_min_messages && t->msgs > mark &&
	    t->msgs > t->base_msgs_max)
		result_add_scored(r, "ACCT_OUTBOUND_BURST",
		    grade((double)t->msgs / mark),
		    "%lld messages this hour, usually %.1f (at most %.0f) in %d hours of history",
		    (long long)t->msgs, t->base_msgs, t->base_msgs_max, t->base_hours);
	share = t->rcpts > 0 ? (double)t->fresh / (double)t->rcpts : 0;
	if (t->fresh >= cfg->takeover_min_messages &&
	    share >= t->base_share + cfg->takeover_new_share)
		result_add_scored(r, "ACCT_NEW_RECIPIENTS_SPIKE",
		    grade((share - t->base_share) / cfg->takeover_new_share),
		    "%lld new recipients this hour (%.0f%% of %lld), usually %.0f%%",
		    (long long)t->fresh, share * 100, (long long)t->rcpts, t->base_share * 100);
	mark = f * (t->base_doms > 1 ? t->base_doms : 1);
	if (doms >= cfg->takeover_min_domains && doms > mark && doms > t->base_doms_max)
		result_add_scored(r, "ACCT_DOMAIN_SPREAD",
		    grade((double)doms / mark),
		    "%lld external domains this hour, usually %.1f (at most %.0f)",
		    (long long)doms, t->base_doms, t->base_doms_max);
	if (content >= t->base_score + cfg->takeover_phish_score)
		result_add_scored(r, "ACCT_PHISHY_OUTBOUND",
		    grade((content - t->base_score) / cfg->takeover_phish_score),
		    "content score %.1f, the sender's mail usually %.1f", content, t->base_score);
}

/* Compare the signature block with the sender's last one; note the new one. */
static void
signature_check(struct takeover *k, const struct scan_ctx *ctx, const char *login,
    struct scan_result *r)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char fp[65], old_fp[65], *items, *old = NULL, added[600] = "";
	int rc;

	items = takeover_signature_items(ctx->msg->text);
	if (items == NULL || k->st == NULL) {
		free(items);
		return;
	}
	crypto_hash_sha256(h, (const unsigned char *)items, strlen(items));
	for (size_t i = 0; i < 32; i++)
		snprintf(fp + 2 * i, 3, "%02x", h[i]);
	rc = store_signature_get(k->st, login, old_fp, &old);
	if (rc < 0)
		store_failed(k, "reading the signature");
	if (rc == 0 && strcmp(fp, old_fp) != 0) {
		/* the items the old block did not have (both sorted lists of
		 * whole lines) */
		char *save = NULL, *copy = xstrdup(items);
		for (char *it = strtok_r(copy, "\n", &save); it; it = strtok_r(NULL, "\n", &save)) {
			size_t il = strlen(it);
			const char *q;
			int has = 0;
			for (q = old; !has && (q = strstr(q, it)) != NULL; q += il)
				has = (q == old || q[-1] == '\n') && (q[il] == '\0' || q[il] == '\n');
			if (!has && strlen(added) + il + 2 < sizeof(added)) {
				if (*added)
					strcat(added, " ");
				strcat(added, it);
			}
		}
		free(copy);
		if (*added)
			result_add(r, "ACCT_SIGNATURE_CHANGED", "new in the signature: %s", added);
	}
	if (ctx->record && (rc == 1 || (rc == 0 && strcmp(fp, old_fp) != 0)) &&
	    store_signature_put(k->st, login, fp, items, util_now_ms()) < 0)
		store_failed(k, "keeping the signature");
	free(old);
	free(items);
}

static double
acct_score(const struct scan_result *r)
{
	double s = 0;

	for (size_t i = 0; i < r->nsyms; i++)
		if (strncmp(r->syms[i].name, "ACCT_", 5) == 0)
			s += r->syms[i].score;
	return s;
}

/* Suspend login, alert and open an incident, once (one transaction). */
static void
suspend(struct takeover *k, const struct config *cfg, const char *login, const char *why)
{
	struct store_incident inc;
	struct store_alert a;
	int64_t id = 0;
	int rc;

	if (store_begin(k->st) < 0) {
		store_failed(k, "suspending");
		return;
	}
	rc = store_suspend_get(k->st, login, NULL);
	if (rc == 0) {
		rc = 1;			/* another thread or node was first */
	} else if (rc == 1) {
		int open = store_incident_find_open(k->st, login, &inc);
		rc = open < 0 ? -1 : 0;
		if (open == 0)
			id = inc.id;
		else if (open == 1 &&	/* as INCIDENT_AUTO_ACTOR of account/incident.h */
		    store_incident_open(k->st, login, "sekisho", &id) < 0)
			rc = -1;
		if (rc == 0 && store_incident_event_add(k->st, id, 0, "sekisho", "suspended",
		    why) < 0)
			rc = -1;
		if (rc == 0 && store_suspend_set(k->st, login, why, id) < 0)
			rc = -1;
	}
	if (rc < 0 || store_commit(k->st) < 0) {
		store_failed(k, "suspending");
		store_rollback(k->st);
		return;
	}
	if (rc == 1)
		return;
	log_warn("takeover: login=%s suspended for sending, incident %lld: %s", login,
	    (long long)id, why);
	memset(&a, 0, sizeof(a));
	a.time_ms = util_now_ms();
	util_strlcpy(a.kind, "outbound_takeover", sizeof(a.kind));
	util_strlcpy(a.login, login, sizeof(a.login));
	snprintf(a.detail, sizeof(a.detail), "outbound mail held, incident %lld: %s",
	    (long long)id, why);
	if (alert_fn != NULL)
		(void)alert_fn(cfg, k->st, &a);
	else if (store_alert_add(k->st, &a, NULL) < 0)
		store_failed(k, "storing the alert");
}

static void
takeover_scan(void *state, const struct scan_ctx *ctx, struct scan_result *r)
{
	struct takeover *k = state;
	const struct config *cfg = ctx->cfg;
	const struct envelope *env = ctx->env;
	const char *login = takeover_login(cfg, env);
	int64_t now = env->received_ms > 0 ? env->received_ms : util_now_ms();
	struct store_suspension sp;
	struct tally *t;
	double content = takeover_content_score(r);
	int susp;

	if (!ctx->outbound || !cfg->takeover_enable || login == NULL)
		return;
	pthread_mutex_lock(&k->lock);
	if (ctx->record)
		(void)store_of(k);
	else if (k->st == NULL) {
		/* `sekisho scan`: nothing to read the history from */
		pthread_mutex_unlock(&k->lock);
		return;
	}
	t = tally_get(k, cfg, login, now / STORE_HOUR_MS);
	susp = k->st ? store_suspend_get(k->st, login, &sp) : 1;
	if (susp < 0)
		store_failed(k, "reading the suspensions");
	if (susp != 0 && t->suspended) {
		/* lifted by the admin: start the hour afresh */
		int64_t hour = t->hour;
		char *l = xstrdup(t->login);
		tally_clear(t);
		t->login = l;
		t->hour = hour;
		baseline_read(k, cfg, t);
	}
	if (ctx->record)
		tally_count(k, cfg, t, login, env);
	risk_check(k, cfg, t, now);
	judge(cfg, t, content, r);
	if (t->risk[0] != '\0')
		result_add(r, "ACCT_AFTER_RISKY_LOGIN", "a risky login of %.100s: %s", login, t->risk);
	signature_check(k, ctx, login, r);
	if (susp == 0) {
		t->suspended = 1;
		result_add(r, "ACCT_SUSPENDED", "%.100s is suspended for sending since incident %lld",
		    login, (long long)sp.incident_id);
	} else if (ctx->record && k->st != NULL && cfg->takeover_threshold > 0 &&
	    acct_score(r) >= cfg->takeover_threshold &&
	    (result_has(r, "ACCT_AFTER_RISKY_LOGIN") || result_has(r, "ACCT_PHISHY_OUTBOUND"))) {
		char why[400];
		size_t o = 0;
		o += (size_t)snprintf(why, sizeof(why), "score %.1f:", acct_score(r));
		for (size_t i = 0; i < r->nsyms && o < sizeof(why); i++)
			if (strncmp(r->syms[i].name, "ACCT_", 5) == 0)
				o += (size_t)snprintf(why + o, sizeof(why) - o, " %s",
				    r->syms[i].name);
		suspend(k, cfg, login, why);
		t->suspended = 1;
		result_add(r, "ACCT_SUSPENDED", "%.100s suspended for sending now (%s)", login, why);
	}
	pthread_mutex_unlock(&k->lock);
}

const struct detector detect_takeover = {
	.name = "takeover",
	.symbols = symbols,
	.init = takeover_init,
	.scan = takeover_scan,
	.free = takeover_free,
};
