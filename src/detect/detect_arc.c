/*
 * detect_arc.c - ARC chain validation (RFC 8617) with OpenSSL.
 *
 * libopendkim has no ARC, so this file carries the DKIM machinery ARC needs
 * (RFC 6376): tag lists, simple and relaxed canonicalization of header
 * fields and body, public-key records, rsa-sha256 and ed25519-sha256
 * (RFC 8463) signatures.  The chain is validated as RFC 8617 section 5.2
 * says:
 *   1. no ARC header fields: cv=none;
 *   2. the newest ARC-Seal says cv=fail: fail;
 *   3. every instance 1..N has exactly one ARC-Authentication-Results,
 *      ARC-Message-Signature and ARC-Seal, each with a valid i= (1..50),
 *      AS(1) says cv=none and every later AS cv=pass: otherwise fail;
 *   4. the newest ARC-Message-Signature verifies (older ones may be broken
 *      by later hops; that is what the chain is for);
 *   5. every ARC-Seal, newest first, verifies over the ARC sets up to its
 *      own instance: pass, else fail.
 * A key look-up without an answer makes the result temperror.
 *
 * arc_verify() is pure apart from the key look-up callback, so tests feed
 * it keys from files and fuzzers random bytes.  Input is the CRLF message
 * (auth_crlf()).  Limits: 1000 header fields are read (the rest are
 * ignored: ARC fields belong on top), 50 ARC instances, 32 tags per
 * signature, keys of 1024 bits and more (RFC 8301).
 *
 * Symbols: ARC_PASS, ARC_FAIL, ARC_TEMPERROR, ARC_NONE (DNS_TEMPFAIL comes
 * from detect_auth.c).  Authentication-Results: "arc=<none|pass|fail>", or
 * "arc=temperror" when a key could not be fetched.
 */
#include "detect/detect_auth.h"
#include "util/base64.h"
#include "util/util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#define ARC_MAX_FIELDS	1000
#define ARC_MAX_TAGS	32
#define ARC_MIN_RSA_BITS 1024

/* ---- growable byte buffer ---- */

struct buf {
	char *p;
	size_t n, cap;
};

