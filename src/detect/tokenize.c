/*
 * tokenize.c - the features of a parsed message (see tokenize.h).
 *
 * What is read, with the prefix its features get:
 *   s:   subject words, with pairs (s2:)
 *   b:   visible body text (text/plain parts, then HTML text), with pairs (b2:)
 *   b!:  punctuation and symbols of the body ("!", "$", "¥"), without pairs
 *   f: fn: From domain and display-name words; rt: Reply-To domain and
 *        whether it differs from From
 *   al:  whether From's registrable domain is that of Return-Path (al:rp:),
 *        of the Message-ID (al:mid:), of a relay's name (al:rcv:), of
 *        List-Id (al:lid:) and List-Unsubscribe (al:lun:)
 *   mr:  a machine report (DMARC aggregate, TLS-RPT; detect_report.h)
 *   rn: rb: ri: r24:  Received "from" name, "by" name, IP and its /24
 *   hn:  names of the top-level header fields
 *   h:NAME:  words of the other header fields (To, Cc, List-Id, X-*, ...);
 *        none of X-Sekisho-*, sekisho's own verdict on a delivered copy
 *   xm:  X-Mailer / User-Agent, whole and word by word
 *   ct: cs: ce:  content types, charsets, transfer encodings of the parts
 *   an: ax: at:  attachment name words, extension, type
 *   uh: ud: us: up:  URL hosts, registrable domains, schemes, path words
 *   df: lm:  parser defects and limits hit
 *   g:   4-byte strings of the first TOK_NGRAM_BYTES bytes of the raw message
 *
 * All but the body's words (b:, b2:, b!:) and g: are weighted: each sets
 * TOK_HEADER_WEIGHT buckets.  Measured on the SpamAssassin split (see
 * bench/accuracy/README.md): the weight and the n-grams took (1-ROCA)% from
 * about 0.03 to about 0.02.
 *
 * Each string is hashed with SipHash-2-4 (libsodium crypto_shorthash) under
 * the model's key; a word pair is the two word hashes and the distance
 * mixed together, so pairs cost no extra hashing of text.  The top bits of
 * the 64-bit hash pick the bucket.
 *
 * Untrusted input: every text field is cut at TOK_MAX_TEXT bytes, a message
 * yields at most TOK_MAX_FEATURES features, words at most TOK_MAX_WORD
 * UTF-16 units; invalid UTF-8 becomes U+FFFD.  Nothing here fails: a text
 * ICU cannot normalise is skipped and the rest of the message still counts.
 */
#include "detect/tokenize.h"
#include "detect/detect_report.h"
#include "util/util.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/ubrk.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#define FEATURE_MAX	256	/* bytes of one feature string */
#define MAX_URLS	200
#define MAX_RECEIVED	8
#define MAX_PATH_WORDS	8

struct tokenizer {
	unsigned char key[crypto_shorthash_KEYBYTES];
	unsigned bits;
	const UNormalizer2 *nfkc;
	UBreakIterator *words;	/* template, cloned per call */
};

/* A word remembered for the pairs that follow it. */
struct ring_word {
	uint64_t h;
	char s[4 * TOK_MAX_WORD + 1];
};

struct sink {
	const struct tokenizer *tk;
	tok_explain_fn explain;	/* explain mode when set */
	void *arg;
	uint64_t *h;		/* hash mode: the features so far */
	size_t n, cap;
	size_t count;		/* features in either mode */
	struct ring_word ring[TOK_OSB_WINDOW];
	int copies;		/* extra buckets per feature (header weight - 1) */
};

