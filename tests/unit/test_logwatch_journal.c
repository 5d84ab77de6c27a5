/*
 * test_logwatch_journal.c - the journal as a log source (auth_log_journal):
 * recorded `journalctl -o short` output goes through the same parser as
 * the log files, line by line (table-driven), and through the command
 * source of the log watcher (logwatch_add_command), here with `cat` on the
 * recorded file in place of journalctl: the same failures come out, the
 * command is run again after it ends, and freeing the watcher stops it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "account/logwatch.h"
#include "util/util.h"

struct want {
	const char *login, *ip, *protocol, *source;
	int count;
};

/* What tests/data/journal-auth.txt holds, in order. */
static const struct want wants[] = {
	{ "taro@corp.example", "203.0.113.7", "smtp", "postfix-log", 1 },
	{ "hanako@corp.example", "203.0.113.7", "smtp", "postfix-log", 1 },
	{ "jiro@corp.example", "198.51.100.4", "imap", "dovecot-log", 3 },
	{ "taro@corp.example", "198.51.100.5", "pop3", "dovecot-log", 1 },
	{ "news@corp.example", "2001:db8::25", "imap", "dovecot-log", 2 },
};
#define NWANTS (sizeof(wants) / sizeof(wants[0]))

static char *
recorded_path(void)
{
	const char *src = getenv("SEKISHO_SRC");

	return xasprintf("%s/tests/data/journal-auth.txt", src ? src : ".");
}

static void
check_hit(const struct logwatch_hit *h, size_t i)
{
	if (i >= NWANTS)
		fail_msg("an unexpected hit: %s %s", h->login, h->ip);
	assert_string_equal(h->login, wants[i].login);
	assert_string_equal(h->ip, wants[i].ip);
	assert_string_equal(h->protocol, wants[i].protocol);
	assert_string_equal(h->source, wants[i].source);
	assert_int_equal(h->count, wants[i].count);
}

static void
test_recorded_lines(void **state)
{
	char *path = recorded_path(), line[8192];
	FILE *fp = fopen(path, "r");
	struct logwatch_hit h;
	size_t n = 0, lines = 0;

	(void)state;
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		lines++;
		if (logwatch_parse(line, &h))
			check_hit(&h, n++);
	}
	fclose(fp);
	free(path);
	assert_int_equal(lines, 11);
	assert_int_equal(n, NWANTS);
}

struct seen {
	size_t n;
};

static void
on_hit(const struct logwatch_hit *h, void *arg)
{
	struct seen *s = arg;

	check_hit(h, s->n % NWANTS);
	s->n++;
}

static void
poll_until(struct logwatch *lw, struct seen *s, size_t n, int64_t ms)
{
	int64_t end = util_mono_ms() + ms;

	while (s->n < n && util_mono_ms() < end) {
		logwatch_poll(lw);
		usleep(20000);
	}
}

static void
test_command_source(void **state)
{
	char *path = recorded_path(), *cmd = xasprintf("cat %s", path), err[256];
	char *const none[] = { NULL };
	struct seen s = { 0 };
	struct logwatch *lw = logwatch_new(none, on_hit, &s);

	(void)state;
	assert_int_equal(logwatch_add_command(lw, cmd, err, sizeof(err)), 0);
	poll_until(lw, &s, NWANTS, 5000);
	assert_int_equal(s.n, NWANTS);
	/* cat ended: run again after LOGWATCH_RESTART_MS, the same lines */
	poll_until(lw, &s, 2 * NWANTS, LOGWATCH_RESTART_MS + 5000);
	assert_int_equal(s.n, 2 * NWANTS);
	logwatch_free(lw);
	/* an empty command is refused */
	lw = logwatch_new(none, on_hit, &s);
	assert_int_equal(logwatch_add_command(lw, "  ", err, sizeof(err)), -1);
	logwatch_free(lw);
	free(cmd);
	free(path);
}

/* A command that never ends (as journalctl -f) is stopped by free(). */
static void
test_command_stopped(void **state)
{
	char err[256];
	char *const none[] = { NULL };
	struct seen s = { 0 };
	struct logwatch *lw = logwatch_new(none, on_hit, &s);
	int64_t t0;

	(void)state;
	assert_int_equal(logwatch_add_command(lw, "sleep 60", err, sizeof(err)), 0);
	logwatch_poll(lw);
	t0 = util_mono_ms();
	logwatch_free(lw);
	assert_true(util_mono_ms() - t0 < 5000);
	assert_int_equal(s.n, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recorded_lines),
		cmocka_unit_test(test_command_source),
		cmocka_unit_test(test_command_stopped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
