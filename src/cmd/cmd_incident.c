/* cmd_incident.c - placeholder until the command lands. */
#include "cmd/cmd.h"
#include <stdio.h>
int
cmd_incident(const struct config *cfg, int argc, char **argv)
{
	(void)cfg; (void)argc; (void)argv;
	fprintf(stderr, "sekisho: incident: not yet\n");
	return 2;
}
