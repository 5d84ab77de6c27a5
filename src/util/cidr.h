/*
 * cidr.h - IPv4/IPv6 networks ("192.0.2.0/24", "2001:db8::/32", or a single
 * address) and matching an address against a list of them.
 */
#ifndef SEKISHO_CIDR_H
#define SEKISHO_CIDR_H

#include <stddef.h>
#include <stdint.h>

struct cidr {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];
	int bits;
};

/* 0, or -1 when the text is not a network. */
int cidr_parse(const char *text, struct cidr *out);
/* Is the textual address inside the network?  IPv4-mapped IPv6 addresses
 * (::ffff:a.b.c.d) match IPv4 networks. */
int cidr_match(const struct cidr *net, const char *addr);
/* Any of n networks. */
int cidr_match_any(const struct cidr *nets, size_t n, const char *addr);

#endif
