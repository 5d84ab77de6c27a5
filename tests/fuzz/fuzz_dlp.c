/*
 * fuzz_dlp.c - libFuzzer harness for the DLP text scanner (detect_dlp.c).
 *
 * The input is any bytes, taken as text both as folded text (the scanner's
 * own input, NUL bytes included in the length) and through the folding.
 * Checks: counts are never negative, strong hits never exceed hits, every
 * sample is a NUL-terminated string within its buffer, and no sample holds
 * a run of more than four digits after its stars (a number is never shown
 * whole).  The rules (keywords, one pattern) are built once.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/detect_dlp.h"
#include "util/config.h"
#include "util/util.h"
#include "fuzz.h"

static struct dlp_rules *rules;

static void
check_findings(const struct dlp_findings *f)
{
	for (int k = 0; k < DLP_K_COUNT; k++) {
		const struct dlp_found *x = &f->k[k];
		size_t run = 0;

		CHECK(x->count >= 0 && x->strong >= 0 && x->strong <= x->count);
		CHECK(memchr(x->sample, '\0', sizeof(x->sample)) != NULL);
		CHECK(memchr(x->what, '\0', sizeof(x->what)) != NULL);
		if (k == DLP_K_KEYWORD || k == DLP_K_PATTERN)
			continue;
		for (const char *p = x->sample; *p; p++) {
			run = *p >= '0' && *p <= '9' ? run + 1 : 0;
			/* "(16 digits)" is the only longer digit run allowed: 2 */
			CHECK(run <= 4);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dlp_findings f;
	char *text;

	if (rules == NULL) {
		struct config *cfg = config_new();
		char err[256];

		config_set(cfg, "rules_dir", "/nonexistent", err, sizeof(err));
		config_set(cfg, "dlp_keywords", "社外秘,confidential", err, sizeof(err));
		config_set(cfg, "dlp_patterns", "EMP:emp-\\d{6} X:(a|aa)+b", err, sizeof(err));
		rules = dlp_rules_new(cfg, err, sizeof(err));
		CHECK(rules != NULL);
		/* the rules keep no pointer into the config */
		config_free(cfg);
	}
	if (size > 1 << 16)
		return 0;
	text = xmalloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	dlp_scan_folded(rules, text, strlen(text), &f);
	check_findings(&f);
	dlp_scan_text(rules, text, &f);
	check_findings(&f);
	free(text);
	return 0;
}