struct tokenizer *
tokenizer_new(const uint8_t key[TOK_KEY_SIZE], unsigned bits, char *err, size_t errlen)
{
	struct tokenizer *tk;
	UErrorCode ec = U_ZERO_ERROR;

	if (bits < 16 || bits > 28) {
		snprintf(err, errlen, "tokenizer: table bits %u not in 16..28", bits);
		return NULL;
	}
	if (sodium_init() < 0) {
		snprintf(err, errlen, "tokenizer: libsodium failed to start");
		return NULL;
	}
	tk = xcalloc(1, sizeof(*tk));
	memcpy(tk->key, key, sizeof(tk->key));
	tk->bits = bits;
	tk->nfkc = unorm2_getNFKCCasefoldInstance(&ec);
	if (U_SUCCESS(ec))
		tk->words = ubrk_open(UBRK_WORD, "ja", NULL, 0, &ec);
	if (U_FAILURE(ec)) {
		snprintf(err, errlen, "tokenizer: ICU: %s", u_errorName(ec));
		tokenizer_free(tk);
		return NULL;
	}
	return tk;
}

void
tokenizer_free(struct tokenizer *tk)
{
	if (tk == NULL)
		return;
	if (tk->words != NULL)
		ubrk_close(tk->words);
	free(tk);
}

void
tok_features_clear(struct tok_features *f)
{
	if (f == NULL)
		return;
	free(f->idx);
	memset(f, 0, sizeof(*f));
}

static uint64_t
hash_bytes(const struct tokenizer *tk, const char *s, size_t len)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t h;

	crypto_shorthash(out, (const unsigned char *)s, len, tk->key);
	memcpy(&h, out, sizeof(h));
	return h;
}

uint32_t
tokenize_bucket(const struct tokenizer *tk, const char *feature, size_t len)
{
	return (uint32_t)(hash_bytes(tk, feature, len) >> (64 - tk->bits));
}

static int
sink_full(const struct sink *s)
{
	return s->count >= TOK_MAX_FEATURES;
}

/*
 * Add one feature: its hash h, and `copies` more buckets for a weighted
 * one, each from its own hash (weight without a value per feature, and
 * collisions average out).  In explain mode the feature's name and buckets
 * go to the callback instead.
 */
static void
sink_push(struct sink *s, uint64_t h, const char *name, size_t len)
{
	s->count++;
	if (s->explain != NULL) {
		uint32_t b[TOK_HEADER_WEIGHT];
		unsigned shift = 64 - s->tk->bits;

		b[0] = (uint32_t)(h >> shift);
		for (int k = 1; k <= s->copies; k++)
			b[k] = (uint32_t)(util_mix64(h + (uint64_t)k) >> shift);
		s->explain(s->arg, name, len, b, (size_t)s->copies + 1);
		return;
	}
	if (s->n + 1 + (size_t)s->copies > s->cap) {
		s->cap = s->cap ? s->cap * 2 : 1024;
		s->h = xrealloc(s->h, s->cap * sizeof(*s->h));
	}
	s->h[s->n++] = h;
	for (int k = 1; k <= s->copies; k++)
		s->h[s->n++] = util_mix64(h + (uint64_t)k);
}

/* One feature "prefix:value"; returns its hash. */
static uint64_t
feature(struct sink *s, const char *prefix, const char *value, size_t len)
{
	char buf[FEATURE_MAX];
	size_t plen = strlen(prefix);
	uint64_t h;

	if (sink_full(s))
		return 0;
	if (len > sizeof(buf) - plen - 2)
		len = sizeof(buf) - plen - 2;
	memcpy(buf, prefix, plen);
	buf[plen] = ':';
	memcpy(buf + plen + 1, value, len);
	len += plen + 1;
	h = hash_bytes(s->tk, buf, len);
	sink_push(s, h, buf, len);
	return h;
}

static void
featuref(struct sink *s, const char *prefix, const char *value)
{
	if (value != NULL && *value != '\0')
		feature(s, prefix, value, strlen(value));
}

/* A lower-cased (ASCII) copy of at most FEATURE_MAX - 1 bytes into buf. */
static const char *
lower_into(char *buf, size_t size, const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < size; i++)
		buf[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] + 32) : s[i];
	buf[i] = '\0';
	return buf;
}

/*
 * The pair of the current word with the one d words back: the two word
 * hashes and the distance mixed, so pairs cost no hashing of text.  In
 * explain mode the pair is spelled out as "b2:d:earlier later".
 */
