/*
 * fuzz_directory.c - libFuzzer harness for the directory CSV import
 * (outbound_dir_import(), src/outbound/outbound_directory.c): the file an
 * admin uploads in the console or gives `sekisho directory import`,
 * often exported from another system.
 *
 * The CSV is read through fmemopen() into one SQLite store in memory
 * (opened once, each input replaces the directory).  Checks: the result
 * is a count of rows or -1 with a message naming the line; after a
 * failed import the directory is what it was before (nothing kept); a
 * count never exceeds the number of line breaks plus one (a row is at
 * least one line).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outbound/outbound.h"
#include "store/store.h"
#include "util/config.h"
#include "fuzz.h"

#define MAX_INPUT	(256 * 1024)

static struct store *st;
static struct config *cfg;

/* The directory's answer for the canary entry. */
static int
canary_present(void)
{
	struct outbound_person p;
	int found;

	memset(&p, 0, sizeof(p));
	CHECK(outbound_person_get(st, cfg, "canary@example.com", &p) == 0);
	found = p.name != NULL && strcmp(p.name, "Canary") == 0;
	outbound_person_clear(&p);
	return found;
}

static void
setup(void)
{
	static const char seed[] = "address,name\ncanary@example.com,Canary\n";
	char err[256];
	FILE *fp;

	cfg = config_new();
	st = store_open(":memory:", err, sizeof(err));
	CHECK(st != NULL);
	fp = fmemopen((void *)(uintptr_t)seed, sizeof(seed) - 1, "r");
	CHECK(fp != NULL);
	CHECK(outbound_dir_import(st, fp, 1, err, sizeof(err)) == 1);
	fclose(fp);
	CHECK(canary_present());
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512], *copy;
	size_t lines = 1;
	FILE *fp;
	int n;

	if (size == 0 || size > MAX_INPUT)
		return 0;
	if (st == NULL)
		setup();
	copy = malloc(size);
	CHECK(copy != NULL);
	memcpy(copy, data, size);
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	fp = fmemopen(copy, size, "r");
	CHECK(fp != NULL);
	err[0] = '\0';
	/* replace = 0: rows are added, so a failed import must leave the canary */
	n = outbound_dir_import(st, fp, 0, err, sizeof(err));
	fclose(fp);
	if (n < 0) {
		CHECK(err[0] != '\0');
		CHECK(strncmp(err, "line ", 5) == 0 || strstr(err, "sqlite") != NULL ||
		    strstr(err, "SQL") != NULL || strstr(err, "constraint") != NULL);
		CHECK(canary_present());
	} else {
		CHECK((size_t)n <= lines);
		/* back to the canary alone for the next input */
		static const char seed[] = "address,name\ncanary@example.com,Canary\n";
		fp = fmemopen((void *)(uintptr_t)seed, sizeof(seed) - 1, "r");
		CHECK(fp != NULL);
		CHECK(outbound_dir_import(st, fp, 1, err, sizeof(err)) == 1);
		fclose(fp);
	}
	free(copy);
	return 0;
}
