/*
 * smtp_server.h - the SMTP listeners and sessions on the event loop.
 */
#ifndef SEKISHO_SMTP_SERVER_H
#define SEKISHO_SMTP_SERVER_H

#include <event2/event.h>

#include "queue/queue.h"
#include "util/config.h"
#include "util/tpool.h"

struct smtp_server;

/*
 * Bind the configured listeners (inbound_listen, outbound_listen) and load
 * the TLS certificate and the AUTH users.  NULL + err on failure.
 */
struct smtp_server *smtp_server_new(const struct config *cfg, struct event_base *base,
    struct queue *q, char *err, size_t errlen);
/* Stop accepting; sessions in progress keep going. */
void smtp_server_close_listeners(struct smtp_server *srv);
/* Sessions still open. */
size_t smtp_server_sessions(const struct smtp_server *srv);
/* Close every session and free. */
void smtp_server_free(struct smtp_server *srv);

#endif
