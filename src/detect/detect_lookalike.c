/*
 * detect_lookalike.c - names that imitate other names: folded text, edit
 * distance, confusable skeletons, name sets and the brand list.
 *
 * A protected domain is compared with a host at the protected domain's own
 * depth, so that both "arnazon.co.jp ~ amazon.co.jp" (the registrable label
 * differs) and "sarnple-seiki.example.jp ~ sample-seiki.example.jp" (an
 * organisation's domain below a shared registrable one) are found:
 *   - the host, or its registrable domain, is the protected one: LOOK_SAME;
 *   - the host's labels at that depth differ in the first one only: that
 *     label is compared (skeleton, then edit distance, then added words);
 *   - another suffix: the registrable labels are compared the same way,
 *     and an equal one is LOOK_OTHER_TLD;
 *   - the whole protected domain appears inside the host: LOOK_SUBDOMAIN.
 * Edit distance grows with the name: none below 7 code points (too many
 * real names are one letter from "gmail", "icloud" or "tepco": mail,
 * pcloud, tesco; short names are left to the confusable skeleton, which
 * catches amaz0n and rnicrosoft), 1 up to 9, 2 from 10.
 * Added words count when the name is a token of the label (amazon-secure,
 * smbc-card-login), or when it starts or ends the label and the rest is
 * made only of words phishing domains add (login, secure, jp, support...).
 *
 * ICU's spoof checker is shared by all threads: after set-up it is only
 * read, which ICU allows.  Sets and brand lists are built at init and read
 * only afterwards.  Nothing here fails at scan time: an ICU error gives the
 * input back unchanged.
 */
#include "detect/detect_phish.h"
#include "message/message.h"
#include "util/util.h"

#include <ctype.h>
#include <errno.h>
#include <glib.h>
#include <libpsl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/uspoof.h>
#include <unicode/ustring.h>
#include <unicode/utf8.h>

#define NAME_MAX_CP	256	/* code points compared; longer names are cut */

/* ---- ICU, set up once ---- */

static pthread_once_t icu_once = PTHREAD_ONCE_INIT;
static USpoofChecker *skel_checker;	/* for skeletons */
static USpoofChecker *mix_checker;	/* restriction level, invisible, mixed numbers */
static const UNormalizer2 *nfkc_cf;
static const psl_ctx_t *psl;

static void
icu_setup(void)
{
	UErrorCode e = U_ZERO_ERROR;

	skel_checker = uspoof_open(&e);
	if (U_SUCCESS(e))
		uspoof_setChecks(skel_checker, USPOOF_CONFUSABLE, &e);
	if (U_FAILURE(e))
		panic("ICU spoof checker: %s", u_errorName(e));
	e = U_ZERO_ERROR;
	mix_checker = uspoof_open(&e);
	if (U_SUCCESS(e)) {
		uspoof_setChecks(mix_checker, USPOOF_RESTRICTION_LEVEL | USPOOF_INVISIBLE |
		    USPOOF_MIXED_NUMBERS, &e);
		uspoof_setRestrictionLevel(mix_checker, USPOOF_HIGHLY_RESTRICTIVE);
	}
	if (U_FAILURE(e))
		panic("ICU spoof checker: %s", u_errorName(e));
	e = U_ZERO_ERROR;
	nfkc_cf = unorm2_getNFKCCasefoldInstance(&e);
	if (U_FAILURE(e))
		panic("ICU NFKC_Casefold: %s", u_errorName(e));
	psl = psl_latest(NULL);
	if (psl == NULL)
		psl = psl_builtin();
}

/* UTF-8 to UTF-16, malloc'ed; NULL on invalid input. */
static UChar *
to_u16(const char *s, int32_t *len)
{
	UErrorCode e = U_ZERO_ERROR;
	int32_t n = 0;
	UChar *u;

	u_strFromUTF8WithSub(NULL, 0, &n, s, -1, 0xfffd, NULL, &e);
	if (e != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(e))
		return NULL;
	e = U_ZERO_ERROR;
	u = xmalloc(((size_t)n + 1) * sizeof(UChar));
	u_strFromUTF8WithSub(u, n + 1, len, s, -1, 0xfffd, NULL, &e);
	if (U_FAILURE(e)) {
		free(u);
		return NULL;
	}
	return u;
}

static char *
to_u8(const UChar *u, int32_t len)
{
	UErrorCode e = U_ZERO_ERROR;
	int32_t n = 0;
	char *s;

	u_strToUTF8WithSub(NULL, 0, &n, u, len, 0xfffd, NULL, &e);
	if (e != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(e))
		return NULL;
	e = U_ZERO_ERROR;
	s = xmalloc((size_t)n + 1);
	u_strToUTF8WithSub(s, n + 1, NULL, u, len, 0xfffd, NULL, &e);
	if (U_FAILURE(e)) {
		free(s);
		return NULL;
	}
	return s;
}

