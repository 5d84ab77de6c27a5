/*
 * detect_phish.h - phishing and targeted-attack checks: the pieces.
 *
 * Two detectors live behind this header:
 *   detect_phish  (detect_phish.c) links, lookalike domains, sender spoofing,
 *                 business-email compromise and local threat feeds; no network
 *   detect_dnsbl  (detect_dnsbl.c) DNS blocklists for the client address and
 *                 for link domains, through the shared resolver
 * The functions below are the parts they are built from, exported so that
 * tests/unit/test_phish.c can check each one as a table.  Every function is
 * pure over its arguments unless it says otherwise, and safe to call from
 * several scan threads at once on shared, read-only sets.
 */
#ifndef SEKISHO_DETECT_PHISH_H
#define SEKISHO_DETECT_PHISH_H

#include <stddef.h>
#include <stdint.h>

#include "detect/detect.h"

extern const struct detector detect_phish;
extern const struct detector detect_dnsbl;

/* ---- text (detect_lookalike.c) ---- */

/* NFKC case-folded UTF-8 (full-width to ASCII, zero-width characters
 * dropped, lower case).  malloc'ed; never NULL (invalid input is copied). */
char *phish_fold(const char *utf8);

/* Damerau-Levenshtein distance (optimal string alignment) between two
 * strings, counted in code points; stops early and returns max + 1 when the
 * distance is above max. */
int phish_distance(const char *a, const char *b, int max);

/* The ICU confusable skeleton of a UTF-8 string, lower-cased, so that
 * "аpple" (Cyrillic а), "paypa1", "rnicrosoft" and "amaz0n" give the
 * skeletons of "apple", "paypal", "microsoft" and "amazon".  malloc'ed. */
char *phish_skeleton(const char *utf8);

/* Does this host name (UTF-8, one label or more) mix scripts the way no
 * real name does (ICU's highly restrictive level: Latin with Cyrillic,
 * Greek ...; Latin with Japanese is allowed), or hold invisible characters?
 * 1 yes, 0 no. */
int phish_mixed_script(const char *utf8_host);

/* ---- name sets (detect_lookalike.c) ---- */

/* A set of lower-case names (domains, URLs) with parent-domain look-up. */
struct domset;

struct domset *domset_new(void);
void domset_free(struct domset *s);
void domset_add(struct domset *s, const char *name);
/* One name a line, '#' comments; lines may carry more words after the name
 * (ignored).  0, or -1 with err. */
int domset_load(struct domset *s, const char *path, char *err, size_t errlen);
int domset_has(const struct domset *s, const char *name);
/* host itself or one of its parent domains is in the set: the name that
 * matched, or NULL. */
const char *domset_match(const struct domset *s, const char *host);
size_t domset_count(const struct domset *s);

/* ---- brands and protected domains (detect_lookalike.c) ---- */

struct brand {
	char *name;		/* "amazon"; a protected domain's own name for own ones */
	char **domains;		/* its registrable domains, NULL-terminated */
	size_t ndomains;
	char **words;		/* folded words that name it, NULL-terminated */
	size_t nwords;
	char **wskel;		/* skeletons of the words, for look-alike spellings */
	char **names;		/* registrable names (amazon, paypal) whose country
				 * domains are taken as the brand's (amazon.fr) */
	size_t nnames;
	int own;		/* the organisation's own (local_domains, protected_domains) */
};

struct brandset;

struct brandset *brandset_new(void);
void brandset_free(struct brandset *bs);
/*
 * rules/brands.txt: one brand a line,
 *     name | domain domain ... | word, word, ...
 * '#' starts a comment.  0, or -1 with err ("file:line: message").
 */
int brandset_load(struct brandset *bs, const char *path, char *err, size_t errlen);
/* One of the organisation's own domains (local_domains, protected_domains). */
void brandset_add_own(struct brandset *bs, const char *domain);
size_t brandset_count(const struct brandset *bs);

enum look_kind {
	LOOK_NONE = 0,
	LOOK_SAME,		/* the host belongs to a protected domain */
	LOOK_TYPO,		/* edit distance 1 or 2 on the name label */
	LOOK_HOMOGLYPH,		/* same confusable skeleton (аpple, rnicrosoft, paypa1) */
	LOOK_ADDED,		/* the name with words added (amazon-secure, smbc-card-login) */
	LOOK_OTHER_TLD,		/* the same name under another suffix (amazon-jp.com is ADDED) */
	LOOK_SUBDOMAIN,		/* the protected domain as a subdomain (paypal.com.evil.net) */
};

struct look_match {
	enum look_kind kind;
	const struct brand *brand;
	const char *domain;	/* the protected domain it imitates or belongs to */
	int distance;		/* for LOOK_TYPO */
};

