/*
 * fuzz_geo.c - libFuzzer harness for geo_lookup() (src/account/geo.c)
 * with odd addresses: the remote address of a login comes from a log
 * line, the auth policy request or the policy service, so any text can
 * arrive as an "IP".
 *
 * A small City-shaped MMDB is written once with tests/data/make_geo_mmdb.pl
 * (the tests' database; skipped with a message when perl's writer is
 * missing).  Each input is looked up as one string; checks: the answer is
 * 0 or 1, the country NUL-terminated inside its array and empty or two
 * capital letters, coordinates finite and in range, the distance between
 * two found places finite and at most half the earth's circumference.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "account/geo.h"
#include "fuzz.h"

static struct geo *g;
static int tried;

static void
setup(void)
{
	char dir[] = "/tmp/fuzz-geo-XXXXXX", path[128], cmd[1024], err[256];

	tried = 1;
	if (mkdtemp(dir) == NULL)
		return;
	snprintf(path, sizeof(path), "%s/geo.mmdb", dir);
	snprintf(cmd, sizeof(cmd), "perl '%s/../tests/data/make_geo_mmdb.pl' '%s' 2>/dev/null",
	    SEKISHO_TEMPLATES_DIR, path);
	if (system(cmd) == 0)
		g = geo_open(path, err, sizeof(err));
	unlink(path);
	rmdir(dir);
	if (g == NULL)
		fprintf(stderr, "fuzz_geo: no test database (perl MaxMind::DB::Writer?)\n");
}

static void
check_info(const struct geo_info *i)
{
	CHECK(memchr(i->country, '\0', sizeof(i->country)) != NULL);
	CHECK(i->country[0] == '\0' || (strlen(i->country) == 2 &&
	    i->country[0] >= 'A' && i->country[0] <= 'Z'));
	if (i->has_loc) {
		CHECK(isfinite(i->lat) && isfinite(i->lon));
		CHECK(i->lat >= -90 && i->lat <= 90 && i->lon >= -180 && i->lon <= 180);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct geo_info a, b;
	char *ip;
	int rc;

	if (!tried)
		setup();
	if (size > 4096)
		return 0;
	ip = malloc(size + 1);
	CHECK(ip != NULL);
	memcpy(ip, data, size);
	ip[size] = '\0';
	rc = geo_lookup(g, ip, &a);
	CHECK(rc == 0 || rc == 1);
	check_info(&a);
	if (rc == 0 && a.has_loc && geo_lookup(g, "203.0.113.9", &b) == 0 && b.has_loc) {
		double d = geo_distance_km(a.lat, a.lon, b.lat, b.lon);
		CHECK(isfinite(d) && d >= 0 && d <= 20040);
	}
	/* without a database every answer is "not found" */
	CHECK(geo_lookup(NULL, ip, &b) == 1);
	free(ip);
	return 0;
}
