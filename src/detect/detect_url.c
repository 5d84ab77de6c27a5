/*
 * detect_url.c - the links of a message: where they really go.
 *
 * Symbols (declared in detect_phish.c):
 *   PHISH_LINK_MISMATCH        anchor text shows one registrable domain, the
 *                              link goes to another
 *   PHISH_LINK_MISMATCH_BRAND  ... and the domain shown is a protected one
 *   PHISH_URL_IP               a link to an IP address
 *   PHISH_URL_NUMERIC_IP       a link to an IP address written as one number,
 *                              in hex or in octal (http://3232235777/)
 *   PHISH_URL_USERINFO         a host name before '@' (https://bank.jp@evil/)
 *   PHISH_URL_PUNYCODE         an internationalised (xn--) host
 *   PHISH_URL_MIXED_SCRIPT     a host that mixes scripts or hides characters
 *   PHISH_URL_LOOKALIKE        a host that imitates a protected domain
 *   PHISH_URL_BRAND_SUBDOMAIN  a protected domain used as a subdomain
 *   PHISH_URL_SHORTENER        a link through a URL shortener
 *   PHISH_URL_DATA             a data: link that opens a document
 *   PHISH_URL_JAVASCRIPT       a javascript: link
 *   PHISH_FORM_PASSWORD        an HTML form with a password field
 *   PHISH_FORM_PASSWORD_OFFSITE ... that posts to another domain than the sender's
 *   PHISH_FORM_POST            an HTML form that posts somewhere
 *   PHISH_URL_RECIPIENT        the recipient's address in a link's fragment
 *   PHISH_URL_FREE_HOSTING     a link to a free hosting site (rules/hosting.txt)
 *   PHISH_FEED_URL, PHISH_FEED_DOMAIN   listed in a local threat feed
 *
 * Redirectors: a link whose target is inside it (google.com/url?q=,
 * *.safelinks.protection.outlook.com/?url=, l.facebook.com/l.php?u=,
 * Proofpoint) is followed, at most REDIRECT_DEPTH times.  Every hop is
 * checked against lookalikes, IP hosts and the feeds, so wrapping a link
 * does not hide it; for the anchor-text comparison only hosts on
 * rules/redirectors.txt are unwrapped, because any site can carry another
 * URL in a parameter, and a phisher would put the brand's own URL there
 * to make the text match.  Shorteners (t.co, bit.ly) cannot be unwrapped
 * offline: they are a symbol of their own, and text that shows a domain
 * over a shortened link is a mismatch.
 *
 * Link directories: a plain-text message that lists links to
 * DIGEST_DOMAINS or more registrable domains (a weblog digest, a list of
 * sites) is a directory, not a lure, and one IP or free-hosting link among
 * them says nothing about the sender; PHISH_URL_IP and
 * PHISH_URL_FREE_HOSTING are then not counted for links written as text.
 * Links behind anchors and forms, and every other check, still count.
 *
 * Limits: URLs come from the parser (at most max_urls); each is read up to
 * 8 KiB; unwrapping stops after REDIRECT_DEPTH hops.
 */
#include "detect/detect_phish.h"
#include "message/message.h"
#include "util/base64.h"
#include "util/util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REDIRECT_DEPTH	4
#define DIGEST_DOMAINS	50	/* text links to this many domains: a directory */

/* ---- reading URLs ---- */


/* Percent-decode (and '+' to space when plus) into a new string. */
static char *
pct_decode(const char *s, size_t len, int plus)
{
	char *out = xmalloc(len + 1), *o = out;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len && util_hexval(s[i + 1]) >= 0 && util_hexval(s[i + 2]) >= 0) {
			*o++ = (char)(util_hexval(s[i + 1]) * 16 + util_hexval(s[i + 2]));
			i += 2;
		} else if (plus && s[i] == '+')
			*o++ = ' ';
		else
			*o++ = s[i];
	}
	*o = '\0';
	return out;
}

