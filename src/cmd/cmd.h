/*
 * cmd.h - the CLI's subcommands that live in files of their own.
 * Each takes the loaded config and the arguments after its name, and
 * returns the process exit code.
 */
#ifndef SEKISHO_CMD_H
#define SEKISHO_CMD_H

#include "util/config.h"

int cmd_scan(const struct config *cfg, int argc, char **argv);
int cmd_quarantine(const struct config *cfg, int argc, char **argv);
int cmd_symbols(const struct config *cfg, int argc, char **argv);
int cmd_learn(const struct config *cfg, int argc, char **argv);
int cmd_console_user(const struct config *cfg, int argc, char **argv);

#endif
