/*
 * http_form.c - pure helpers of the console API (http_form.h).
 */
#include "http/http_form.h"
#include "util/util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decode [p, end) into out: 0, or -1 (a bad escape, a NUL, too long)
 * with out empty. */
static int
form_decode(const char *p, const char *end, char *out, size_t outlen)
{
	size_t n = 0;

	for (; p < end; p++) {
		int c = (unsigned char)*p;

		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi, lo;

			if (end - p < 3 || (hi = hexval(p[1])) < 0 || (lo = hexval(p[2])) < 0)
				goto bad;
			c = hi * 16 + lo;
			p += 2;
		}
		if (c == 0 || n + 1 >= outlen)
			goto bad;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return 0;
bad:
	out[0] = '\0';		/* nothing half-decoded for a caller to read */
	return -1;
}

int
http_form_field(const char *body, size_t len, const char *name, char *out, size_t outlen)
{
	const char *p = body, *end;
	size_t nlen = strlen(name);

	if (outlen == 0)
		return -1;
	out[0] = '\0';
	if (body == NULL)
		return 1;	/* no body (NULL + 0 is undefined) */
	end = body + len;
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *fend = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(fend - p));
		const char *kend = eq ? eq : fend;

		if ((size_t)(kend - p) == nlen && memcmp(p, name, nlen) == 0)
			return form_decode(eq ? eq + 1 : fend, fend, out, outlen);
		p = fend + (amp ? 1 : 0);
	}
	return 1;
}

int
http_parse_duration(const char *text, int64_t *ms)
{
	const int64_t year = 366LL * 24 * 3600 * 1000;
	int64_t unit;
	char *end;
	long long n;

	*ms = 0;
	if (text == NULL || *text == '\0')
		return 0;
	if (!isdigit((unsigned char)*text))
		return -1;
	n = strtoll(text, &end, 10);
	switch (*end) {
	case '\0': case 's': unit = 1000; break;
	case 'm': unit = 60 * 1000; break;
	case 'h': unit = 3600 * 1000; break;
	case 'd': unit = 24 * 3600 * 1000LL; break;
	default: return -1;
	}
	if ((*end != '\0' && end[1] != '\0') || n <= 0 || n > year / unit)
		return -1;
	*ms = n * unit;
	return 0;
}

json_t *
http_reasons_json(const char *reasons)
{
	json_t *a = json_array();
	const char *p = reasons ? reasons : "";

	while (*p) {
		const char *w = p, *open, *close;
		size_t wl;
		char name[128];
		double weight = 0;

		while (*p && *p != ' ')
			p++;
		wl = (size_t)(p - w);
		while (*p == ' ')
			p++;
		if (wl == 0)
			continue;
		open = memchr(w, '(', wl);
		close = open ? memchr(open, ')', wl - (size_t)(open - w)) : NULL;
		if (open != NULL && close != NULL && close == w + wl - 1) {
			char num[32];
			size_t nl = (size_t)(close - open - 1);

			if (nl < sizeof(num)) {
				memcpy(num, open + 1, nl);
				num[nl] = '\0';
				weight = strtod(num, NULL);
			}
			wl = (size_t)(open - w);
		}
		if (wl == 0 || wl >= sizeof(name))
			continue;
		memcpy(name, w, wl);
		name[wl] = '\0';
		json_array_append_new(a, json_pack("{s:s, s:f}", "name", name, "weight", weight));
	}
	return a;
}

int
http_addr_in_list(const char *list, const char *addr)
{
	size_t al;
	const char *p = list;

	if (list == NULL || addr == NULL || (al = strlen(addr)) == 0)
		return 0;
	while (*p) {
		const char *w;

		while (*p == ' ' || *p == ',')
			p++;
		w = p;
		while (*p && *p != ' ' && *p != ',')
			p++;
		if ((size_t)(p - w) == al && util_strncasecmp(w, addr, al) == 0)
			return 1;
	}
	return 0;
}

void
http_rl_init(struct http_ratelimit *rl, int max, int64_t window_ms)
{
	memset(rl, 0, sizeof(*rl));
	pthread_mutex_init(&rl->mu, NULL);
	rl->max = max;
	rl->window_ms = window_ms;
}

void
http_rl_destroy(struct http_ratelimit *rl)
{
	pthread_mutex_destroy(&rl->mu);
}

/* The slot of ip, or NULL; with the mutex held.  Expired slots are reset. */
static struct http_rl_slot *
rl_find(struct http_ratelimit *rl, const char *ip, int64_t now_ms)
{
	for (size_t i = 0; i < HTTP_RL_SLOTS; i++) {
		struct http_rl_slot *s = &rl->slot[i];

		if (s->ip[0] == '\0' || strcmp(s->ip, ip) != 0)
			continue;
		if (now_ms - s->start_ms >= rl->window_ms) {
			s->start_ms = now_ms;
			s->count = 0;
		}
		return s;
	}
	return NULL;
}

int
http_rl_blocked(struct http_ratelimit *rl, const char *ip, int64_t now_ms)
{
	struct http_rl_slot *s;
	int blocked;

	pthread_mutex_lock(&rl->mu);
	s = rl_find(rl, ip, now_ms);
	blocked = s != NULL && s->count >= rl->max;
	pthread_mutex_unlock(&rl->mu);
	return blocked;
}

void
http_rl_fail(struct http_ratelimit *rl, const char *ip, int64_t now_ms)
{
	struct http_rl_slot *s;

	pthread_mutex_lock(&rl->mu);
	if ((s = rl_find(rl, ip, now_ms)) == NULL) {
		/* a free slot, else the oldest */
		s = &rl->slot[0];
		for (size_t i = 0; i < HTTP_RL_SLOTS; i++) {
			if (rl->slot[i].ip[0] == '\0') {
				s = &rl->slot[i];
				break;
			}
			if (rl->slot[i].start_ms < s->start_ms)
				s = &rl->slot[i];
		}
		util_strlcpy(s->ip, ip, sizeof(s->ip));
		s->start_ms = now_ms;
		s->count = 0;
	}
	s->count++;
	pthread_mutex_unlock(&rl->mu);
}