/* One part of an IPv4 address as browsers read it: decimal, 0x hex, 0 octal. */
static int
ip_part(const char *s, size_t len, unsigned long long *v, int *plain)
{
	int base = 10;
	size_t i = 0;

	*v = 0;
	*plain = 1;
	if (len == 0)
		return -1;
	if (len > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
		*plain = 0;
	} else if (len > 1 && s[0] == '0') {
		base = 8;
		i = 1;
		*plain = 0;
	}
	for (; i < len; i++) {
		int d = util_hexval((unsigned char)s[i]);

		if (d < 0 || d >= base)
			return -1;
		*v = *v * (unsigned)base + (unsigned)d;
		if (*v > 0xffffffffULL)
			return -1;
	}
	return 0;
}

/* 1 when host is an IPv4 address in any form browsers accept: one to four
 * parts, each decimal, 0x hex or 0-prefixed octal, the last filling the
 * bytes left; *numeric when it is not the plain dotted quad. */
static int
ipv4_any(const char *host, int *numeric)
{
	unsigned long long part[4];
	size_t n = 0;
	const char *p = host;
	int plain_all = 1;

	for (;;) {
		size_t l = strcspn(p, ".");
		int plain;

		if (n == 4 || ip_part(p, l, &part[n], &plain) < 0)
			return 0;
		plain_all &= plain;
		n++;
		if (p[l] == '\0')
			break;
		p += l + 1;
	}
	for (size_t i = 0; i + 1 < n; i++)
		if (part[i] > 255)
			return 0;
	if (part[n - 1] > (n == 1 ? 0xffffffffULL : n == 2 ? 0xffffffULL : n == 3 ? 0xffffULL : 0xffULL))
		return 0;
	*numeric = !(n == 4 && plain_all);
	return 1;
}

static int
hostish(const char *s)
{
	if (*s == '\0' || strchr(s, '.') == NULL)
		return 0;
	for (const char *p = s; *p; p++)
		if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '-'))
			return 0;
	return phish_known_tld(s);
}

int
phish_url_parts(const char *url, struct url_parts *p)
{
	const char *s = url, *auth, *end, *at = NULL, *h, *hend;
	char *host;
	size_t sl;
	unsigned char a6[16];

	memset(p, 0, sizeof(*p));
	sl = strcspn(s, ":/?#");
	if (s[sl] == ':') {
		if (!(sl == 4 && util_strncasecmp(s, "http", 4) == 0) &&
		    !(sl == 5 && util_strncasecmp(s, "https", 5) == 0) &&
		    !(sl == 3 && util_strncasecmp(s, "ftp", 3) == 0))
			return -1;
		s += sl + 1;
	}
	while (*s == '/' || *s == '\\')
		s++;
	auth = s;
	end = auth + strcspn(auth, "/\\?#");
	for (const char *q = auth; q < end; q++)
		if (*q == '@')
			at = q;
	h = at != NULL ? at + 1 : auth;
	if (at != NULL) {
		size_t ul = (size_t)(at - auth);
		char *ui = pct_decode(auth, ul, 0);
		char *colon = strchr(ui, ':');

		if (colon != NULL)
			*colon = '\0';
		util_strlcpy(p->userinfo, ui, sizeof(p->userinfo));
		util_lowercase(p->userinfo);
		p->userinfo_host = hostish(p->userinfo);
		free(ui);
	}
	if (h < end && *h == '[') {
		const char *rb = memchr(h, ']', (size_t)(end - h));

		if (rb == NULL)
			return -1;
		host = xstrndup(h + 1, (size_t)(rb - h - 1));
		if (inet_pton(AF_INET6, host, a6) == 1)
			p->is_ip = 1;
	} else {
		hend = memchr(h, ':', (size_t)(end - h));
		host = pct_decode(h, (size_t)((hend != NULL ? hend : end) - h), 0);
	}
	util_lowercase(host);
	{
		size_t l = strlen(host);
		while (l > 0 && host[l - 1] == '.')
			host[--l] = '\0';
	}
	if (*host == '\0' || strlen(host) >= sizeof(p->host)) {
		free(host);
		return -1;
	}
	util_strlcpy(p->host, host, sizeof(p->host));
	free(host);
	if (!p->is_ip && ipv4_any(p->host, &p->numeric))
		p->is_ip = 1;
	return 0;
}