static void
pair(struct sink *s, const char *pprefix, const struct ring_word *a,
    const struct ring_word *b, unsigned d)
{
	uint64_t h = util_mix64(a->h * 0x9e3779b97f4a7c15ULL + b->h + d * 0xc2b2ae3d27d4eb4fULL);
	char buf[FEATURE_MAX];
	int n = 0;

	if (sink_full(s))
		return;
	if (s->explain != NULL) {
		n = snprintf(buf, sizeof(buf), "%s:%u:%s %s", pprefix, d, a->s, b->s);
		if (n < 0)
			n = 0;
		if ((size_t)n >= sizeof(buf))
			n = (int)sizeof(buf) - 1;
	}
	sink_push(s, h, buf, (size_t)n);
}

/* UTF-8 in, NFKC-casefolded UTF-16 out (malloc'ed); NULL on failure. */
static UChar *
normalise(const struct tokenizer *tk, const char *text, size_t len, int32_t *outlen)
{
	UErrorCode ec = U_ZERO_ERROR;
	UChar *u16, *norm;
	int32_t n16 = 0, cap, n;

	if (len > TOK_MAX_TEXT)
		len = TOK_MAX_TEXT;
	u16 = xmalloc((len + 1) * sizeof(*u16));
	u_strFromUTF8WithSub(u16, (int32_t)len + 1, &n16, text, (int32_t)len,
	    0xfffd, NULL, &ec);
	if (U_FAILURE(ec)) {
		free(u16);
		return NULL;
	}
	cap = n16 + n16 / 4 + 16;
	norm = xmalloc((size_t)cap * sizeof(*norm));
	n = unorm2_normalize(tk->nfkc, u16, n16, norm, cap, &ec);
	if (ec == U_BUFFER_OVERFLOW_ERROR) {
		ec = U_ZERO_ERROR;
		cap = n + 1;
		norm = xrealloc(norm, (size_t)cap * sizeof(*norm));
		n = unorm2_normalize(tk->nfkc, u16, n16, norm, cap, &ec);
	}
	free(u16);
	if (U_FAILURE(ec)) {
		free(norm);
		return NULL;
	}
	*outlen = n;
	return norm;
}

/* Is a segment the iterator left out worth a feature: "!", "$", "¥"? */
static int
symbol_char(UChar32 c)
{
	int8_t t = u_charType(c);

	return t == U_CURRENCY_SYMBOL || t == U_MATH_SYMBOL || t == U_OTHER_SYMBOL ||
	    c == '!' || c == '%' || c == '?' || c == '@' || c == '#' || c == '*';
}

/*
 * Words of one text.  emit_word is called with each word in UTF-8; when
 * prefix is set, each word and its pairs become features of the sink.
 */