static void
buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void
buf_addc(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

/* ---- the message as header fields and a body ---- */

struct field {
	const char *p;		/* the field, without its final CRLF */
	size_t len;
	size_t namelen;		/* name without white space before ':' */
	const char *val;	/* after ':' */
	size_t vlen;
};

struct msgview {
	struct field *f;
	size_t nf;
	const char *body;
	size_t bodylen;
};

static int
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static int
is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void
msg_parse(const char *m, size_t len, struct msgview *mv)
{
	size_t i = 0;

	memset(mv, 0, sizeof(*mv));
	mv->body = m + len;
	while (i < len) {
		size_t start = i, end;

		if (len - i >= 2 && m[i] == '\r' && m[i + 1] == '\n') {
			mv->body = m + i + 2;
			mv->bodylen = len - i - 2;
			return;
		}
		for (;;) {
			const char *nl = memmem(m + i, len - i, "\r\n", 2);

			if (nl == NULL) {
				end = i = len;
				break;
			}
			i = (size_t)(nl - m) + 2;
			if (i < len && is_wsp(m[i]))
				continue;
			end = (size_t)(nl - m);
			break;
		}
		if (mv->nf == ARC_MAX_FIELDS)
			continue;
		const char *colon = memchr(m + start, ':', end - start);
		if (colon == NULL || colon == m + start)
			continue;	/* not a header field */
		struct field *f;
		mv->f = xrealloc(mv->f, (mv->nf + 1) * sizeof(*mv->f));
		f = &mv->f[mv->nf++];
		f->p = m + start;
		f->len = end - start;
		f->namelen = (size_t)(colon - (m + start));
		while (f->namelen > 0 && is_wsp(f->p[f->namelen - 1]))
			f->namelen--;
		f->val = colon + 1;
		f->vlen = end - (size_t)(colon + 1 - m);
	}
}

static int
field_is(const struct field *f, const char *name)
{
	size_t n = strlen(name);

	return f->namelen == n && util_strncasecmp(f->p, name, n) == 0;
}

/* ---- tag lists (RFC 6376 section 3.2) ---- */

struct tag {
	char name[16];
	const char *v;		/* value, surrounding FWS trimmed */
	size_t vlen;
	size_t eq_off;		/* offset of '=' in the parsed text */
	size_t end_off;		/* offset of the ';' ending the tag (or the end) */
};

struct taglist {
	struct tag t[ARC_MAX_TAGS];
	int n;
};

/* 0, or -1 on a syntax error, a duplicate tag or too many tags. */
static int
taglist_parse(const char *s, size_t len, struct taglist *tl)
{
	size_t i = 0;

	tl->n = 0;
	while (i <= len) {
		size_t seg = i, segend, a, b, nstart, nend;
		const char *semi = memchr(s + i, ';', len - i);

		segend = semi ? (size_t)(semi - s) : len;
		a = seg;
		b = segend;
		while (a < b && is_fws(s[a]))
			a++;
		while (b > a && is_fws(s[b - 1]))
			b--;
		if (a == b) {
			/*
			 * An empty tag-spec is allowed only after the last ';'
			 * ("a=1; b=2;"), or as the whole of an empty list.
			 */
			if (semi != NULL)
				return -1;
			return (tl->n > 0 || len == 0) ? 0 : -1;
		}
		nstart = a;
		if (!isalpha((unsigned char)s[a]))
			return -1;
		while (a < b && (isalnum((unsigned char)s[a]) || s[a] == '_'))
			a++;
		nend = a;
		while (a < b && is_fws(s[a]))
			a++;
		if (a == b || s[a] != '=')
			return -1;
		if (tl->n == ARC_MAX_TAGS || nend - nstart >= sizeof(tl->t[0].name))
			return -1;
		struct tag *t = &tl->t[tl->n];
		memcpy(t->name, s + nstart, nend - nstart);
		t->name[nend - nstart] = '\0';
		for (int k = 0; k < tl->n; k++)
			if (strcmp(tl->t[k].name, t->name) == 0)
				return -1;
		t->eq_off = a;
		t->end_off = segend;
		a++;
		while (a < b && is_fws(s[a]))
			a++;
		t->v = s + a;
		t->vlen = b - a;
		for (size_t k = 0; k < t->vlen; k++) {
			unsigned char c = (unsigned char)t->v[k];
			if (!(is_fws((char)c) || (c >= 0x21 && c <= 0x7e && c != ';')))
				return -1;
		}
		tl->n++;
		if (semi == NULL)
			return 0;
		i = segend + 1;
	}
	return 0;
}

static const struct tag *
tag_get(const struct taglist *tl, const char *name)
{
	for (int i = 0; i < tl->n; i++)
		if (strcmp(tl->t[i].name, name) == 0)
			return &tl->t[i];
	return NULL;
}

static int
tag_is(const struct tag *t, const char *value)
{
	return t != NULL && t->vlen == strlen(value) && memcmp(t->v, value, t->vlen) == 0;
}

/* A decimal number of 1..maxdigits digits, nothing else. */
static int
tag_number(const struct tag *t, int maxdigits, long long *out)
{
	long long v = 0;

	if (t == NULL || t->vlen == 0 || t->vlen > (size_t)maxdigits)
		return -1;
	for (size_t i = 0; i < t->vlen; i++) {
		if (!isdigit((unsigned char)t->v[i]))
			return -1;
		v = v * 10 + (t->v[i] - '0');
	}
	*out = v;
	return 0;
}

/* A domain name or selector: dot-separated labels of letters, digits, '-' and '_'. */
static int
name_ok(const struct tag *t)
{
	size_t label = 0;

	if (t == NULL || t->vlen == 0 || t->vlen > 253)
		return 0;
	for (size_t i = 0; i < t->vlen; i++) {
		char c = t->v[i];

		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (isalnum((unsigned char)c) || c == '-' || c == '_') {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return label > 0;
}

/* Base64 with folding white space removed; -1 when not base64. */
static long
b64_decode_fws(const char *s, size_t len, unsigned char **out)
{
	char *clean = xmalloc(len + 1);
	size_t n = 0;
	long r;

	for (size_t i = 0; i < len; i++)
		if (!is_fws(s[i]))
			clean[n++] = s[i];
	clean[n] = '\0';
	*out = xmalloc(3 * (n / 4) + 3);
	r = n ? base64_decode(clean, n, *out) : -1;
	free(clean);
	if (r < 0) {
		free(*out);
		*out = NULL;
	}
	return r;
}

/* ---- canonicalization ---- */

/* Relaxed (RFC 6376 3.4.2) of the field text p/len: "name:value". */
static void
canon_relaxed(struct buf *b, const char *p, size_t len, size_t namelen, int crlf)
{
	const char *colon = memchr(p, ':', len);
	size_t v, e;
	int space = 0;

	for (size_t i = 0; i < namelen; i++)
		buf_addc(b, (char)tolower((unsigned char)p[i]));
	buf_addc(b, ':');
	v = (size_t)(colon - p) + 1;
	e = len;
	while (v < e && is_fws(p[v]))
		v++;
	while (e > v && is_fws(p[e - 1]))
		e--;
	for (size_t i = v; i < e; i++) {
		char c = p[i];

		if (c == '\r' || c == '\n')
			continue;		/* unfold */
		if (is_wsp(c)) {
			space = 1;
			continue;
		}
		if (space)
			buf_addc(b, ' ');
		space = 0;
		buf_addc(b, c);
	}
	if (crlf)
		buf_add(b, "\r\n", 2);
}

static void
canon_header(struct buf *b, int relaxed, const char *p, size_t len, size_t namelen, int crlf)
{
	if (relaxed) {
		canon_relaxed(b, p, len, namelen, crlf);
		return;
	}
	buf_add(b, p, len);
	if (crlf)
		buf_add(b, "\r\n", 2);
}

/* The canonical body (RFC 6376 3.4.3 / 3.4.4).  malloc'ed in *out. */
static size_t
canon_body(const char *body, size_t len, int relaxed, char **out)
{
	struct buf b = { 0 };
	size_t i = 0, keep = 0;

	while (i < len) {
		const char *nl = memmem(body + i, len - i, "\r\n", 2);
		size_t end = nl ? (size_t)(nl - body) : len;
		size_t before = b.n;

		if (relaxed) {
			int space = 0;
			size_t e = end;

			while (e > i && is_wsp(body[e - 1]))
				e--;
			for (size_t k = i; k < e; k++) {
				if (is_wsp(body[k])) {
					space = 1;
					continue;
				}
				if (space)
					buf_addc(&b, ' ');
				space = 0;
				buf_addc(&b, body[k]);
			}
		} else {
			buf_add(&b, body + i, end - i);
		}
		buf_add(&b, "\r\n", 2);
		/* a line with content moves the end past all empty lines so far */
		if (b.n - before > 2)
			keep = b.n;
		i = nl ? end + 2 : len;
	}
	/* trailing empty lines go; an empty body is "" (relaxed) or CRLF (simple) */
	b.n = keep;
	if (b.n == 0 && !relaxed)
		buf_add(&b, "\r\n", 2);
	if (b.p == NULL)
		buf_add(&b, "", 0);
	b.p[b.n] = '\0';
	*out = b.p;
	return b.n;
}

/* The field with the value of its b= tag (and the white space around it) removed. */
static void
strip_b(struct buf *b, const struct field *f, const struct taglist *tl)
{
	const struct tag *t = tag_get(tl, "b");
	size_t voff = (size_t)(f->val - f->p);

	buf_add(b, f->p, voff + t->eq_off + 1);
	buf_add(b, f->p + voff + t->end_off, f->len - voff - t->end_off);
}

/* ---- keys and signatures ---- */

enum arc_alg { ALG_RSA_SHA256, ALG_ED25519_SHA256 };

enum vres { V_OK = 0, V_FAIL, V_TEMP };

static int
alg_of(const struct tag *a, enum arc_alg *alg)
{
	if (tag_is(a, "rsa-sha256"))
		*alg = ALG_RSA_SHA256;
	else if (tag_is(a, "ed25519-sha256"))
		*alg = ALG_ED25519_SHA256;
	else
		return -1;
	return 0;
}

/* Does the colon-separated list (FWS allowed) contain word? */
static int
list_has(const struct tag *t, const char *word)
{
	size_t i = 0, wl = strlen(word);

	while (i <= t->vlen) {
		size_t j = i, a, b;

		while (j < t->vlen && t->v[j] != ':')
			j++;
		a = i;
		b = j;
		while (a < b && is_fws(t->v[a]))
			a++;
		while (b > a && is_fws(t->v[b - 1]))
			b--;
		if (b - a == wl && memcmp(t->v + a, word, wl) == 0)
			return 1;
		i = j + 1;
	}
	return 0;
}

/* Fetch and check the public key of s._domainkey.d. */
static enum vres
key_fetch(arc_key_fn fn, void *arg, const struct tag *s, const struct tag *d,
    enum arc_alg alg, EVP_PKEY **pkey, char *why, size_t whylen)
{
	char name[600], **txt = NULL;
	struct taglist kt;
	const struct tag *v, *k, *p, *h, *srv;
	unsigned char *der = NULL;
	const unsigned char *q;
	long n;
	enum vres ret = V_FAIL;

	*pkey = NULL;
	snprintf(name, sizeof(name), "%.*s._domainkey.%.*s", (int)s->vlen, s->v,
	    (int)d->vlen, d->v);
	switch (fn(arg, name, &txt)) {
	case DNS_OK:
		break;
	case DNS_TEMPFAIL:
		snprintf(why, whylen, "no answer for key %.120s", name);
		return V_TEMP;
	default:
		snprintf(why, whylen, "no key at %.120s", name);
		return V_FAIL;
	}
	if (txt == NULL || txt[0] == NULL || txt[1] != NULL) {
		snprintf(why, whylen, "%s key records at %.120s", txt && txt[0] ? "several" : "no", name);
		goto out;
	}
	if (taglist_parse(txt[0], strlen(txt[0]), &kt) < 0) {
		snprintf(why, whylen, "malformed key record at %.120s", name);
		goto out;
	}
	v = tag_get(&kt, "v");
	k = tag_get(&kt, "k");
	p = tag_get(&kt, "p");
	h = tag_get(&kt, "h");
	srv = tag_get(&kt, "s");
	if ((v != NULL && (!tag_is(v, "DKIM1") || kt.t[0].name[0] != 'v' || kt.t[0].name[1])) ||
	    p == NULL || (h != NULL && !list_has(h, "sha256")) ||
	    (srv != NULL && !list_has(srv, "email") && !list_has(srv, "*"))) {
		snprintf(why, whylen, "unusable key record at %.120s", name);
		goto out;
	}
	if (p->vlen == 0) {
		snprintf(why, whylen, "key at %.120s is revoked", name);
		goto out;
	}
	if ((k == NULL || tag_is(k, "rsa")) != (alg == ALG_RSA_SHA256) ||
	    (k != NULL && !tag_is(k, "rsa") && !tag_is(k, "ed25519"))) {
		snprintf(why, whylen, "key type at %.120s does not match a=", name);
		goto out;
	}
	if ((n = b64_decode_fws(p->v, p->vlen, &der)) < 0) {
		snprintf(why, whylen, "key at %.120s is not base64", name);
		goto out;
	}
	if (alg == ALG_ED25519_SHA256) {
		if (n == 32)
			*pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, der, 32);
	} else {
		q = der;
		*pkey = d2i_PUBKEY(NULL, &q, n);
		if (*pkey == NULL) {
			q = der;
			*pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &q, n);
		}
		if (*pkey != NULL && (EVP_PKEY_get_base_id(*pkey) != EVP_PKEY_RSA ||
		    EVP_PKEY_get_bits(*pkey) < ARC_MIN_RSA_BITS)) {
			snprintf(why, whylen, "key at %.100s is not an RSA key of %d bits or more",
			    name, ARC_MIN_RSA_BITS);
			EVP_PKEY_free(*pkey);
			*pkey = NULL;
			goto out;
		}
	}
	if (*pkey == NULL) {
		snprintf(why, whylen, "key at %.120s cannot be decoded", name);
		goto out;
	}
	ret = V_OK;
out:
	free(der);
	dns_strings_free(txt);
	return ret;
}

/* Verify b= over data (hashed with SHA-256 first, as both algorithms sign). */
static int
sig_ok(EVP_PKEY *pkey, enum arc_alg alg, const struct tag *b, const char *data, size_t len)
{
	unsigned char digest[32], *sig = NULL;
	unsigned int dlen = 0;
	long slen;
	int ok = 0;

	if ((slen = b64_decode_fws(b->v, b->vlen, &sig)) <= 0) {
		free(sig);
		return 0;
	}
	if (EVP_Digest(data, len, digest, &dlen, EVP_sha256(), NULL) != 1)
		goto out;
	if (alg == ALG_RSA_SHA256) {
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pkey, NULL);

		ok = c != NULL && EVP_PKEY_verify_init(c) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) == 1 &&
		    EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) == 1 &&
		    EVP_PKEY_verify(c, sig, (size_t)slen, digest, dlen) == 1;
		EVP_PKEY_CTX_free(c);
	} else {
		EVP_MD_CTX *m = EVP_MD_CTX_new();

		ok = m != NULL && EVP_DigestVerifyInit(m, NULL, NULL, NULL, pkey) == 1 &&
		    EVP_DigestVerify(m, sig, (size_t)slen, digest, dlen) == 1;
		EVP_MD_CTX_free(m);
	}