/* Proofpoint URL Defense v2: u=https-3A__www.example.com_path */
static char *
proofpoint_v2(const char *v)
{
	size_t len = strlen(v);
	char *out = xmalloc(len + 1), *o = out;

	for (size_t i = 0; i < len; i++) {
		if (v[i] == '-' && i + 2 < len && util_hexval(v[i + 1]) >= 0 && util_hexval(v[i + 2]) >= 0) {
			*o++ = (char)(util_hexval(v[i + 1]) * 16 + util_hexval(v[i + 2]));
			i += 2;
		} else if (v[i] == '_')
			*o++ = '/';
		else
			*o++ = v[i];
	}
	*o = '\0';
	return out;
}

static int
is_http(const char *s)
{
	return util_strncasecmp(s, "http://", 7) == 0 || util_strncasecmp(s, "https://", 8) == 0;
}

/* The value, decoded until it stops changing (double-encoded targets are
 * common), if it is an http(s) URL. */
static char *
param_target(const char *v, size_t len)
{
	char *cur = pct_decode(v, len, 1);

	for (int i = 0; i < 3 && !is_http(cur) && strchr(cur, '%') != NULL; i++) {
		char *next = pct_decode(cur, strlen(cur), 0);
		free(cur);
		cur = next;
	}
	if (is_http(cur))
		return cur;
	if (util_strncasecmp(cur, "www.", 4) == 0) {
		char *h = xstrndup(cur, strcspn(cur, "/?#:"));
		int ok = hostish(h);

		free(h);
		if (ok) {
			char *t = xasprintf("http://%s", cur);
			free(cur);
			return t;
		}
	}
	free(cur);
	return NULL;
}

char *
phish_unwrap(const struct domset *redirectors, const char *url)
{
	struct url_parts up;
	const char *q, *path;

	if (phish_url_parts(url, &up) < 0 || up.is_ip)
		return NULL;
	if (redirectors != NULL && domset_match(redirectors, up.host) == NULL)
		return NULL;
	path = strstr(url, up.host);
	path = path != NULL ? path + strlen(up.host) : url;
	path += strcspn(path, "/?#");

	/* Proofpoint v3: https://urldefense.com/v3/__https://x.example/__;!!... */
	if (strcmp(up.host, "urldefense.com") == 0 && strncmp(path, "/v3/__", 6) == 0) {
		const char *b = path + 6, *e = strstr(b, "__;");

		if (e != NULL && is_http(b))
			return xstrndup(b, (size_t)(e - b));
	}
	q = path + strcspn(path, "?#");
	while (*q == '?' || *q == '#' || *q == '&' || *q == ';') {
		const char *name = q + 1, *eq, *vend;
		size_t nlen;

		vend = name + strcspn(name, "&#;");
		eq = memchr(name, '=', (size_t)(vend - name));
		nlen = eq != NULL ? (size_t)(eq - name) : 0;
		if (eq != NULL) {
			char *t = NULL;

			if (strcmp(up.host, "urldefense.proofpoint.com") == 0 && nlen == 1 &&
			    name[0] == 'u') {
				char *v = xstrndup(eq + 1, (size_t)(vend - eq - 1));
				t = proofpoint_v2(v);
				free(v);
				if (!is_http(t)) {
					free(t);
					t = NULL;
				}
			} else
				t = param_target(eq + 1, (size_t)(vend - eq - 1));
			if (t != NULL)
				return t;
		}
		q = vend;
	}
	return NULL;
}

/* Strip what commonly surrounds a URL in text: quotes, brackets, a final
 * full stop or comma. */
static char *
strip_wrapping(char *s)
{
	size_t l;

	s = util_trim(s);
	while (*s == '<' || *s == '[' || *s == '(' || *s == '"' || *s == '\'')
		s++;
	l = strlen(s);
	while (l > 0 && strchr(">])\"'.,;:!", s[l - 1]) != NULL)
		s[--l] = '\0';
	return s;
}