static size_t
text_words(struct sink *s, const char *prefix, const char *pprefix,
    const char *text, size_t len, tok_emit_fn emit_word, void *arg)
{
	const struct tokenizer *tk = s->tk;
	UErrorCode ec = U_ZERO_ERROR;
	UBreakIterator *bi;
	UChar *u;
	int32_t ulen, start, end;
	size_t nwords = 0, head = 0;
	char sym[FEATURE_MAX];

	if (text == NULL || len == 0)
		return 0;
	if ((u = normalise(tk, text, len, &ulen)) == NULL)
		return 0;
	bi = ubrk_clone(tk->words, &ec);
	if (U_SUCCESS(ec))
		ubrk_setText(bi, u, ulen, &ec);
	if (U_FAILURE(ec)) {
		if (bi != NULL)
			ubrk_close(bi);
		free(u);
		return 0;
	}
	snprintf(sym, sizeof(sym), "%s!", prefix ? prefix : "");
	for (start = ubrk_first(bi); (end = ubrk_next(bi)) != UBRK_DONE; start = end) {
		struct ring_word *w;
		char word[4 * TOK_MAX_WORD + 1];
		int32_t wl = end - start, blen = 0;

		if (prefix != NULL && sink_full(s))
			break;
		if (ubrk_getRuleStatus(bi) < UBRK_WORD_NONE_LIMIT) {
			UChar32 c;
			int32_t i = 0;

			U16_NEXT(u + start, i, wl, c);
			if (prefix != NULL && wl == i && symbol_char(c)) {
				ec = U_ZERO_ERROR;
				u_strToUTF8(word, sizeof(word), &blen, u + start, wl, &ec);
				if (U_SUCCESS(ec))
					feature(s, sym, word, (size_t)blen);
			}
			continue;
		}
		if (wl > TOK_MAX_WORD) {
			wl = TOK_MAX_WORD;
			if (U16_IS_LEAD(u[start + wl - 1]))
				wl--;
		}
		ec = U_ZERO_ERROR;
		u_strToUTF8WithSub(word, sizeof(word), &blen, u + start, wl, 0xfffd, NULL, &ec);
		if (U_FAILURE(ec))
			continue;
		word[blen] = '\0';
		nwords++;
		if (emit_word != NULL)
			emit_word(arg, word, (size_t)blen);
		if (prefix == NULL)
			continue;
		/* The ring holds the last TOK_OSB_WINDOW words; head is the next slot. */
		w = &s->ring[head % TOK_OSB_WINDOW];
		{
			struct ring_word cur;

			cur.h = feature(s, prefix, word, (size_t)blen);
			memcpy(cur.s, word, (size_t)blen + 1);
			if (pprefix != NULL)
				for (unsigned d = 1; d <= TOK_OSB_WINDOW && d <= head; d++)
					pair(s, pprefix, &s->ring[(head - d) % TOK_OSB_WINDOW],
					    &cur, d);
			*w = cur;
		}
		head++;
	}
	ubrk_close(bi);
	free(u);
	return nwords;
}

static void
text_features(struct sink *s, const char *prefix, const char *pprefix, const char *text)
{
	if (text != NULL)
		text_words(s, prefix, pprefix, text, strlen(text), NULL, NULL);
}

size_t
tokenize_words(const struct tokenizer *tk, const char *text, size_t len,
    tok_emit_fn emit, void *arg)
{
	struct sink s = { .tk = tk };

	return text_words(&s, NULL, NULL, text, len, emit, arg);
}

static const char *
header_value(const struct message *m, const char *name)
{
	for (size_t i = 0; i < m->nheaders; i++)
		if (m->headers[i].name != NULL && util_strcasecmp(m->headers[i].name, name) == 0)
			return m->headers[i].value ? m->headers[i].value : m->headers[i].raw;
	return NULL;
}

static void
address_features(struct sink *s, const struct message *m)
{
	char buf[FEATURE_MAX];
	const char *fromdom = NULL;

	for (size_t i = 0; i < m->nfrom && i < 4; i++) {
		if (m->from[i].domain != NULL) {
			fromdom = m->from[i].domain;
			featuref(s, "f", lower_into(buf, sizeof(buf), fromdom));
		}
		if (m->from[i].display != NULL && *m->from[i].display != '\0')
			text_features(s, "fn", NULL, m->from[i].display);
		else
			featuref(s, "fn", "(none)");
	}
	if (m->nfrom == 0)
		featuref(s, "f", "(none)");
	for (size_t i = 0; i < m->nreply_to && i < 4; i++) {
		const char *d = m->reply_to[i].domain;

		if (d == NULL)
			continue;
		featuref(s, "rt", lower_into(buf, sizeof(buf), d));
		featuref(s, "rt", fromdom != NULL && util_strcasecmp(d, fromdom) == 0 ?
		    "(same)" : "(other)");
	}
	snprintf(buf, sizeof(buf), "%zu", m->nto + m->ncc > 9 ? 9 : m->nto + m->ncc);
	featuref(s, "nrcpt", buf);
}

