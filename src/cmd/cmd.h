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
/* sekisho quarantine digest (cmd_digest.c) */
int cmd_quarantine_digest(const struct config *cfg, int argc, char **argv);
int cmd_symbols(const struct config *cfg, int argc, char **argv);
int cmd_learn(const struct config *cfg, int argc, char **argv);
int cmd_password(const struct config *cfg, int argc, char **argv);
int cmd_audit(const struct config *cfg, int argc, char **argv);
int cmd_incident(const struct config *cfg, int argc, char **argv);
int cmd_account(const struct config *cfg, int argc, char **argv);
int cmd_hold(const struct config *cfg, int argc, char **argv);
int cmd_approval(const struct config *cfg, int argc, char **argv);
int cmd_directory(const struct config *cfg, int argc, char **argv);
int cmd_attachment(const struct config *cfg, int argc, char **argv);

/* Shared by cmd_hold.c and cmd_approval.c: one listing line per hold
 * (a store_hold_foreach callback) and a decision with its message. */
struct store;
struct store_hold;
struct cmd_hold_list {
	struct store *st;
	const char *kind;	/* only this kind, or NULL */
	int n;
};
int cmd_hold_print(const struct store_hold *h, void *arg);
int cmd_hold_act(struct store *st, const char *id, const char *action, const char *comment);
int cmd_console_user(const struct config *cfg, int argc, char **argv);

#endif
