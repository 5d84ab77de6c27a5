/*
 * account_net.h - "host:port" / "[v6]:port" listen addresses for the
 * account servers (numeric ports; host names resolved once at start).
 */
#ifndef SEKISHO_ACCOUNT_NET_H
#define SEKISHO_ACCOUNT_NET_H

#include <stddef.h>
#include <sys/socket.h>

/* 0, or -1 with err. */
int account_listen_addr(const char *spec, struct sockaddr_storage *ss,
    socklen_t *sslen, char *err, size_t errlen);

#endif