char *
phish_fold(const char *utf8)
{
	UErrorCode e = U_ZERO_ERROR;
	int32_t len = 0, n;
	UChar *u, *out;
	char *s;

	pthread_once(&icu_once, icu_setup);
	if (utf8 == NULL)
		return xstrdup("");
	if ((u = to_u16(utf8, &len)) == NULL)
		return xstrdup(utf8);
	n = unorm2_normalize(nfkc_cf, u, len, NULL, 0, &e);
	if (e != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(e)) {
		free(u);
		return xstrdup(utf8);
	}
	e = U_ZERO_ERROR;
	out = xmalloc(((size_t)n + 1) * sizeof(UChar));
	unorm2_normalize(nfkc_cf, u, len, out, n + 1, &e);
	free(u);
	s = U_SUCCESS(e) ? to_u8(out, n) : NULL;
	free(out);
	return s != NULL ? s : xstrdup(utf8);
}

char *
phish_skeleton(const char *utf8)
{
	UErrorCode e = U_ZERO_ERROR;
	int32_t n;
	char *sk, *folded;

	pthread_once(&icu_once, icu_setup);
	n = uspoof_getSkeletonUTF8(skel_checker, 0, utf8, -1, NULL, 0, &e);
	if (e != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(e))
		return xstrdup(utf8);
	e = U_ZERO_ERROR;
	sk = xmalloc((size_t)n + 1);
	uspoof_getSkeletonUTF8(skel_checker, 0, utf8, -1, sk, n + 1, &e);
	if (U_FAILURE(e)) {
		free(sk);
		return xstrdup(utf8);
	}
	/* skeletons keep case ("0" becomes "O"): fold, and skeleton again so
	 * that what folding produced is mapped too */
	folded = phish_fold(sk);
	free(sk);
	e = U_ZERO_ERROR;
	n = uspoof_getSkeletonUTF8(skel_checker, 0, folded, -1, NULL, 0, &e);
	if (e != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(e))
		return folded;
	e = U_ZERO_ERROR;
	sk = xmalloc((size_t)n + 1);
	uspoof_getSkeletonUTF8(skel_checker, 0, folded, -1, sk, n + 1, &e);
	if (U_FAILURE(e)) {
		free(sk);
		return folded;
	}
	free(folded);
	return util_lowercase(sk);
}

int
phish_mixed_script(const char *utf8_host)
{
	char *copy, *label, *save = NULL;
	int bad = 0;

	pthread_once(&icu_once, icu_setup);
	/* invisible characters (zero-width space, joiners, soft hyphen) */
	{
		int32_t i = 0, len = (int32_t)strlen(utf8_host);

		while (i < len) {
			UChar32 c;

			U8_NEXT(utf8_host, i, len, c);
			if (c < 0 || u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT))
				return 1;
		}
	}
	copy = xstrdup(utf8_host);
	for (label = strtok_r(copy, ".", &save); label != NULL && !bad;
	    label = strtok_r(NULL, ".", &save)) {
		UErrorCode e = U_ZERO_ERROR;
		int32_t r = uspoof_checkUTF8(mix_checker, label, -1, NULL, &e);

		if (U_SUCCESS(e) && r != 0)
			bad = 1;
	}
	free(copy);
	return bad;
}

/* ---- edit distance ---- */

static size_t
code_points(const char *s, UChar32 *out, size_t max)
{
	int32_t i = 0, len = (int32_t)strlen(s);
	size_t n = 0;

	while (i < len && n < max) {
		UChar32 c;

		U8_NEXT(s, i, len, c);
		out[n++] = c < 0 ? 0xfffd : c;
	}
	return n;
}