out:
	free(sig);
	return ok;
}

/* ---- the ARC sets ---- */

struct arc_set {
	const struct field *aar, *ams, *as;
	struct taglist ams_tags, as_tags;
};

struct arc_chain {
	struct arc_set set[ARC_MAX_INSTANCES + 1];	/* [1..n] */
	int n;
};

/* "i=<n>;" at the start of an ARC-Authentication-Results value. */
static int
aar_instance(const struct field *f)
{
	const char *p = f->val, *e = f->val + f->vlen;
	long v = 0;
	int digits = 0;

	while (p < e && is_fws(*p))
		p++;
	if (p == e || *p++ != 'i')
		return -1;
	while (p < e && is_fws(*p))
		p++;
	if (p == e || *p++ != '=')
		return -1;
	while (p < e && is_fws(*p))
		p++;
	while (p < e && isdigit((unsigned char)*p) && digits < 3) {
		v = v * 10 + (*p++ - '0');
		digits++;
	}
	while (p < e && is_fws(*p))
		p++;
	if (digits == 0 || p == e || *p != ';' || v < 1 || v > ARC_MAX_INSTANCES)
		return -1;
	return (int)v;
}

static int
sig_instance(const struct taglist *tl)
{
	long long v;

	if (tag_number(tag_get(tl, "i"), 2, &v) < 0 || v < 1 || v > ARC_MAX_INSTANCES)
		return -1;
	return (int)v;
}

