/*
 * test_config.c - the option table, the file reader, -o overrides, and the
 * documentation naming every option.
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

#include "util/config.h"
#include "util/util.h"

static char *
write_tmp(const char *text)
{
	char *path = xstrdup("/tmp/sekisho-test-config-XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(util_write_all(fd, text, strlen(text)), 0);
	close(fd);
	return path;
}

static void
test_defaults(void **state)
{
	struct config *cfg = config_new();
	char err[256];

	(void)state;
	assert_string_equal(cfg->state_dir, "state");
	assert_int_equal(cfg->message_size_limit, 25 * 1024 * 1024);
	assert_int_equal(cfg->queue_lifetime, 5 * 86400);
	assert_int_equal(cfg->scan_inline_budget, 10000);
	assert_string_equal(cfg->local_domains[0], "sekisho.test");
	assert_null(cfg->local_domains[1]);
	assert_int_equal(config_validate(cfg, err, sizeof(err)), 0);
	config_free(cfg);
}

struct value_case {
	const char *name, *value;
	int ok;
	int64_t expect;		/* for numeric options */
	size_t offset;
};

static void
test_values(void **state)
{
	static const struct value_case cases[] = {
		{ "message_size_limit", "10m", 1, 10 * 1048576, offsetof(struct config, message_size_limit) },
		{ "message_size_limit", "512k", 1, 512 * 1024, offsetof(struct config, message_size_limit) },
		{ "message_size_limit", "12345", 1, 12345, offsetof(struct config, message_size_limit) },
		{ "message_size_limit", "10x", 0, 0, 0 },
		{ "message_size_limit", "-1", 0, 0, 0 },
		{ "queue_lifetime", "2h", 1, 7200, offsetof(struct config, queue_lifetime) },
		{ "queue_lifetime", "3d", 1, 3 * 86400, offsetof(struct config, queue_lifetime) },
		{ "retry_min", "30", 1, 30, offsetof(struct config, retry_min) },
		{ "scan_inline_budget", "500ms", 1, 500, offsetof(struct config, scan_inline_budget) },
		{ "scan_inline_budget", "2s", 1, 2000, offsetof(struct config, scan_inline_budget) },
		{ "recipient_limit", "abc", 0, 0, 0 },
		{ "recipient_limit", "99999999999999999999", 0, 0, 0 },
		{ "smtp_line_endings", "normalize", 1, 0, 0 },
		{ "smtp_line_endings", "lenient", 0, 0, 0 },
		{ "smtp_tls_security_level", "encrypt", 1, 0, 0 },
		{ "no_such_option", "1", 0, 0, 0 },
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config *cfg = config_new();
		int rc = config_set(cfg, cases[i].name, cases[i].value, err, sizeof(err));
		if (cases[i].ok) {
			assert_int_equal(rc, 0);
			if (cases[i].offset)
				assert_int_equal(*(int64_t *)((char *)cfg + cases[i].offset),
				    cases[i].expect);
		} else {
			assert_int_equal(rc, -1);
			assert_true(strlen(err) > 0);
		}
		config_free(cfg);
	}
}