int
phish_distance(const char *a, const char *b, int max)
{
	UChar32 x[NAME_MAX_CP], y[NAME_MAX_CP];
	size_t n = code_points(a, x, NAME_MAX_CP), m = code_points(b, y, NAME_MAX_CP);
	int *d0, *d1, *d2, dist;

	if ((n > m ? n - m : m - n) > (size_t)max)
		return max + 1;
	/* three rows: i-2, i-1, i (optimal string alignment) */
	d0 = xcalloc(m + 1, sizeof(int));
	d1 = xcalloc(m + 1, sizeof(int));
	d2 = xcalloc(m + 1, sizeof(int));
	for (size_t j = 0; j <= m; j++)
		d1[j] = (int)j;
	for (size_t i = 1; i <= n; i++) {
		int rowmin;

		d2[0] = (int)i;
		rowmin = d2[0];
		for (size_t j = 1; j <= m; j++) {
			int cost = x[i - 1] == y[j - 1] ? 0 : 1;
			int v = d1[j] + 1;

			if (d2[j - 1] + 1 < v)
				v = d2[j - 1] + 1;
			if (d1[j - 1] + cost < v)
				v = d1[j - 1] + cost;
			if (i > 1 && j > 1 && x[i - 1] == y[j - 2] && x[i - 2] == y[j - 1] &&
			    d0[j - 2] + 1 < v)
				v = d0[j - 2] + 1;
			d2[j] = v;
			if (v < rowmin)
				rowmin = v;
		}
		if (rowmin > max) {
			free(d0);
			free(d1);
			free(d2);
			return max + 1;
		}
		{
			int *t = d0;
			d0 = d1;
			d1 = d2;
			d2 = t;
		}
	}
	dist = d1[m];
	free(d0);
	free(d1);
	free(d2);
	return dist > max ? max + 1 : dist;
}

/* ---- name sets ---- */

struct domset {
	GHashTable *h;
};

struct domset *
domset_new(void)
{
	struct domset *s = xcalloc(1, sizeof(*s));

	s->h = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
	return s;
}

void
domset_free(struct domset *s)
{
	if (s == NULL)
		return;
	g_hash_table_destroy(s->h);
	free(s);
}

void
domset_add(struct domset *s, const char *name)
{
	char *k = util_lowercase(xstrdup(name));
	size_t l = strlen(k);

	while (l > 0 && k[l - 1] == '.')
		k[--l] = '\0';
	if (l == 0 || g_hash_table_contains(s->h, k)) {
		free(k);
		return;
	}
	g_hash_table_add(s->h, k);
}

int
domset_load(struct domset *s, const char *path, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;

	if (fp == NULL) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		return -1;
	}
	while (getline(&line, &cap, fp) >= 0) {
		char *p = strchr(line, '#');

		if (p != NULL)
			*p = '\0';
		p = util_trim(line);
		p[strcspn(p, " \t\r\n")] = '\0';
		if (*p != '\0')
			domset_add(s, p);
	}
	free(line);
	fclose(fp);
	return 0;
}

int
domset_has(const struct domset *s, const char *name)
{
	return s != NULL && name != NULL && g_hash_table_contains(s->h, name);
}

const char *
domset_match(const struct domset *s, const char *host)
{
	const char *p = host;

	if (s == NULL || host == NULL)
		return NULL;
	while (p != NULL && *p != '\0') {
		gpointer key;

		if (g_hash_table_lookup_extended(s->h, p, &key, NULL))
			return key;
		p = strchr(p, '.');
		if (p != NULL)
			p++;
	}
	return NULL;
}

size_t
domset_count(const struct domset *s)
{
	return s != NULL ? g_hash_table_size(s->h) : 0;
}

/* ---- brands ---- */

/* One domain compared against: a brand's or one of the organisation's. */
struct protected {
	size_t brand;		/* index into brandset.b */
	char *domain;		/* as listed */
	char *base;		/* what is compared: own domains as listed, brand
				 * domains at their registrable domain */
	char *label;		/* first label of base */
	char *rest;		/* base after its first label ("co.jp") */
	char *skel;		/* skeleton of label */
	int nlabels;		/* labels of base */
	int compare;		/* 0: owned but not compared ("~live.com") */
};

struct brandset {
	struct brand *b;
	size_t nb;
	struct protected *p;
	size_t np;
};

struct brandset *
brandset_new(void)
{
	pthread_once(&icu_once, icu_setup);
	return xcalloc(1, sizeof(struct brandset));
}

