/*
 * common.h - what both programs do the same way: read -c and -o so that
 * sekishod and sekisho always agree on the state they use.
 */
#ifndef SEKISHO_CMD_COMMON_H
#define SEKISHO_CMD_COMMON_H

#include "util/config.h"

/*
 * Parse the leading -c FILE and -o name=value options of argv (stops at the
 * first other argument; *argi is set to it).  Loads the file, applies the
 * overrides in order, fills derived defaults (myhostname) and validates.
 * Prints errors to stderr and returns NULL when anything is wrong.
 * check_only: report every file error (for "config check") instead of the first.
 */
struct config *cmd_load_config(int argc, char **argv, int *argi, const char *usage);

struct store;
struct spool;
/* Open the store and the spool of cfg's state_dir for the CLI.  Prints why
 * and returns -1 when there is no state there yet. */
/* The store of state_dir, both created when missing (a command may be the
 * first thing run on a new installation).  NULL after printing why. */
struct store *cmd_open_store(const struct config *cfg);
int cmd_open_state(const struct config *cfg, struct store **st, struct spool **sp);

#endif