/* Collect the sets; 0, or -1 with why (a structural failure). */
static int
chain_collect(const struct msgview *mv, struct arc_chain *ch, char *why, size_t whylen)
{
	memset(ch, 0, sizeof(*ch));
	for (size_t k = 0; k < mv->nf; k++) {
		const struct field *f = &mv->f[k];
		struct taglist tl;
		int i, kind;

		if (field_is(f, "ARC-Authentication-Results"))
			kind = 0;
		else if (field_is(f, "ARC-Message-Signature"))
			kind = 1;
		else if (field_is(f, "ARC-Seal"))
			kind = 2;
		else
			continue;
		if (kind == 0) {
			i = aar_instance(f);
		} else {
			if (taglist_parse(f->val, f->vlen, &tl) < 0) {
				snprintf(why, whylen, "malformed %s", kind == 1 ?
				    "ARC-Message-Signature" : "ARC-Seal");
				return -1;
			}
			i = sig_instance(&tl);
		}
		if (i < 0) {
			snprintf(why, whylen, "bad instance (i=) in an ARC header field");
			return -1;
		}
		struct arc_set *s = &ch->set[i];
		const struct field **slot = kind == 0 ? &s->aar : kind == 1 ? &s->ams : &s->as;
		if (*slot != NULL) {
			snprintf(why, whylen, "two ARC header fields of one kind for i=%d", i);
			return -1;
		}
		*slot = f;
		if (kind == 1)
			s->ams_tags = tl;
		else if (kind == 2)
			s->as_tags = tl;
		if (i > ch->n)
			ch->n = i;
	}
	for (int i = 1; i <= ch->n; i++)
		if (ch->set[i].aar == NULL || ch->set[i].ams == NULL || ch->set[i].as == NULL) {
			snprintf(why, whylen, "ARC set i=%d is incomplete", i);
			return -1;
		}
	return 0;
}