static void
strv_free(char **v)
{
	if (v == NULL)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

void
brandset_free(struct brandset *bs)
{
	if (bs == NULL)
		return;
	for (size_t i = 0; i < bs->nb; i++) {
		free(bs->b[i].name);
		strv_free(bs->b[i].domains);
		strv_free(bs->b[i].words);
		strv_free(bs->b[i].wskel);
		strv_free(bs->b[i].names);
	}
	for (size_t i = 0; i < bs->np; i++) {
		free(bs->p[i].domain);
		free(bs->p[i].base);
		free(bs->p[i].label);
		free(bs->p[i].rest);
		free(bs->p[i].skel);
	}
	free(bs->b);
	free(bs->p);
	free(bs);
}

size_t
brandset_count(const struct brandset *bs)
{
	return bs->nb;
}

static int
count_labels(const char *d)
{
	int n = 1;

	for (; *d; d++)
		n += *d == '.';
	return n;
}

static void
protect(struct brandset *bs, size_t brand, const char *domain, int compare)
{
	struct protected *p;
	char *base, *dot;

	if (bs->np % 32 == 0)
		bs->p = xrealloc(bs->p, (bs->np + 32) * sizeof(*bs->p));
	p = &bs->p[bs->np++];
	memset(p, 0, sizeof(*p));
	p->brand = brand;
	p->domain = util_lowercase(xstrdup(domain));
	base = bs->b[brand].own ? xstrdup(p->domain) : message_registrable_domain(p->domain);
	p->base = base;
	dot = strchr(base, '.');
	p->label = dot != NULL ? xstrndup(base, (size_t)(dot - base)) : xstrdup(base);
	p->rest = xstrdup(dot != NULL ? dot + 1 : "");
	p->skel = phish_skeleton(p->label);
	p->nlabels = count_labels(base);
	p->compare = compare;
	if (!bs->b[brand].own && compare && strlen(p->label) >= 4) {
		struct brand *b = &bs->b[brand];

		for (size_t i = 0; i < b->nnames; i++)
			if (strcmp(b->names[i], p->label) == 0)
				return;
		b->names = xrealloc(b->names, (b->nnames + 2) * sizeof(char *));
		b->names[b->nnames++] = xstrdup(p->label);
		b->names[b->nnames] = NULL;
	}
}

static char **
split_words(const char *s, const char *seps, size_t *n)
{
	char *copy = xstrdup(s), *tok, *save = NULL;
	char **v = xcalloc(1, sizeof(*v));

	*n = 0;
	for (tok = strtok_r(copy, seps, &save); tok != NULL; tok = strtok_r(NULL, seps, &save)) {
		char *t = util_trim(tok);

		if (*t == '\0')
			continue;
		v = xrealloc(v, (*n + 2) * sizeof(*v));
		v[(*n)++] = xstrdup(t);
		v[*n] = NULL;
	}
	free(copy);
	return v;
}

static size_t
brand_push(struct brandset *bs, const char *name, int own)
{
	struct brand *b;

	bs->b = xrealloc(bs->b, (bs->nb + 1) * sizeof(*bs->b));
	b = &bs->b[bs->nb];
	memset(b, 0, sizeof(*b));
	b->name = xstrdup(name);
	b->own = own;
	b->domains = xcalloc(1, sizeof(char *));
	b->words = xcalloc(1, sizeof(char *));
	b->wskel = xcalloc(1, sizeof(char *));
	b->names = xcalloc(1, sizeof(char *));
	return bs->nb++;
}

int
brandset_load(struct brandset *bs, const char *path, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0, rc = 0;

	if (fp == NULL) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		return -1;
	}
	while (getline(&line, &cap, fp) >= 0) {
		char *p = strchr(line, '#'), *f[3], *save = NULL;
		char **doms, **words;
		size_t nd, nw, bi;
		int nf = 0;

		lineno++;
		if (p != NULL)
			*p = '\0';
		if (*util_trim(line) == '\0')
			continue;
		for (char *t = strtok_r(line, "|", &save); t != NULL && nf < 3;
		    t = strtok_r(NULL, "|", &save))
			f[nf++] = util_trim(t);
		if (nf < 2 || *f[0] == '\0') {
			snprintf(err, errlen, "%s:%d: expected 'name | domains | words'", path, lineno);
			rc = -1;
			break;
		}
		doms = split_words(f[1], " \t,", &nd);
		if (nd == 0) {
			strv_free(doms);
			snprintf(err, errlen, "%s:%d: a brand needs a domain", path, lineno);
			rc = -1;
			break;
		}
		bi = brand_push(bs, f[0], 0);
		words = nf > 2 ? split_words(f[2], ",", &nw) : xcalloc(1, sizeof(char *));
		if (nf <= 2)
			nw = 0;
		for (size_t i = 0; i < nw; i++) {
			char *w = phish_fold(words[i]);
			free(words[i]);
			words[i] = w;
		}
		strv_free(bs->b[bi].words);
		bs->b[bi].words = words;
		bs->b[bi].nwords = nw;
		strv_free(bs->b[bi].wskel);
		bs->b[bi].wskel = xcalloc(nw + 1, sizeof(char *));
		for (size_t i = 0; i < nw; i++)
			bs->b[bi].wskel[i] = phish_skeleton(words[i]);
		bs->b[bi].domains = xrealloc(bs->b[bi].domains, (nd + 1) * sizeof(char *));
		for (size_t i = 0; i < nd; i++) {
			int compare = doms[i][0] != '~';
			const char *d = compare ? doms[i] : doms[i] + 1;

			bs->b[bi].domains[i] = util_lowercase(xstrdup(d));
			protect(bs, bi, d, compare);
		}
		bs->b[bi].domains[nd] = NULL;
		bs->b[bi].ndomains = nd;
		strv_free(doms);
	}
	free(line);
	fclose(fp);
	return rc;
}