const char *look_kind_name(enum look_kind k);

/*
 * Compare a host (ASCII lower-case or punycode; host_utf8 the decoded form
 * or NULL) with every protected domain.  LOOK_SAME wins over any lookalike;
 * otherwise the first lookalike found.  *m is filled unless LOOK_NONE.
 */
enum look_kind brandset_lookalike(const struct brandset *bs, const char *host,
    const char *host_utf8, struct look_match *m);

/* The brand that owns this registrable domain, or NULL. */
const struct brand *brandset_owner(const struct brandset *bs, const char *domain);

/*
 * A brand named in a display name or anchor text: folded is phish_fold()ed
 * text; a word matches on word boundaries (ASCII letters and digits around
 * it end a match; Japanese needs none), and text spelled out letter by
 * letter ("C o i n b a s e") is read without its spaces.  *word gets the
 * word that matched.  NULL when none.
 */
const struct brand *brandset_named(const struct brandset *bs, const char *folded,
    const char **word);
/* The same over the confusable skeleton of the text as written, so that
 * "PayPaI" (capital i), "Banco do BrasiI" and "Аpple" (Cyrillic) name their
 * brands.  text: UTF-8, not folded. */
const struct brand *brandset_named_lookalike(const struct brandset *bs, const char *text,
    const char **word);

/*
 * Does a display name (folded) name the sender's own organisation?  The
 * first label of the registrable domain of `domain`, 4 characters or more,
 * naming no brand and not containing brand_word (the brand word the name
 * matched; "myjcbs" holds "jcb"), as a word of the name: "Lockergnome
 * Apple Core" from subscriptions@lockergnome.com.  A brand beside it is
 * then the topic of a newsletter, not whom the mail claims to be.
 */
int phish_name_names_sender(const struct brandset *bs, const char *folded,
    const char *domain, const char *brand_word);

/* Is domain one of the brand's, or a subdomain of one, or the brand's name
 * under a country suffix (yahoo.com.au, google.de)? */
int brand_owns(const struct brand *b, const char *domain);

/* ---- URLs (detect_url.c) ---- */

/* What a URL's authority says, read as a browser reads it. */
struct url_parts {
	char host[256];		/* lower-case, percent-decoded, no trailing dot */
	int is_ip;		/* dotted quad, IPv6 literal or numeric form */
	int numeric;		/* an IPv4 address written as one number, hex or octal */
	int userinfo_host;	/* a user part that looks like a host name (a@b trick) */
	char userinfo[256];
};

/* Parse an absolute http(s)/ftp URL.  0, or -1 when it has no host. */
int phish_url_parts(const char *url, struct url_parts *p);

/*
 * The link hidden inside a redirector URL: a query (or fragment) parameter
 * whose value decodes to an http(s) URL (google.com/url?q=, safelinks
 * ?url=, l.facebook.com/l.php?u=), Proofpoint URL Defense v2/v3.  When
 * redirectors is not NULL only hosts in it are unwrapped; NULL unwraps any
 * URL.  malloc'ed, or NULL when there is none.
 */
char *phish_unwrap(const struct domset *redirectors, const char *url);

/*
 * The host an anchor text shows: the text is a URL ("https://www.x.jp/a"),
 * or a bare host name whose top-level domain exists ("www.paypal.com",
 * "Amazon.co.jp").  Text with other words around it shows no host.
 * malloc'ed lower-case host, or NULL.
 */
char *phish_anchor_host(const char *text);

/* Does the top-level label of host exist (public suffix list, no '*' rule)? */
int phish_known_tld(const char *host);

/* ---- business-email compromise (detect_bec.c) ---- */

#define BEC_CHANGE	0x01	/* a request to change bank or payment details */
#define BEC_ACCOUNT	0x02	/* bank account details: IBAN, SWIFT/BIC, 支店 普通 1234567 */
#define BEC_PAYMENT	0x04	/* payment words: 請求書, 振込, invoice, wire transfer */
#define BEC_URGENT	0x08	/* urgency or secrecy: 至急, 内密, urgent, confidential */

struct bec_findings {
	unsigned flags;
	char change[64];	/* the phrase that matched, for the reason */
	char account[64];
	char payment[64];
	char urgent[64];
};

/* Look at folded text (subject and body, phish_fold()ed). */
void bec_scan(const char *folded, struct bec_findings *f);
/* IBAN check digits (ISO 13616, mod 97): 1 valid.  Spaces ignored. */
int bec_iban_valid(const char *s, size_t len);

/* ---- local threat feeds (detect_feeds.c) ---- */