char *
phish_anchor_host(const char *text)
{
	char *f, *s, *host = NULL;

	if (text == NULL)
		return NULL;
	f = phish_fold(text);
	s = strip_wrapping(f);
	if (*s == '\0' || strpbrk(s, " \t\r\n") != NULL)
		goto done;
	if (strstr(s, "://") != NULL) {
		struct url_parts up;

		if (phish_url_parts(s, &up) == 0 && (up.is_ip || hostish(up.host)))
			host = xstrdup(up.host);
		goto done;
	}
	if (strchr(s, '@') != NULL)
		goto done;
	s[strcspn(s, "/?#:")] = '\0';
	{
		int numeric;

		if (ipv4_any(s, &numeric) && !numeric && strchr(s, '.') != NULL)
			host = xstrdup(s);
		else if (hostish(s) && s[0] != '.' && strstr(s, "..") == NULL)
			host = xstrdup(s);
	}
done:
	free(f);
	return host;
}

/* ---- the checks ---- */

static int
ip_is_public(const char *ip)
{
	struct in_addr a;
	uint32_t v;

	if (inet_pton(AF_INET, ip, &a) != 1)
		return 1;
	v = ntohl(a.s_addr);
	return !((v >> 24) == 10 || (v >> 24) == 127 || (v >> 24) == 0 ||
	    (v >> 20) == (172u << 4 | 1) || (v >> 16) == (192u << 8 | 168) ||
	    (v >> 16) == (169u << 8 | 254) || (v >> 28) >= 14);
}

static int
is_web(const char *scheme)
{
	return scheme != NULL && (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0 ||
	    strcmp(scheme, "ftp") == 0);
}

/* The same organisation: equal registrable domains, or both a brand's. */
static int
same_owner(const struct phish_rules *pr, const char *a, const char *b)
{
	const struct brand *owner;

	if (strcmp(a, b) == 0)
		return 1;
	owner = brandset_owner(pr->brands, a);
	return owner != NULL && brand_owns(owner, b);
}

/* Checks on one host (of a link or of a hop inside one). */
static void
check_host(const struct phish_rules *pr, struct scan_result *r, GHashTable *seen,
    const char *url, const char *host, const char *host_utf8, int clickable, int listed)
{
	struct url_parts up;
	struct look_match lm;
	enum look_kind k;
	char *key;

	if (phish_url_parts(url, &up) == 0) {
		/* private and loopback addresses reach nothing from outside:
		 * they are device set-up notes, not phishing */
		if (up.is_ip && up.numeric)
			result_add(r, "PHISH_URL_NUMERIC_IP", "link to %s (an IP address in disguise)",
			    up.host);
		else if (up.is_ip && ip_is_public(up.host) && !listed)
			result_add(r, "PHISH_URL_IP", "link to the IP address %s", up.host);
		if (up.userinfo_host && clickable)
			result_add(r, "PHISH_URL_USERINFO", "link shows %s but goes to %s",
			    up.userinfo, up.host);
		if (up.is_ip)
			return;
	}
	if (host == NULL)
		return;
	/* the checks of a name need running once per message, not per link:
	 * a newsletter has hundreds of links to the same few hosts */
	key = xasprintf("%d%s", clickable, host);
	if (g_hash_table_contains(seen, key)) {
		free(key);
		return;
	}
	g_hash_table_add(seen, key);
	if (host_utf8 != NULL) {
		result_add(r, "PHISH_URL_PUNYCODE", "internationalised host %s (%s)", host_utf8, host);
		if (phish_mixed_script(host_utf8))
			result_add(r, "PHISH_URL_MIXED_SCRIPT", "host %s mixes scripts or hides"
			    " characters", host_utf8);
	}
	k = brandset_lookalike(pr->brands, host, host_utf8, &lm);
	if (k == LOOK_SUBDOMAIN)
		result_add(r, "PHISH_URL_BRAND_SUBDOMAIN", "%s carries %s as a subdomain",
		    host, lm.domain);
	else if (k != LOOK_NONE && k != LOOK_SAME)
		result_add(r, "PHISH_URL_LOOKALIKE", "%s imitates %s (%s)",
		    host_utf8 != NULL ? host_utf8 : host, lm.domain, look_kind_name(k));
	if (clickable && domset_match(pr->shorteners, host) != NULL)
		result_add(r, "PHISH_URL_SHORTENER", "link through the shortener %s", host);
	if (!listed && domset_match(pr->hosting, host) != NULL)
		result_add(r, "PHISH_URL_FREE_HOSTING", "link to %s, a free hosting site", host);
}