void
brandset_add_own(struct brandset *bs, const char *domain)
{
	size_t bi;

	if (domain == NULL || *domain == '\0')
		return;
	bi = brand_push(bs, domain, 1);
	bs->b[bi].domains = xrealloc(bs->b[bi].domains, 2 * sizeof(char *));
	bs->b[bi].domains[0] = util_lowercase(xstrdup(domain));
	bs->b[bi].domains[1] = NULL;
	bs->b[bi].ndomains = 1;
	protect(bs, bi, domain, 1);
}

const char *
look_kind_name(enum look_kind k)
{
	switch (k) {
	case LOOK_NONE: return "none";
	case LOOK_SAME: return "same";
	case LOOK_TYPO: return "misspelt";
	case LOOK_HOMOGLYPH: return "look-alike characters";
	case LOOK_ADDED: return "added words";
	case LOOK_OTHER_TLD: return "another suffix";
	case LOOK_SUBDOMAIN: return "as a subdomain";
	}
	return "?";
}

static int
ascii_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
ends_with_domain(const char *host, const char *dom)
{
	size_t hl = strlen(host), dl = strlen(dom);

	if (hl < dl || strcmp(host + hl - dl, dom) != 0)
		return 0;
	return hl == dl || host[hl - dl - 1] == '.';
}

/* The registrable name of domain when its suffix is a country code
 * ("yahoo" for mail.yahoo.com.au), or NULL.  malloc'ed. */
static char *
cc_label(const char *domain)
{
	char *reg = message_registrable_domain(domain), *dot, *last, *label = NULL;

	if (reg != NULL && (dot = strchr(reg, '.')) != NULL) {
		last = strrchr(reg, '.') + 1;
		if (strlen(last) == 2 && ascii_alpha(last[0]) && ascii_alpha(last[1]))
			label = xstrndup(reg, (size_t)(dot - reg));
	}
	free(reg);
	return label;
}

static int
owns(const struct brand *b, const char *domain, const char *cclabel)
{
	for (size_t i = 0; i < b->ndomains; i++)
		if (ends_with_domain(domain, b->domains[i]))
			return 1;
	if (cclabel != NULL)
		for (size_t i = 0; i < b->nnames; i++)
			if (strcmp(b->names[i], cclabel) == 0)
				return 1;
	return 0;
}

int
brand_owns(const struct brand *b, const char *domain)
{
	char *cc;
	int r;

	if (b == NULL || domain == NULL)
		return 0;
	cc = b->nnames > 0 ? cc_label(domain) : NULL;
	r = owns(b, domain, cc);
	free(cc);
	return r;
}

const struct brand *
brandset_owner(const struct brandset *bs, const char *domain)
{
	const struct brand *found = NULL;
	char *cc;

	if (domain == NULL)
		return NULL;
	cc = cc_label(domain);
	for (size_t i = 0; i < bs->nb && found == NULL; i++)
		if (owns(&bs->b[i], domain, cc))
			found = &bs->b[i];
	free(cc);
	return found;
}

/* Words phishing domains add to a name (amazon-secure, paypalsupport). */
static const char *const lure_words[] = {
	"access", "account", "accounts", "alert", "alerts", "app", "apps", "auth", "bank",
	"billing", "card", "cards", "care", "center", "centre", "check", "client", "co",
	"com", "confirm", "corp", "customer", "delivery", "help", "helpdesk", "id", "info",
	"japan", "jp", "line", "log", "login", "logon", "mail", "member", "members", "my",
	"net", "notice", "notify", "official", "online", "pay", "payment", "portal", "prime",
	"recovery", "safe", "safety", "secure", "security", "service", "services", "shop", "sign",
	"signin", "store", "support", "team", "tracking", "update", "user", "verify",
	"verification", "wallet", "web", "www",
};

/* Is s (len bytes) made only of lure words, digits and '-'? */
static int
only_lure(const char *s, size_t len)
{
	size_t i = 0;

	if (len == 0)
		return 0;
	while (i < len) {
		size_t best = 0;

		if (s[i] == '-' || (s[i] >= '0' && s[i] <= '9')) {
			i++;
			continue;
		}
		for (size_t w = 0; w < UTIL_ARRAY_LEN(lure_words); w++) {
			size_t wl = strlen(lure_words[w]);
			if (wl > best && wl <= len - i && memcmp(s + i, lure_words[w], wl) == 0)
				best = wl;
		}
		if (best == 0)
			return 0;
		i += best;
	}
	return 1;
}

/* Is name inside label as a token (between '-', digits or the ends), or
 * at its start or end with only lure words for the rest? */
