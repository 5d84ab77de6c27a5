/*
 * geo.c - geo.h over libmaxminddb (memory-mapped, read-only).
 */
#include <stddef.h>

#include "account/geo.h"
#include "util/util.h"

#include <maxminddb.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct geo {
	MMDB_s db;
};

struct geo *
geo_open(const char *path, char *err, size_t errlen)
{
	struct geo *g = xcalloc(1, sizeof(*g));
	int rc = MMDB_open(path, MMDB_MODE_MMAP, &g->db);

	if (rc != MMDB_SUCCESS) {
		snprintf(err, errlen, "%s: %s", path, MMDB_strerror(rc));
		free(g);
		return NULL;
	}
	return g;
}

void
geo_close(struct geo *g)
{
	if (g == NULL)
		return;
	MMDB_close(&g->db);
	free(g);
}

static int
get_double(MMDB_entry_s *e, const char *k1, const char *k2, double *out)
{
	MMDB_entry_data_s d;

	if (MMDB_get_value(e, &d, k1, k2, NULL) != MMDB_SUCCESS || !d.has_data)
		return -1;
	if (d.type == MMDB_DATA_TYPE_DOUBLE)
		*out = d.double_value;
	else if (d.type == MMDB_DATA_TYPE_FLOAT)
		*out = d.float_value;
	else
		return -1;
	return 0;
}

int
geo_lookup(struct geo *g, const char *ip, struct geo_info *info)
{
	MMDB_lookup_result_s r;
	MMDB_entry_data_s d;
	int gai = 0, mmerr = 0;

	memset(info, 0, sizeof(*info));
	if (g == NULL || ip == NULL || *ip == '\0')
		return 1;
	r = MMDB_lookup_string(&g->db, ip, &gai, &mmerr);
	if (gai != 0 || mmerr != MMDB_SUCCESS || !r.found_entry)
		return 1;
	if (MMDB_get_value(&r.entry, &d, "country", "iso_code", NULL) == MMDB_SUCCESS &&
	    d.has_data && d.type == MMDB_DATA_TYPE_UTF8_STRING &&
	    d.data_size < sizeof(info->country)) {
		memcpy(info->country, d.utf8_string, d.data_size);
		info->country[d.data_size] = '\0';
	}
	if (get_double(&r.entry, "location", "latitude", &info->lat) == 0 &&
	    get_double(&r.entry, "location", "longitude", &info->lon) == 0)
		info->has_loc = 1;
	return info->country[0] != '\0' || info->has_loc ? 0 : 1;
}

double
geo_distance_km(double lat1, double lon1, double lat2, double lon2)
{
	const double r = 6371.0, rad = M_PI / 180.0;
	double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
	double a = sin(dlat / 2) * sin(dlat / 2) +
	    cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);

	return 2 * r * atan2(sqrt(a), sqrt(1 - a));
}
