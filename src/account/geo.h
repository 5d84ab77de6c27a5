/*
 * geo.h - where an address is: country and coordinates from the admin's
 * MaxMind DB file (GeoLite2/GeoIP2 Country or City, or any MMDB with
 * country.iso_code and location.latitude/longitude).
 *
 * Lookups only read the mapped file and may run on any thread.
 */
#ifndef SEKISHO_GEO_H
#define SEKISHO_GEO_H

struct geo;

struct geo_info {
	char country[8];	/* ISO 3166-1 alpha-2, "" unknown */
	double lat, lon;
	int has_loc;
};

/* NULL with err when the file cannot be opened as an MMDB. */
struct geo *geo_open(const char *path, char *err, size_t errlen);
void geo_close(struct geo *g);
/* 0 found (info filled), 1 not in the database or not an address. */
int geo_lookup(struct geo *g, const char *ip, struct geo_info *info);
/* Great-circle distance in km. */
double geo_distance_km(double lat1, double lon1, double lat2, double lon2);

#endif