static void
test_file_and_errors(void **state)
{
	char *path = write_tmp(
	    "# a comment\n"
	    "state_dir = /var/lib/sekisho   # trailing comment\n"
	    "local_domains = example.co.jp,\n"
	    "    example.jp sub.example.jp\n"
	    "\n"
	    "recipient_limit = many\n"
	    "bogus_option = 1\n"
	    "no equals sign here\n"
	    "inbound_listen = [::1]:25\n");
	struct config *cfg = config_new();
	char buf[4096] = "";
	FILE *errfp = fmemopen(buf, sizeof(buf), "w");
	int errors;

	(void)state;
	errors = config_load_file(cfg, path, errfp);
	fclose(errfp);
	assert_int_equal(errors, 3);
	assert_string_equal(cfg->state_dir, "/var/lib/sekisho");
	assert_string_equal(cfg->local_domains[0], "example.co.jp");
	assert_string_equal(cfg->local_domains[2], "sub.example.jp");
	assert_null(cfg->local_domains[3]);
	assert_string_equal(cfg->inbound_listen, "[::1]:25");
	/* each error carries file:line */
	{
		char want[512];
		snprintf(want, sizeof(want), "%s:6: recipient_limit", path);
		assert_non_null(strstr(buf, want));
		snprintf(want, sizeof(want), "%s:7: unknown option 'bogus_option'", path);
		assert_non_null(strstr(buf, want));
		snprintf(want, sizeof(want), "%s:8:", path);
		assert_non_null(strstr(buf, want));
	}
	assert_true(config_is_local_domain(cfg, "EXAMPLE.JP"));
	assert_false(config_is_local_domain(cfg, "example.com"));
	unlink(path);
	free(path);
	config_free(cfg);
}

static void
test_override_and_validate(void **state)
{
	struct config *cfg = config_new();
	char err[256];

	(void)state;
	assert_int_equal(config_override(cfg, "state_dir = ./x", err, sizeof(err)), 0);
	assert_string_equal(cfg->state_dir, "./x");
	assert_int_equal(config_override(cfg, "novalue", err, sizeof(err)), -1);
	assert_int_equal(config_override(cfg, "inbound_next_hop=ftp:x", err, sizeof(err)), 0);
	assert_int_equal(config_validate(cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "inbound_next_hop"));
	assert_int_equal(config_override(cfg, "inbound_next_hop=smtp:127.0.0.1:25", err, sizeof(err)), 0);
	assert_int_equal(config_override(cfg, "tls_cert_file=/x.pem", err, sizeof(err)), 0);
	assert_int_equal(config_validate(cfg, err, sizeof(err)), -1);
	assert_int_equal(config_override(cfg, "tls_key_file=/x.key", err, sizeof(err)), 0);
	assert_int_equal(config_validate(cfg, err, sizeof(err)), 0);
	/* the network lists: each entry must parse, and the error names the option */
	{
		static const char *const nets[] = {
			"login_allow_networks", "metrics_allow", "learn_allow",
		};

		for (size_t i = 0; i < sizeof(nets) / sizeof(nets[0]); i++) {
			char *bad = xasprintf("%s = 127.0.0.1/8 mail.example.org", nets[i]);
			char *good = xasprintf("%s = 192.0.2.0/24 ::1", nets[i]);

			assert_int_equal(config_override(cfg, bad, err, sizeof(err)), 0);
			assert_int_equal(config_validate(cfg, err, sizeof(err)), -1);
			assert_non_null(strstr(err, nets[i]));
			assert_non_null(strstr(err, "'mail.example.org' is not a network"));
			assert_int_equal(config_override(cfg, good, err, sizeof(err)), 0);
			assert_int_equal(config_validate(cfg, err, sizeof(err)), 0);
			free(bad);
			free(good);
		}
	}
	config_free(cfg);
}

/* Every option is documented (docs/configuration.md) */
static void
test_documented(void **state)
{
	const char *src = getenv("SEKISHO_SRC");
	const struct config_option *opts;
	char *path, *doc;
	size_t n;

	(void)state;
	if (src == NULL)
		skip();
	path = xasprintf("%s/docs/configuration.md", src);
	doc = util_read_file(path, 1 << 20, NULL);
	assert_non_null(doc);
	opts = config_options(&n);
	for (size_t i = 0; i < n; i++) {
		char *needle = xasprintf("`%s`", opts[i].name);
		if (strstr(doc, needle) == NULL)
			fail_msg("option %s is not in docs/configuration.md", opts[i].name);
		free(needle);
	}
	free(doc);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_file_and_errors),
		cmocka_unit_test(test_override_and_validate),
		cmocka_unit_test(test_documented),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