static void
received_features(struct sink *s, const struct message *m)
{
	char buf[FEATURE_MAX];

	for (size_t i = 0; i < m->nreceived && i < MAX_RECEIVED; i++) {
		const struct msg_received *r = &m->received[i];

		if (r->from_name != NULL)
			featuref(s, "rn", lower_into(buf, sizeof(buf), r->from_name));
		if (r->by != NULL)
			featuref(s, "rb", lower_into(buf, sizeof(buf), r->by));
		if (r->from_ip != NULL) {
			const char *dot = strrchr(r->from_ip, '.');

			featuref(s, "ri", r->from_ip);
			if (dot != NULL && strchr(r->from_ip, ':') == NULL)
				feature(s, "r24", r->from_ip, (size_t)(dot - r->from_ip));
		}
	}
	snprintf(buf, sizeof(buf), "%zu", m->nreceived > 15 ? 15 : m->nreceived);
	featuref(s, "nrcvd", buf);
}

/* The registrable domain of the address in a header value, or NULL. */
static char *
header_domain(const char *v)
{
	const char *at, *e;
	char *host, *reg;

	if (v == NULL || (at = strrchr(v, '@')) == NULL)
		return NULL;
	at++;
	e = at + strcspn(at, "> \t\r\n;");
	if (e == at)
		return NULL;
	host = xstrndup(at, (size_t)(e - at));
	reg = message_registrable_domain(host);
	free(host);
	return reg;
}

/* The registrable domain of the host in "<list.example.org>" (List-Id),
 * "<mailto:x@example.org>" or "<https://host/...>" (List-Unsubscribe). */
static char *
list_domain(const char *v, int list_id)
{
	const char *p, *e;
	char *host, *reg;

	if (v == NULL)
		return NULL;
	if (list_id) {
		if ((p = strrchr(v, '<')) == NULL)
			return NULL;
		p++;
	} else if ((p = strstr(v, "mailto:")) != NULL) {
		if ((p = strchr(p, '@')) == NULL)
			return NULL;
		p++;
	} else if ((p = strstr(v, "://")) != NULL)
		p += 3;
	else
		return NULL;
	e = p + strcspn(p, ">/?:; \t\r\n");
	if (e == p)
		return NULL;
	host = xstrndup(p, (size_t)(e - p));
	reg = message_registrable_domain(host);
	free(host);
	return reg;
}

/* Mailing-list mail: whether List-Id and List-Unsubscribe name the sender's
 * domain or another ("al:lid:same", "al:lun:other"), and whether the message
 * is a machine report (detect_report.h: "mr:dmarc"). */
static void
list_features(struct sink *s, const struct message *m, const char *from)
{
	char *lid = list_domain(message_header(m, "List-Id"), 1);
	char *lun = list_domain(message_header(m, "List-Unsubscribe"), 0);

	if (lid != NULL || lun != NULL) {
		featuref(s, "al:lid", lid == NULL ? "none" :
		    util_strcasecmp(lid, from) == 0 ? "same" : "other");
		featuref(s, "al:lun", lun == NULL ? "none" :
		    util_strcasecmp(lun, from) == 0 ? "same" :
		    lid != NULL && util_strcasecmp(lun, lid) == 0 ? "list" : "other");
	}
	free(lid);
	free(lun);
	switch (report_recognize(m, NULL, NULL, 0)) {
	case REPORT_DMARC:
		featuref(s, "mr", "dmarc");
		break;
	case REPORT_TLSRPT:
		featuref(s, "mr", "tlsrpt");
		break;
	default:
		break;
	}
}

/* Whether the sender's domain agrees with the envelope, the relays and the
 * Message-ID: "al:rp:same", "al:rcv:seen", "al:mid:other"... */