/* Whether the links written as text reach DIGEST_DOMAINS domains (see the header). */
static int
link_directory(const struct message *m)
{
	GHashTable *doms = g_hash_table_new(g_str_hash, g_str_equal);
	int many = 0;

	for (size_t i = 0; i < m->nurls && !many; i++) {
		const struct msg_url *u = &m->urls[i];

		if (u->source == URL_FROM_TEXT && u->domain != NULL) {
			g_hash_table_add(doms, u->domain);
			many = g_hash_table_size(doms) >= DIGEST_DOMAINS;
		}
	}
	g_hash_table_destroy(doms);
	return many;
}

/*
 * The recipient's address in the fragment of a link (after '#'), plain,
 * percent-encoded or in base64: phishing kits fill in the victim's login
 * with it.  Newsletters put addresses in the query of unsubscribe links,
 * which is why only the fragment counts.
 */
static int
recipient_in_fragment(const struct scan_ctx *ctx, const char *url)
{
	const char *frag = strchr(url, '#');

	if (frag == NULL || ctx->env == NULL)
		return 0;
	for (size_t i = 0; i < ctx->env->nrcpt; i++) {
		const char *a = ctx->env->rcpt[i].addr;
		char *enc, *b64;
		size_t al, n;
		int hit;

		if (a == NULL || strchr(a, '@') == NULL)
			continue;
		al = strlen(a);
		enc = xasprintf("%.*s%%40%s", (int)(strchr(a, '@') - a), a, strchr(a, '@') + 1);
		b64 = xmalloc(base64_encoded_len(al) + 1);
		base64_encode(a, al, b64);
		n = strlen(b64);
		/* base64 of an address ends in padding the link may drop */
		while (n > 0 && b64[n - 1] == '=')
			b64[--n] = '\0';
		hit = strcasestr(frag, a) != NULL || strcasestr(frag, enc) != NULL ||
		    (n >= 8 && strstr(frag, b64) != NULL);
		free(enc);
		free(b64);
		if (hit)
			return 1;
	}
	return 0;
}

static void
check_feeds(const struct phish_rules *pr, struct scan_result *r, const char *url)
{
	char src[128];
	enum feed_hit h;

	if (pr->feeds == NULL)
		return;
	h = feeds_match(pr->feeds, url, src, sizeof(src));
	if (h == FEED_URL)
		result_add(r, "PHISH_FEED_URL", "%s is listed in %s", url, src);
	else if (h == FEED_DOMAIN)
		result_add(r, "PHISH_FEED_DOMAIN", "the host of %s is listed in %s", url, src);
}

/* Anchor text against where the link ends up. */
static void
check_anchor(const struct phish_rules *pr, struct scan_result *r, const struct msg_url *u)
{
	char *shown, *target = NULL, *shown_dom, *dest_dom;
	const char *dest = u->host;
	struct url_parts up;
	struct look_match lm;

	if (u->text == NULL || u->host == NULL)
		return;
	/* text that is itself a wrapped link (a reply quoting a safelinks URL)
	 * shows where the wrapper leads */
	{
		char *f = phish_fold(u->text), *t = util_trim(f), *inner = NULL;

		if (strstr(t, "://") != NULL && strpbrk(t, " \t\n") == NULL)
			inner = phish_unwrap(pr->redirectors, t);
		shown = phish_anchor_host(inner != NULL ? inner : u->text);
		free(inner);
		free(f);
	}
	if (shown == NULL)
		return;
	/* follow known redirectors only (see the header) */
	{
		char *cur = xstrdup(u->url);

		for (int i = 0; i < REDIRECT_DEPTH; i++) {
			char *next = phish_unwrap(pr->redirectors, cur);

			if (next == NULL)
				break;
			free(cur);
			cur = next;
		}
		if (strcmp(cur, u->url) != 0 && phish_url_parts(cur, &up) == 0) {
			target = cur;
			dest = up.host;
		} else
			free(cur);
	}
	shown_dom = message_registrable_domain(shown);
	dest_dom = message_registrable_domain(dest);
	if (!same_owner(pr, shown_dom, dest_dom) && !same_owner(pr, dest_dom, shown_dom)) {
		enum look_kind k = brandset_lookalike(pr->brands, shown, NULL, &lm);

		if (k == LOOK_SAME)
			result_add(r, "PHISH_LINK_MISMATCH_BRAND", "the text shows %s (%s) but the"
			    " link goes to %s", shown, lm.brand->name, dest);
		else
			result_add(r, "PHISH_LINK_MISMATCH", "the text shows %s but the link goes"
			    " to %s", shown, dest);
	}
	free(shown_dom);
	free(dest_dom);
	free(target);
	free(shown);
}

