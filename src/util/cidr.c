/*
 * cidr.c - network parsing and matching with inet_pton; no allocation.
 */
#include "util/cidr.h"
#include "util/util.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int
cidr_parse(const char *text, struct cidr *out)
{
	char buf[INET6_ADDRSTRLEN + 8];
	char *slash, *end;
	long bits;

	if (strlen(text) >= sizeof(buf))
		return -1;
	util_strlcpy(buf, text, sizeof(buf));
	memset(out, 0, sizeof(*out));
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = AF_INET;
		out->bits = 32;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = AF_INET6;
		out->bits = 128;
	} else {
		return -1;
	}
	if (slash != NULL) {
		bits = strtol(slash, &end, 10);
		if (*slash == '\0' || *end != '\0' || bits < 0 || bits > out->bits)
			return -1;
		out->bits = (int)bits;
	}
	return 0;
}

static int
prefix_equal(const uint8_t *a, const uint8_t *b, int bits)
{
	int bytes = bits / 8, rest = bits % 8;

	if (memcmp(a, b, (size_t)bytes) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a[bytes] ^ b[bytes]) & (0xff << (8 - rest))) == 0;
}

int
cidr_match(const struct cidr *net, const char *addr)
{
	uint8_t a[16];

	if (net->family == AF_INET) {
		if (inet_pton(AF_INET, addr, a) != 1) {
			/* ::ffff:a.b.c.d */
			if (inet_pton(AF_INET6, addr, a) != 1)
				return 0;
			static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
			if (memcmp(a, mapped, 12) != 0)
				return 0;
			memmove(a, a + 12, 4);
		}
		return prefix_equal(a, net->addr, net->bits);
	}
	if (inet_pton(AF_INET6, addr, a) != 1)
		return 0;
	return prefix_equal(a, net->addr, net->bits);
}

int
cidr_match_any(const struct cidr *nets, size_t n, const char *addr)
{
	for (size_t i = 0; i < n; i++)
		if (cidr_match(&nets[i], addr))
			return 1;
	return 0;
}