static int
has_added_words(const char *label, const char *name)
{
	size_t ll = strlen(label), nl = strlen(name);
	const char *p;

	if (nl < 3 || ll <= nl)
		return 0;
	for (p = strstr(label, name); p != NULL; p = strstr(p + 1, name)) {
		size_t off = (size_t)(p - label);
		int lb = off == 0 || label[off - 1] == '-' ||
		    (label[off - 1] >= '0' && label[off - 1] <= '9');
		int rb = off + nl == ll || label[off + nl] == '-' ||
		    (label[off + nl] >= '0' && label[off + nl] <= '9');

		if (lb && rb)
			return 1;
		if (nl >= 4 && off == 0 && only_lure(label + nl, ll - nl))
			return 1;
		if (nl >= 4 && off + nl == ll && only_lure(label, off))
			return 1;
	}
	/* the name inside a longer token next to a lure word: confirm-ebaymain */
	if (nl >= 4 && strstr(label, name) != NULL && strchr(label, '-') != NULL) {
		char *copy = xstrdup(label), *tok, *save = NULL;
		int lure = 0;

		for (tok = strtok_r(copy, "-", &save); tok != NULL && !lure;
		    tok = strtok_r(NULL, "-", &save))
			lure = strstr(tok, name) == NULL && only_lure(tok, strlen(tok));
		free(copy);
		if (lure)
			return 1;
	}
	return 0;
}

static int
typo_limit(const char *label)
{
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)label; *p; p++)
		n += (*p & 0xc0) != 0x80;
	return n < 7 ? 0 : n < 10 ? 1 : 2;
}

/* Skeletons of the few labels of one host, computed once per look-up
 * rather than once per protected domain. */
struct skel_memo {
	char *label[16], *skel[16];
	size_t n;
};

static const char *
memo_skeleton(struct skel_memo *mm, const char *label)
{
	for (size_t i = 0; i < mm->n; i++)
		if (strcmp(mm->label[i], label) == 0)
			return mm->skel[i];
	if (mm->n == UTIL_ARRAY_LEN(mm->label)) {
		free(mm->label[0]);
		free(mm->skel[0]);
		memmove(mm->label, mm->label + 1, (mm->n - 1) * sizeof(char *));
		memmove(mm->skel, mm->skel + 1, (mm->n - 1) * sizeof(char *));
		mm->n--;
	}
	mm->label[mm->n] = xstrdup(label);
	mm->skel[mm->n] = phish_skeleton(label);
	return mm->skel[mm->n++];
}

static void
memo_clear(struct skel_memo *mm)
{
	for (size_t i = 0; i < mm->n; i++) {
		free(mm->label[i]);
		free(mm->skel[i]);
	}
	mm->n = 0;
}

/* Compare one label with a protected label.  LOOK_NONE if unrelated. */
static enum look_kind
label_compare(struct skel_memo *mm, const char *label, const struct protected *p,
    int same_suffix, int *dist)
{
	int lim, d;

	if (strcmp(label, p->label) == 0)
		return same_suffix ? LOOK_SAME : LOOK_OTHER_TLD;
	if (strcmp(memo_skeleton(mm, label), p->skel) == 0)
		return LOOK_HOMOGLYPH;
	lim = typo_limit(p->label);
	if (lim > 0 && (d = phish_distance(label, p->label, lim)) <= lim) {
		*dist = d;
		return LOOK_TYPO;
	}
	if (has_added_words(label, p->label))
		return LOOK_ADDED;
	return LOOK_NONE;
}

/* The last n labels of host (a pointer into it), or NULL if it has fewer. */
static const char *
last_labels(const char *host, int n)
{
	const char *p = host + strlen(host);
	int seen = 0;

	while (p > host) {
		p--;
		if (*p == '.' && ++seen == n)
			return p + 1;
	}
	return seen == n - 1 ? host : NULL;
}

enum look_kind
brandset_lookalike(const struct brandset *bs, const char *host, const char *host_utf8,
    struct look_match *m)
{
	const char *h = host_utf8 != NULL ? host_utf8 : host;
	char *reg, *reg_u8, *hostdots, *cc;
	enum look_kind found = LOOK_NONE;
	struct look_match best;
	struct skel_memo mm = { .n = 0 };
	int best_rank = 0;

