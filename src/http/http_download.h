/*
 * http_download.h - the public download pages of protected attachments
 * (/dl/...), served by the console's HTTP server without a session.
 */
#ifndef SEKISHO_HTTP_DOWNLOAD_H
#define SEKISHO_HTTP_DOWNLOAD_H

#include <stddef.h>
#include <stdint.h>
#include <microhttpd.h>

struct store;

/*
 * Answer one request under /dl/: url, method, the client's address, the
 * request body (a form) and this thread's store.  Queues the response.
 */
enum MHD_Result http_download(struct MHD_Connection *conn, struct store *st,
    const char *method, const char *url, const char *ip, const char *body,
    size_t body_len);

/* The per-address failure limit (pure; for the tests): record a failure
 * of ip at now_ms (fail = 1) or only look (fail = 0).  1 when ip is over
 * the limit, else 0. */
int http_download_limited(const char *ip, int64_t now_ms, int fail);

#endif