static void
alignment_features(struct sink *s, const struct message *m)
{
	char *from = NULL, *d;
	int seen = 0;

	for (size_t i = 0; i < m->nfrom && from == NULL; i++)
		if (m->from[i].domain != NULL)
			from = message_registrable_domain(m->from[i].domain);
	if (from == NULL) {
		featuref(s, "al", "nofrom");
		return;
	}
	d = header_domain(message_header(m, "Return-Path"));
	featuref(s, "al:rp", d == NULL ? "none" : util_strcasecmp(d, from) == 0 ? "same" : "other");
	free(d);
	d = header_domain(message_header(m, "Message-ID"));
	featuref(s, "al:mid", d == NULL ? "none" : util_strcasecmp(d, from) == 0 ? "same" : "other");
	free(d);
	for (size_t i = 0; i < m->nreceived && i < MAX_RECEIVED && !seen; i++) {
		const char *n = m->received[i].from_name;
		size_t nl = n != NULL ? strlen(n) : 0, fl = strlen(from);

		seen = nl >= fl && util_strcasecmp(n + nl - fl, from) == 0 &&
		    (nl == fl || n[nl - fl - 1] == '.');
	}
	featuref(s, "al:rcv", seen ? "seen" : "unseen");
	list_features(s, m, from);
	free(from);
}

/*
 * Header fields whose words are read as "h:NAME:word".  Those with features
 * of their own (Subject, From, Reply-To, Received, X-Mailer) are not read
 * twice, and the ones that differ in every message whatever it says
 * (Message-ID, Date, signatures) would only fill the table.
 */
static int
skip_header(const char *lname)
{
	static const char *const skip[] = {
		"subject", "from", "reply-to", "received", "x-mailer", "user-agent",
		"message-id", "date", "dkim-signature", "domainkey-signature",
		"arc-seal", "arc-message-signature", "content-length", "lines",
	};

	for (size_t i = 0; i < UTIL_ARRAY_LEN(skip); i++)
		if (strcmp(lname, skip[i]) == 0)
			return 1;
	return 0;
}

static void
header_features(struct sink *s, const struct message *m)
{
	char buf[FEATURE_MAX];
	const char *v;

	for (size_t i = 0; i < m->nheaders && i < 200; i++) {
		const struct msg_header *h = &m->headers[i];

		if (h->name == NULL)
			continue;
		lower_into(buf, sizeof(buf), h->name);
		/* sekisho's own verdict (X-Sekisho-Result on a delivered copy
		 * that a user reports) is never a feature: the classifier must
		 * not learn its own output */
		if (strncmp(buf, "x-sekisho", 9) == 0)
			continue;
		featuref(s, "hn", buf);
		if (!skip_header(buf)) {
			char pfx[64];

			snprintf(pfx, sizeof(pfx), "h:%.40s", buf);
			text_features(s, pfx, NULL, h->value != NULL ? h->value : h->raw);
		}
	}
	if ((v = header_value(m, "X-Mailer")) != NULL ||
	    (v = header_value(m, "User-Agent")) != NULL) {
		featuref(s, "xm", lower_into(buf, sizeof(buf), v));
		text_features(s, "xm", NULL, v);
	}
}

static void
part_features(struct sink *s, const struct message *m)
{
	char buf[FEATURE_MAX];

	for (size_t i = 0; i < m->nparts && i < 100; i++) {
		const struct msg_part *p = &m->parts[i];

		featuref(s, "ct", p->content_type);
		featuref(s, "cs", p->charset);
		featuref(s, "ce", p->encoding);
		if (!p->is_attachment)
			continue;
		featuref(s, "at", p->content_type);
		if (p->filename != NULL) {
			const char *dot = strrchr(p->filename, '.');

			text_features(s, "an", NULL, p->filename);
			if (dot != NULL && dot[1] != '\0')
				featuref(s, "ax", lower_into(buf, sizeof(buf), dot + 1));
		}
	}
	if (m->html_text != NULL && *m->html_text != '\0')
		featuref(s, "mime", m->text != NULL && *m->text != '\0' ? "text+html" : "html");
	snprintf(buf, sizeof(buf), "%x", m->defects);
	featuref(s, "df", buf);
	snprintf(buf, sizeof(buf), "%x", m->limits);
	featuref(s, "lm", buf);
}