	memset(&best, 0, sizeof(best));
	if (host == NULL || *host == '\0')
		return LOOK_NONE;
	reg = message_registrable_domain(host);
	/* LOOK_SAME first: a brand's own domains are never its lookalikes */
	cc = cc_label(host);
	for (size_t i = 0; i < bs->nb; i++)
		if (owns(&bs->b[i], host, cc) || owns(&bs->b[i], reg, NULL)) {
			if (m != NULL) {
				m->kind = LOOK_SAME;
				m->brand = &bs->b[i];
				m->domain = bs->b[i].domains[0];
				m->distance = 0;
			}
			free(cc);
			free(reg);
			return LOOK_SAME;
		}
	free(cc);
	reg_u8 = message_registrable_domain(h);
	hostdots = xasprintf(".%s.", h);
	for (size_t i = 0; i < bs->np; i++) {
		const struct protected *p = &bs->p[i];
		const char *tail = last_labels(h, p->nlabels);
		enum look_kind k = LOOK_NONE;
		int dist = 0, at_depth = 0, whole = 0;

		if (!p->compare || p->label[0] == '\0')
			continue;
		/* at the protected domain's depth, under the same suffix */
		if (tail != NULL) {
			const char *dot = strchr(tail, '.');

			if (dot != NULL && strcmp(dot + 1, p->rest) == 0) {
				char *label = xstrndup(tail, (size_t)(dot - tail));
				k = label_compare(&mm, label, p, 1, &dist);
				at_depth = k != LOOK_NONE;
				free(label);
			}
		}
		if (k == LOOK_SAME) {
			/* same name and suffix as a brand listed below its
			 * registrable domain (post.japanpost.jp): the brand's own */
			found = LOOK_SAME;
			best.kind = LOOK_SAME;
			best.brand = &bs->b[p->brand];
			best.domain = p->domain;
			break;
		}
		if (k == LOOK_NONE && reg_u8 != NULL) {
			/* the whole protected domain inside the subdomain part
			 * (paypal.com.evil.example; not yahoo.com.au, whose
			 * registrable domain it overlaps) */
			char *needle = xasprintf(".%s.", p->domain);
			const char *at = strstr(hostdots, needle);
			size_t sublen = strlen(h) > strlen(reg_u8) ? strlen(h) - strlen(reg_u8) : 0;

			if (at != NULL && (size_t)(at - hostdots) + strlen(needle) - 1 <= sublen) {
				k = LOOK_SUBDOMAIN;
				whole = 1;
			}
			free(needle);
		}
		/* the registrable name under another suffix */
		if (k == LOOK_NONE && reg_u8 != NULL && strchr(reg_u8, '.') != NULL &&
		    strcmp(strchr(reg_u8, '.') + 1, p->rest) != 0 && phish_known_tld(reg_u8)) {
			const char *dot = strchr(reg_u8, '.');
			char *label = xstrndup(reg_u8, (size_t)(dot - reg_u8));

			k = label_compare(&mm, label, p, 0, &dist);
			/* a short name under another suffix is someone else's (nta.com);
			 * a brand's country domains are its own (yahoo.fr, google.de):
			 * for brands only generic suffixes count (amazon.xyz) */
			if (k == LOOK_OTHER_TLD && (strlen(p->label) < 4 ||
			    (!bs->b[p->brand].own && strlen(strrchr(reg_u8, '.') + 1) < 3)))
				k = LOOK_NONE;
			free(label);
		}
		/* the name as a label of the subdomain: amazon.rrxrx.example,
		 * www-aeon-co-jp.evil.example, etc1-melsai.evil.example */
		if (k == LOOK_NONE && reg_u8 != NULL && strlen(p->label) >= 3 &&
		    strlen(h) > strlen(reg_u8)) {
			char *sub = xstrndup(h, strlen(h) - strlen(reg_u8) - 1), *save = NULL;

			for (char *l = strtok_r(sub, ".", &save); l != NULL && k == LOOK_NONE;
			    l = strtok_r(NULL, ".", &save)) {
				int d = 0;
				enum look_kind lk = label_compare(&mm, l, p, 1, &d);

				/* a short name alone is a word too (citi.umich.edu) */
				if (lk != LOOK_NONE && (lk != LOOK_SAME || strlen(p->label) >= 5))
					k = LOOK_SUBDOMAIN;
			}
			free(sub);
		}
		if (k != LOOK_NONE) {
			/* the closest imitation wins: one at the protected domain's
			 * own depth over a subdomain or another suffix, and a longer
			 * protected domain over a shorter one */
			int rank = (k == LOOK_SUBDOMAIN ? (whole ? 250 : 200) : at_depth ? 300 : 100) +
			    p->nlabels;

			if (found == LOOK_NONE || rank > best_rank) {
				found = k;
				best_rank = rank;
				best.kind = k;
				best.brand = &bs->b[p->brand];
				best.domain = p->domain;
				best.distance = dist;
			}
		}
	}
	memo_clear(&mm);
	free(hostdots);
	free(reg_u8);
	free(reg);
	if (found != LOOK_NONE && m != NULL)
		*m = best;
	return found;
}