/* The header fields named by h=, each instance once, bottom-up (RFC 6376 5.4.2). */
static int
ams_headers(const struct msgview *mv, const struct tag *h, int relaxed, struct buf *b)
{
	unsigned char *used = xcalloc(mv->nf ? mv->nf : 1, 1);
	size_t i = 0;

	while (h->vlen > 0 && i <= h->vlen) {
		size_t j = i, a, e;

		while (j < h->vlen && h->v[j] != ':')
			j++;
		a = i;
		e = j;
		while (a < e && is_fws(h->v[a]))
			a++;
		while (e > a && is_fws(h->v[e - 1]))
			e--;
		if (a == e) {
			i = j + 1;	/* an empty name signs nothing (the suite's h_mis_hdr) */
			continue;
		}
		for (size_t k = a; k < e; k++)
			if ((unsigned char)h->v[k] <= ' ' || h->v[k] == ':' || (unsigned char)h->v[k] > 0x7e) {
				free(used);
				return -1;
			}
		if (e - a == 8 && util_strncasecmp(h->v + a, "arc-seal", 8) == 0) {
			free(used);
			return -1;		/* RFC 8617 4.1.2: AS must not be signed by AMS */
		}
		for (size_t k = mv->nf; k-- > 0; ) {
			const struct field *f = &mv->f[k];

			if (!used[k] && f->namelen == e - a &&
			    util_strncasecmp(f->p, h->v + a, e - a) == 0) {
				used[k] = 1;
				canon_header(b, relaxed, f->p, f->len, f->namelen, 1);
				break;
			}
		}
		i = j + 1;
	}
	free(used);
	return 0;
}