struct feeds;

/*
 * files: NULL-terminated paths.  reload_s: check the files' mtimes at most
 * this often (0: at every look-up).  The files are read now; one that
 * cannot be read is an error at start, and later keeps its last good list.
 */
struct feeds *feeds_new(char *const *files, int64_t reload_s, char *err, size_t errlen);
void feeds_free(struct feeds *f);

enum feed_hit { FEED_NONE = 0, FEED_URL, FEED_DOMAIN };

/* Is this URL (or its host, or a parent domain of it) listed?  Reloads
 * changed files first when the interval has passed.  Thread-safe.  The
 * base name of the file that lists it is copied into src. */
enum feed_hit feeds_match(struct feeds *f, const char *url, char *src, size_t srclen);
/* Force a check of the files now (tests); returns how many were reloaded. */
int feeds_check(struct feeds *f);
/* Entries loaded (URLs + domains). */
size_t feeds_size(struct feeds *f);

/* Normalised form of a URL for feed look-ups: no scheme, lower-case host,
 * no fragment, no trailing '/'.  malloc'ed, NULL when it has no host. */
char *feeds_normalize(const char *url);

/* ---- correspondents history (detect_history.c) ---- */

struct history;

/* Reads and writes state_dir/sekisho.db (created by the first note). */
struct history *history_new(const struct config *cfg);
/* Writes what is kept in memory, closes. */
void history_free(struct history *h);
void history_flush(struct history *h);
/* org (one of local_domains) exchanged mail with domain (registrable):
 * outbound, to it; else from it.  Kept in memory, written in batches. */
void history_note(struct history *h, const char *org, const char *domain, int outbound);
/* 1 known; 0 never seen and the org's history is older than the warm-up;
 * -1 cannot tell (no history yet, store unavailable). */
int history_known(struct history *h, const char *org, const char *domain);
/* Does domain imitate one of the org's correspondents?  Their domain is
 * copied into imitated. */
enum look_kind history_lookalike(struct history *h, const char *org, const char *domain,
    const char *domain_utf8, char *imitated, size_t len);

/* ---- the checks, over the rules loaded at init (detect_phish.c) ---- */

struct phish_rules {
	const struct config *cfg;
	struct brandset *brands;	/* rules/brands.txt + local and protected domains */
	struct domset *shorteners;	/* rules/shorteners.txt */
	struct domset *redirectors;	/* rules/redirectors.txt */
	struct domset *freemail;	/* rules/freemail.txt */
	struct domset *hosting;		/* rules/hosting.txt: free sites phishing is put on */
	char **executives;		/* executive_names, folded, without spaces */
	size_t nexecutives;
	struct feeds *feeds;		/* NULL when threat_feeds is empty */
	struct history *history;	/* correspondents, for first contact */
};

/* What the sender checks learnt, for the BEC check that follows them. */
struct sender_facts {
	char from_domain[256];		/* registrable domain of From, or "" */
	int external;			/* From is not one of local_domains */
	int replyto_mismatch;
	int lookalike;			/* From looks like a protected domain */
	int display_spoof;		/* executive name or brand in the display name */
	int first_contact;
};

void phish_check_urls(const struct phish_rules *pr, const struct scan_ctx *ctx,
    struct scan_result *r);
void phish_check_sender(const struct phish_rules *pr, const struct scan_ctx *ctx,
    struct scan_result *r, struct sender_facts *sf);
/* The organisation (one of local_domains) a message belongs to: a local
 * recipient's domain for inbound mail, the sender's for outbound.  NULL
 * when there is none.  Points into the config. */
const char *phish_org(const struct config *cfg, const struct scan_ctx *ctx);
/* The detector's verdict callback: notes correspondents. */
void phish_verdict(void *state, const struct scan_ctx *ctx, const struct scan_result *r,
    int action);
/* folded: the subject and body text, phish_fold()ed (phish_scan_text()). */
void phish_check_content(const struct phish_rules *pr, const struct scan_ctx *ctx,
    struct scan_result *r, const char *folded);
void phish_check_bec(const struct phish_rules *pr, const struct scan_ctx *ctx,
    const struct sender_facts *sf, struct scan_result *r, const char *folded);
/* The subject, text and HTML text (each cut at max bytes), folded.  malloc'ed. */
char *phish_scan_text(const struct message *m, size_t max);

/* ---- DNS blocklists (detect_dnsbl.c) ---- */

/* The query name of an IP address under a zone ("2.0.0.127.zen.example"),
 * IPv6 as nibbles.  0, or -1 when ip is not an address. */
int dnsbl_query_name(const char *ip, const char *zone, char *out, size_t len);

#endif
