/*
 * http_server.h - sekishod's console: REST API (docs/api/openapi.yaml),
 * the built console's static files, and Prometheus /metrics, on
 * console_listen (HTTPS when console_tls).
 *
 * Requests are answered by console_threads threads of libmicrohttpd; each
 * thread opens its own store connection on first use (a struct store is one
 * connection per thread) and closes it when the thread ends.  Nothing here
 * touches the queue's threads: quarantine actions go through the store
 * (queue_admin.h), which the queue's scheduler reads.
 */
#ifndef SEKISHO_HTTP_SERVER_H
#define SEKISHO_HTTP_SERVER_H

#include <stddef.h>

#include "util/config.h"

struct http_server;
struct queue;

/* Start listening.  q (may be NULL) gives the counters of /metrics.
 * NULL with err when the address, TLS files or spool cannot be used. */
struct http_server *http_server_start(const struct config *cfg, struct queue *q,
    char *err, size_t errlen);
/* Console logins also go to the account guard (sekishod's, when it runs
 * one): login events of protocol "console", and its refusals apply.  Set
 * before requests arrive; ag outlives srv.  srv NULL is fine. */
struct account_guard;
void http_server_set_guard(struct http_server *srv, struct account_guard *ag);
/* Stop answering, wait for the threads, free.  NULL is fine. */
void http_server_stop(struct http_server *srv);

#endif