/* Verify one ARC-Message-Signature. */
static enum vres
ams_verify(const struct msgview *mv, const struct arc_set *s, arc_key_fn fn, void *arg,
    char *why, size_t whylen)
{
	const struct taglist *tl = &s->ams_tags;
	const struct tag *a = tag_get(tl, "a"), *b = tag_get(tl, "b"), *bh = tag_get(tl, "bh");
	const struct tag *c = tag_get(tl, "c"), *d = tag_get(tl, "d"), *h = tag_get(tl, "h");
	const struct tag *sel = tag_get(tl, "s"), *t = tag_get(tl, "t"), *x = tag_get(tl, "x");
	const struct tag *l = tag_get(tl, "l");
	enum arc_alg alg;
	/*
	 * Without c=, RFC 6376 would mean simple/simple; the ARC test suite
	 * (ams_fields_c_na) and its reference implementation take
	 * relaxed/relaxed for ARC, and so do we.  Real sealers always say.
	 */
	int hrel = 1, brel = 1;
	long long tv = 0, xv = 0, lv = 0;
	unsigned char *want = NULL, got[32];
	unsigned int glen = 0;
	char *body = NULL;
	size_t blen;
	struct buf hb = { 0 };
	EVP_PKEY *pkey = NULL;
	enum vres ret = V_FAIL;
	long wl;

	if (a == NULL || b == NULL || bh == NULL || d == NULL || h == NULL || sel == NULL) {
		snprintf(why, whylen, "AMS i=%d lacks a required tag", sig_instance(tl));
		return V_FAIL;
	}
	if (alg_of(a, &alg) < 0 || !name_ok(d) || !name_ok(sel) ||
	    (t != NULL && tag_number(t, 12, &tv) < 0) ||
	    (x != NULL && (tag_number(x, 12, &xv) < 0 || (t != NULL && xv < tv))) ||
	    (l != NULL && tag_number(l, 18, &lv) < 0)) {
		snprintf(why, whylen, "AMS i=%d has an invalid tag value", sig_instance(tl));
		return V_FAIL;
	}
	if (x != NULL && xv < (long long)time(NULL)) {
		snprintf(why, whylen, "AMS i=%d has expired", sig_instance(tl));
		return V_FAIL;
	}
	if (c != NULL) {
		static const struct { const char *v; int h, b; } canons[] = {
			{ "simple", 0, 0 }, { "relaxed", 1, 0 },
			{ "simple/simple", 0, 0 }, { "simple/relaxed", 0, 1 },
			{ "relaxed/simple", 1, 0 }, { "relaxed/relaxed", 1, 1 },
		};
		size_t k;

		for (k = 0; k < UTIL_ARRAY_LEN(canons); k++)
			if (tag_is(c, canons[k].v))
				break;
		if (k == UTIL_ARRAY_LEN(canons)) {
			snprintf(why, whylen, "AMS i=%d has an unknown c=", sig_instance(tl));
			return V_FAIL;
		}
		hrel = canons[k].h;
		brel = canons[k].b;
	}

	/* body hash */
	if ((wl = b64_decode_fws(bh->v, bh->vlen, &want)) != 32) {
		snprintf(why, whylen, "AMS i=%d has a malformed bh=", sig_instance(tl));
		goto out;
	}
	blen = canon_body(mv->body, mv->bodylen, brel, &body);
	if (l != NULL) {
		if ((unsigned long long)lv > blen) {
			snprintf(why, whylen, "AMS i=%d: l= is longer than the body", sig_instance(tl));
			goto out;
		}
		blen = (size_t)lv;
	}
	if (EVP_Digest(body, blen, got, &glen, EVP_sha256(), NULL) != 1 ||
	    memcmp(got, want, 32) != 0) {
		snprintf(why, whylen, "AMS i=%d: body hash did not verify", sig_instance(tl));
		goto out;
	}

	/* header hash */
	if (ams_headers(mv, h, hrel, &hb) < 0) {
		snprintf(why, whylen, "AMS i=%d has an invalid h=", sig_instance(tl));
		goto out;
	}
	{
		struct buf self = { 0 };

		strip_b(&self, s->ams, tl);
		canon_header(&hb, hrel, self.p, self.n, s->ams->namelen, 0);
		free(self.p);
	}
	if ((ret = key_fetch(fn, arg, sel, d, alg, &pkey, why, whylen)) != V_OK)
		goto out;
	if (!sig_ok(pkey, alg, b, hb.p, hb.n)) {
		snprintf(why, whylen, "AMS i=%d: signature did not verify", sig_instance(tl));
		ret = V_FAIL;
	}
out:
	EVP_PKEY_free(pkey);
	free(hb.p);
	free(body);
	free(want);
	return ret;
}