static void
check_forms(const struct phish_rules *pr, const struct scan_ctx *ctx, struct scan_result *r)
{
	const struct message *m = ctx->msg;
	char *from_dom = NULL;

	if (m->nfrom > 0 && m->from[0].domain != NULL)
		from_dom = message_registrable_domain(m->from[0].domain);
	for (size_t i = 0; i < m->nforms; i++) {
		const struct msg_form *f = &m->forms[i];
		struct url_parts up;
		int web = phish_url_parts(f->action, &up) == 0;
		char *dom = web ? message_registrable_domain(up.host) : NULL;

		if (f->has_password) {
			if (dom != NULL && (from_dom == NULL || !same_owner(pr, dom, from_dom)))
				result_add(r, "PHISH_FORM_PASSWORD_OFFSITE", "a password form posts to"
				    " %s, not to the sender's domain", up.host);
			else
				result_add(r, "PHISH_FORM_PASSWORD", "a form asks for a password%s%s",
				    web ? " and posts to " : "", web ? up.host : "");
		} else if (web && strcmp(f->method, "post") == 0)
			result_add(r, "PHISH_FORM_POST", "a form posts to %s", up.host);
		free(dom);
	}
	free(from_dom);
}

void
phish_check_urls(const struct phish_rules *pr, const struct scan_ctx *ctx, struct scan_result *r)
{
	const struct message *m = ctx->msg;
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
	int directory = link_directory(m);

	for (size_t i = 0; i < m->nurls; i++) {
		const struct msg_url *u = &m->urls[i];
		int clickable = u->source == URL_FROM_HREF || u->source == URL_FROM_FORM;
		int link = clickable || u->source == URL_FROM_TEXT;
		int listed = directory && u->source == URL_FROM_TEXT;

		/* "UHD 3.14.0.0" in text is a version, not a link: IP hosts
		 * written without a scheme are left alone */
		if (u->source == URL_FROM_TEXT && u->schemeless && u->host_is_ip)
			continue;

		if (u->scheme != NULL && strcmp(u->scheme, "data") == 0 && clickable) {
			if (util_strncasecmp(u->url, "data:image/", 11) != 0)
				result_add(r, "PHISH_URL_DATA", "a data: link opens a document (%.40s)",
				    u->url);
			continue;
		}
		if (u->scheme != NULL && strcmp(u->scheme, "javascript") == 0 && clickable) {
			result_add(r, "PHISH_URL_JAVASCRIPT", "a javascript: link (%.60s)", u->url);
			continue;
		}
		if (!is_web(u->scheme) && !u->schemeless)
			continue;
		check_feeds(pr, r, u->url);
		if (!link)
			continue;
		check_host(pr, r, seen, u->url, u->host, u->host_utf8, clickable, listed);
		/* every hop inside the link */
		{
			char *cur = xstrdup(u->url);

			for (int d = 0; d < REDIRECT_DEPTH; d++) {
				char *next = phish_unwrap(NULL, cur);
				struct url_parts up;

				free(cur);
				cur = next;
				if (cur == NULL || phish_url_parts(cur, &up) < 0)
					break;
				check_host(pr, r, seen, cur, up.host, NULL, clickable, listed);
				check_feeds(pr, r, cur);
			}
			free(cur);
		}
		if (u->source == URL_FROM_HREF)
			check_anchor(pr, r, u);
		if (clickable && recipient_in_fragment(ctx, u->url))
			result_add(r, "PHISH_URL_RECIPIENT", "the link %.80s carries the recipient's"
			    " address", u->url);
	}
	g_hash_table_destroy(seen);
	check_forms(pr, ctx, r);
}
