/*
 * cmd_symbols.c - sekisho symbols [--markdown]
 *
 * Every symbol of every registered detector with its default score, the
 * score in effect (after "score.NAME" settings) and its description; with
 * --markdown, the table that docs/symbols.md holds.
 */
#include "cmd/cmd.h"
#include "detect/detect.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int
cmd_symbols(const struct config *cfg, int argc, char **argv)
{
	size_t n;
	const struct detector *const *reg = detect_registry(&n);
	int md = argc > 0 && strcmp(argv[0], "--markdown") == 0;

	if (argc > 0 && !md) {
		fprintf(stderr, "usage: sekisho symbols [--markdown]\n");
		return 2;
	}
	if (md)
		printf("| symbol | check | default score | description |\n|---|---|---|---|\n");
	else
		printf("%-28s %-10s %8s %8s  %s\n", "SYMBOL", "CHECK", "DEFAULT", "SCORE",
		    "DESCRIPTION");
	for (size_t i = 0; i < n; i++)
		for (const struct symbol_def *s = reg[i]->symbols; s && s->name; s++) {
			double v = config_score(cfg, s->name);
			if (md)
				printf("| `%s` | %s | %g | %s |\n", s->name, reg[i]->name,
				    s->score, s->description);
			else
				printf("%-28s %-10s %8.2f %8.2f  %s\n", s->name, reg[i]->name,
				    s->score, isnan(v) ? s->score : v, s->description);
		}
	return 0;
}