/* Verify the ARC-Seal of instance i over sets 1..i. */
static enum vres
as_verify(const struct arc_chain *ch, int i, arc_key_fn fn, void *arg, char *why, size_t whylen)
{
	const struct arc_set *s = &ch->set[i];
	const struct taglist *tl = &s->as_tags;
	const struct tag *a = tag_get(tl, "a"), *b = tag_get(tl, "b"), *d = tag_get(tl, "d");
	const struct tag *sel = tag_get(tl, "s"), *t = tag_get(tl, "t");
	enum arc_alg alg;
	long long tv;
	struct buf data = { 0 }, self = { 0 };
	EVP_PKEY *pkey = NULL;
	enum vres ret;

	if (a == NULL || b == NULL || d == NULL || sel == NULL || tag_get(tl, "h") != NULL ||
	    alg_of(a, &alg) < 0 || !name_ok(d) || !name_ok(sel) ||
	    (t != NULL && tag_number(t, 12, &tv) < 0)) {
		snprintf(why, whylen, "AS i=%d is malformed", i);
		return V_FAIL;
	}
	for (int k = 1; k <= i; k++) {
		const struct arc_set *q = &ch->set[k];

		canon_relaxed(&data, q->aar->p, q->aar->len, q->aar->namelen, 1);
		canon_relaxed(&data, q->ams->p, q->ams->len, q->ams->namelen, 1);
		if (k < i)
			canon_relaxed(&data, q->as->p, q->as->len, q->as->namelen, 1);
	}
	strip_b(&self, s->as, tl);
	canon_relaxed(&data, self.p, self.n, s->as->namelen, 0);
	free(self.p);
	if ((ret = key_fetch(fn, arg, sel, d, alg, &pkey, why, whylen)) == V_OK &&
	    !sig_ok(pkey, alg, b, data.p, data.n)) {
		snprintf(why, whylen, "AS i=%d: seal did not verify", i);
		ret = V_FAIL;
	}
	EVP_PKEY_free(pkey);
	free(data.p);
	return ret;
}

