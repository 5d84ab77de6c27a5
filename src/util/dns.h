/*
 * dns.h - the one DNS resolver every check shares.
 *
 * Built on libunbound: a validating-capable caching resolver library whose
 * context is safe to use from many threads at once.  Queries block the
 * calling worker thread (never the event loop) for at most the configured
 * time-out and are answered from the shared cache when possible.  Tests
 * point it at a local unbound server (forwarder address) that serves the
 * test zones.
 *
 * DESIGN.md names evdns; libunbound was chosen instead because its context
 * is thread-safe with a shared cache, which fits detectors running on
 * worker threads without an event loop of their own.
 */
#ifndef SEKISHO_DNS_H
#define SEKISHO_DNS_H

#include <stddef.h>

struct dns;

enum dns_status {
	DNS_OK = 0,		/* answers in the result */
	DNS_NXDOMAIN,		/* name does not exist */
	DNS_NODATA,		/* name exists, no record of this type */
	DNS_TEMPFAIL,		/* time-out, SERVFAIL, network trouble */
	DNS_PERMFAIL,		/* malformed name or answer */
};

/*
 * forwarders: NULL-terminated "IP[@port]" list, or NULL for /etc/resolv.conf.
 * timeout_ms: per query.  NULL + err on failure.
 */
struct dns *dns_new(const char *const *forwarders, int timeout_ms, char *err, size_t errlen);
void dns_free(struct dns *d);

/* TXT records of name: each record's strings joined (as SPF/DKIM/DMARC want).
 * *out is a NULL-terminated malloc'ed array (free with dns_strings_free). */
enum dns_status dns_txt(struct dns *d, const char *name, char ***out);
/* A and AAAA records as text addresses. */
enum dns_status dns_addrs(struct dns *d, const char *name, char ***out);
/* MX host names (lowest preference first). */
enum dns_status dns_mx(struct dns *d, const char *name, char ***out);
/* PTR names for an IP address (text). */
enum dns_status dns_ptr(struct dns *d, const char *ip, char ***out);
/* Raw query: the wire-format answer packet for libraries that parse their
 * own (libspf2, libopendkim).  *len bytes in *pkt (malloc'ed). */
enum dns_status dns_query_raw(struct dns *d, const char *name, int rrtype,
    unsigned char **pkt, size_t *len);
void dns_strings_free(char **list);
const char *dns_status_name(enum dns_status st);

#endif
