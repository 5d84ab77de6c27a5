/*
 * logwatch.h - authentication failures from log files, for the login guard
 * when a mail server cannot ask sekisho itself.
 *
 * Recognised lines (syslog prefix or not):
 *   Postfix  "... warning: HOST[IP]: SASL LOGIN authentication failed: ...,
 *            sasl_username=USER"  (lines without sasl_username are skipped:
 *            the guard counts per account)
 *   Dovecot  "... imap-login: Disconnected (auth failed, 3 attempts in 12
 *            secs): user=<USER>, method=PLAIN, rip=IP, ..." and the same
 *            with "Aborted login (auth failed" or "Login aborted"; the
 *            attempts count as that many failures.
 * The same lines come from the systemd journal as `journalctl -o short`
 * prints them (logwatch_add_command), so one parser serves both.
 */
#ifndef SEKISHO_LOGWATCH_H
#define SEKISHO_LOGWATCH_H

#include <stddef.h>

struct logwatch_hit {
	char login[256];
	char ip[64];
	char protocol[32];		/* smtp, imap, pop3... */
	const char *source;		/* "postfix-log", "dovecot-log" */
	int count;			/* failures (1..100) */
};

/* 1 when line is an authentication failure (hit filled), else 0. */
int logwatch_parse(const char *line, struct logwatch_hit *hit);

typedef void (*logwatch_cb)(const struct logwatch_hit *hit, void *arg);

struct logwatch;
struct event_base;

/* Follow the files (NULL-terminated list) from their current end; a file
 * that does not exist yet is picked up when it appears, a rotated one
 * (new inode, or shorter than what was read) is read from its start. */
struct logwatch *logwatch_new(char *const *paths, logwatch_cb cb, void *arg);
/*
 * Also read the output of a command, such as the journal's
 * "journalctl -f -n 0 -o short -u postfix -u dovecot" (auth_log_journal):
 * command is split on blanks and run without a shell, its standard output
 * read through a pipe at each poll, line by line like a file.  When it
 * ends it is run again LOGWATCH_RESTART_MS later.  0, or -1 with err (an
 * empty command, no pipe or process).
 */
#define LOGWATCH_RESTART_MS	5000
int logwatch_add_command(struct logwatch *lw, const char *command, char *err,
    size_t errlen);
/* Read what was added since the last call; calls cb per failure found. */
void logwatch_poll(struct logwatch *lw);
/* Poll every interval_ms on base.  0 or -1. */
int logwatch_schedule(struct logwatch *lw, struct event_base *base, int interval_ms);
void logwatch_free(struct logwatch *lw);

#endif