/* ---- brand words in text ---- */

static int
ascii_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
}

static int
word_in(const char *text, const char *w)
{
	size_t wl = strlen(w);

	if (wl == 0)
		return 0;
	for (const char *p = strstr(text, w); p != NULL; p = strstr(p + 1, w)) {
		int lb = p == text || !ascii_alnum((unsigned char)p[-1]) || !ascii_alnum((unsigned char)w[0]);
		int rb = !ascii_alnum((unsigned char)p[wl]) || !ascii_alnum((unsigned char)w[wl - 1]);

		if (lb && rb)
			return 1;
	}
	return 0;
}

/* "C o i n b a s e", "P.a.y.P.a.l": most tokens are one character long.
 * The squashed text, or NULL when the text is not spelled out. */
static char *
spelled_out(const char *text)
{
	size_t single = 0, tokens = 0, len = strlen(text);
	char *out = xmalloc(len + 1), *o = out;
	const char *p = text;

	while (*p) {
		size_t tl;

		while (*p == ' ' || *p == '.' || *p == '-' || *p == '_')
			p++;
		tl = strcspn(p, " .-_");
		if (tl == 0)
			break;
		tokens++;
		if (tl == 1)
			single++;
		memcpy(o, p, tl);
		o += tl;
		p += tl;
	}
	*o = '\0';
	if (single >= 4 && single * 2 >= tokens + 1)
		return out;
	free(out);
	return NULL;
}

const struct brand *
brandset_named(const struct brandset *bs, const char *folded, const char **word)
{
	char *squashed;

	if (folded == NULL || *folded == '\0')
		return NULL;
	for (size_t i = 0; i < bs->nb; i++)
		for (size_t j = 0; j < bs->b[i].nwords; j++)
			if (word_in(folded, bs->b[i].words[j])) {
				if (word != NULL)
					*word = bs->b[i].words[j];
				return &bs->b[i];
			}
	squashed = spelled_out(folded);
	if (squashed == NULL)
		return NULL;
	for (size_t i = 0; i < bs->nb; i++)
		for (size_t j = 0; j < bs->b[i].nwords; j++)
			if (strlen(bs->b[i].words[j]) >= 4 &&
			    strstr(squashed, bs->b[i].words[j]) != NULL) {
				if (word != NULL)
					*word = bs->b[i].words[j];
				free(squashed);
				return &bs->b[i];
			}
	free(squashed);
	return NULL;
}

const struct brand *
brandset_named_lookalike(const struct brandset *bs, const char *text, const char **word)
{
	char *sk;
	const struct brand *found = NULL;

	if (text == NULL || *text == '\0')
		return NULL;
	sk = phish_skeleton(text);
	for (size_t i = 0; i < bs->nb && found == NULL; i++)
		for (size_t j = 0; j < bs->b[i].nwords && found == NULL; j++)
			if (strlen(bs->b[i].wskel[j]) >= 4 && word_in(sk, bs->b[i].wskel[j])) {
				found = &bs->b[i];
				if (word != NULL)
					*word = bs->b[i].words[j];
			}
	free(sk);
	return found;
}

int
phish_known_tld(const char *host)
{
	const char *dot = strrchr(host, '.');
	const char *tld = dot != NULL ? dot + 1 : host;

	pthread_once(&icu_once, icu_setup);
	if (*tld == '\0')
		return 0;
	return psl_is_public_suffix2(psl, tld, PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE);
}

int
phish_name_names_sender(const struct brandset *bs, const char *folded, const char *domain,
    const char *brand_word)
{
	char *reg, *label;
	const char *p;
	size_t ll;
	int hit = 0;

	if (folded == NULL || domain == NULL)
		return 0;
	reg = message_registrable_domain(domain);
	if (reg == NULL)
		return 0;
	ll = strcspn(reg, ".");
	label = xstrndup(reg, ll);
	free(reg);
	if (ll < 4 || (brand_word != NULL && *brand_word != '\0' &&
	    strstr(label, brand_word) != NULL) || brandset_named(bs, label, NULL) != NULL ||
	    brandset_named_lookalike(bs, label, NULL) != NULL) {
		free(label);
		return 0;
	}
	/* a word of the name, not part of an address or a domain written in
	 * it ("Amazon.co.jp@jmmlm.com", "service@paypaI.com") */
	for (p = folded; !hit && (p = strstr(p, label)) != NULL; p++)
		hit = (p == folded || (!isalnum((unsigned char)p[-1]) && p[-1] != '@' &&
		    p[-1] != '.')) && !isalnum((unsigned char)p[ll]) && p[ll] != '.' &&
		    p[ll] != '@' && strchr(folded, '@') == NULL;
	free(label);
	return hit;
}