void
arc_verify(const char *msg, size_t len, arc_key_fn fn, void *arg, struct arc_outcome *out)
{
	struct msgview mv;
	struct arc_chain *ch = xcalloc(1, sizeof(*ch));
	enum vres v;

	memset(out, 0, sizeof(*out));
	msg_parse(msg, len, &mv);
	out->result = AUTH_FAIL;
	if (chain_collect(&mv, ch, out->detail, sizeof(out->detail)) < 0)
		goto done;
	out->instances = ch->n;
	if (ch->n == 0) {
		out->result = AUTH_NONE;
		goto done;
	}
	{
		const struct tag *d = tag_get(&ch->set[ch->n].as_tags, "d");
		if (d != NULL)
			snprintf(out->sealer, sizeof(out->sealer), "%.*s", (int)d->vlen, d->v);
	}
	if (tag_is(tag_get(&ch->set[ch->n].as_tags, "cv"), "fail")) {
		snprintf(out->detail, sizeof(out->detail), "the newest seal (i=%d) says cv=fail", ch->n);
		goto done;
	}
	for (int i = 1; i <= ch->n; i++) {
		const char *want = i == 1 ? "none" : "pass";

		if (!tag_is(tag_get(&ch->set[i].as_tags, "cv"), want)) {
			snprintf(out->detail, sizeof(out->detail), "AS i=%d must say cv=%s", i, want);
			goto done;
		}
	}
	v = ams_verify(&mv, &ch->set[ch->n], fn, arg, out->detail, sizeof(out->detail));
	if (v != V_OK) {
		if (v == V_TEMP)
			out->result = AUTH_TEMPERROR;
		goto done;
	}
	for (int i = ch->n; i >= 1; i--) {
		v = as_verify(ch, i, fn, arg, out->detail, sizeof(out->detail));
		if (v != V_OK) {
			if (v == V_TEMP)
				out->result = AUTH_TEMPERROR;
			goto done;
		}
	}
	out->result = AUTH_PASS;
	out->detail[0] = '\0';
done:
	free(mv.f);
	free(ch);
}

void
arc_report(const struct arc_outcome *o, struct scan_result *r)
{
	switch (o->result) {
	case AUTH_PASS:
		result_add_auth(r, "arc=pass");
		result_add(r, "ARC_PASS", "ARC chain of %d hop%s validated, newest seal by %s",
		    o->instances, o->instances == 1 ? "" : "s", o->sealer);
		break;
	case AUTH_TEMPERROR:
		result_add_auth(r, "arc=temperror");
		result_add(r, "ARC_TEMPERROR", "%s", o->detail);
		break;
	case AUTH_NONE:
		result_add_auth(r, "arc=none");
		result_add(r, "ARC_NONE", "no ARC header fields");
		break;
	default:
		result_add_auth(r, "arc=fail");
		result_add(r, "ARC_FAIL", "%s", o->detail[0] ? o->detail : "ARC chain is broken");
		break;
	}
}