/* Words of a URL's path and query: "/login/verify.php?id=1" -> login verify php id 1 */
static void
url_path_features(struct sink *s, const char *url)
{
	const char *p = strstr(url, "://");
	char buf[FEATURE_MAX];
	int words = 0;

	p = p != NULL ? p + 3 : url;
	p += strcspn(p, "/?#");
	while (*p != '\0' && words < MAX_PATH_WORDS) {
		size_t len;

		p += strspn(p, "/?#&=.-_+%:;,~");
		len = strcspn(p, "/?#&=.-_+%:;,~");
		if (len == 0)
			break;
		if (len >= sizeof(buf))
			len = sizeof(buf) - 1;
		memcpy(buf, p, len);
		buf[len] = '\0';
		featuref(s, "up", lower_into(buf, sizeof(buf), buf));
		p += strcspn(p, "/?#&=.-_+%:;,~");
		words++;
	}
}

static void
url_features(struct sink *s, const struct message *m)
{
	static const char *const source[] = { "text", "href", "form", "img", "script" };

	for (size_t i = 0; i < m->nurls && i < MAX_URLS; i++) {
		const struct msg_url *u = &m->urls[i];

		featuref(s, "uh", u->host);
		featuref(s, "ud", u->domain);
		featuref(s, "us", u->scheme);
		if ((unsigned)u->source < UTIL_ARRAY_LEN(source))
			featuref(s, "uo", source[u->source]);
		if (u->host_is_ip)
			featuref(s, "uip", "yes");
		if (u->url != NULL)
			url_path_features(s, u->url);
	}
}

/*
 * Overlapping 4-byte strings of the start of the raw message (mostly its
 * header block): they catch what no tokenizer names -- odd encodings,
 * mailer fingerprints, the shape of Received lines -- as in Sculley's
 * character n-gram filters.
 */
static void
ngram_features(struct sink *s, const struct message *m)
{
	size_t len = m->rawlen < TOK_NGRAM_BYTES ? m->rawlen : TOK_NGRAM_BYTES;

	if (m->raw == NULL)
		return;
	for (size_t i = 0; i + TOK_NGRAM <= len && !sink_full(s); i++)
		feature(s, "g", m->raw + i, TOK_NGRAM);
}

static void
message_features(struct sink *s, const struct message *m)
{
	ngram_features(s, m);
	/* Everything but the body words weighs TOK_HEADER_WEIGHT: a long
	 * newsletter's words must not drown who sent it and how. */
	s->copies = TOK_HEADER_WEIGHT - 1;
	if (m->subject != NULL && *m->subject != '\0')
		text_features(s, "s", "s2", m->subject);
	else
		featuref(s, "s", "(none)");
	address_features(s, m);
	alignment_features(s, m);
	header_features(s, m);
	received_features(s, m);
	part_features(s, m);
	url_features(s, m);
	/* The body last: when the feature limit is hit, it is the body's tail
	 * that is cut, never the headers. */
	s->copies = 0;
	text_features(s, "b", "b2", m->text);
	text_features(s, "b", "b2", m->html_text);
}

static int
u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

void
tokenize_message(const struct tokenizer *tk, const struct message *msg,
    struct tok_features *out)
{
	struct sink s = { .tk = tk };
	size_t n = 0;

	message_features(&s, msg);
	if (out->cap < s.n) {
		out->cap = s.n;
		out->idx = xrealloc(out->idx, out->cap * sizeof(*out->idx));
	}
	for (size_t i = 0; i < s.n; i++)
		out->idx[i] = (uint32_t)(s.h[i] >> (64 - tk->bits));
	if (s.n > 0)
		qsort(out->idx, s.n, sizeof(*out->idx), u32_cmp);
	for (size_t i = 0; i < s.n; i++)
		if (n == 0 || out->idx[n - 1] != out->idx[i])
			out->idx[n++] = out->idx[i];
	out->n = n;
	free(s.h);
}

void
tokenize_message_explain(const struct tokenizer *tk, const struct message *msg,
    tok_explain_fn explain, void *arg)
{
	struct sink s = { .tk = tk, .explain = explain, .arg = arg };

	message_features(&s, msg);
}
