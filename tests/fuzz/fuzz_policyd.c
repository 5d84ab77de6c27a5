/*
 * fuzz_policyd.c - libFuzzer harness for the Postfix policy request parser
 * (policyd_feed() in src/account/policyd.c) and the decision over what it
 * parsed.
 *
 * The input is split at '\n' like the server's line reader does; each line
 * is fed from a malloc'ed copy of exactly its length (reads past the end
 * show under ASan).  Feeding returns 1 only for an empty line (or a lone
 * CR), -1 for a bad line, 0 otherwise; after a complete request every
 * field is NUL-terminated within its array and nattrs stays within
 * POLICYD_ATTRS_MAX + 1.  Each complete request is decided by a policyd
 * with small limits (no login guard), and the action must be one of the
 * three the protocol answers here.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account/policyd.h"
#include "util/config.h"
#include "util/log.h"
#include "fuzz.h"

#define TERMINATED(f) CHECK(memchr((f), '\0', sizeof(f)) != NULL)

static struct config *cfg;

static void
check_request(struct policyd *pd, const struct policyd_req *r, int64_t now)
{
	char action[512];

	TERMINATED(r->request);
	TERMINATED(r->protocol_state);
	TERMINATED(r->sasl_username);
	TERMINATED(r->client_address);
	TERMINATED(r->sender);
	TERMINATED(r->recipient);
	TERMINATED(r->instance);
	CHECK(r->nattrs >= 0 && r->nattrs <= POLICYD_ATTRS_MAX + 1);
	action[0] = '\0';
	policyd_decide(pd, r, now, action, sizeof(action));
	CHECK(memchr(action, '\0', sizeof(action)) != NULL);
	CHECK(strncmp(action, "action=DUNNO", 12) == 0 ||
	    strncmp(action, "action=REJECT", 13) == 0 ||
	    strncmp(action, "action=450", 10) == 0 ||
	    strncmp(action, "action=DEFER", 12) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policyd *pd;
	struct policyd_req r;
	size_t start = 0;
	int64_t now = 1700000000000LL;
	char err[128];

	if (cfg == NULL) {
		log_set_level(LOG_LEVEL_WARN);	/* a refusal is logged at info */
		cfg = config_new();
		/* small limits, so the counters' refusals are reached */
		CHECK(config_set(cfg, "policy_user_messages", "3", err, sizeof(err)) == 0);
		CHECK(config_set(cfg, "policy_user_recipients", "5", err, sizeof(err)) == 0);
		CHECK(config_set(cfg, "policy_user_domains", "2", err, sizeof(err)) == 0);
		CHECK(config_set(cfg, "policy_ip_messages", "4", err, sizeof(err)) == 0);
		CHECK(config_set(cfg, "local_domains", "corp.example", err, sizeof(err)) == 0);
	}
	pd = policyd_new(cfg, NULL);
	memset(&r, 0, sizeof(r));
	while (start <= size) {
		const uint8_t *nl = memchr(data + start, '\n', size - start);
		size_t len = nl ? (size_t)(nl - (data + start)) : size - start;
		char *line;
		int rc;

		if (nl == NULL && len == 0)
			break;
		line = malloc(len ? len : 1);
		CHECK(line != NULL);
		memcpy(line, data + start, len);
		rc = policyd_feed(&r, line, len);
		CHECK(rc == -1 || rc == 0 || rc == 1);
		if (rc == 1)
			CHECK(len == 0 || (len == 1 && line[0] == '\r'));
		free(line);
		if (rc == 1) {
			check_request(pd, &r, now);
			now += 1000;
		}
		if (rc != 0)
			memset(&r, 0, sizeof(r));	/* as the server: next request */
		start += len + 1;
		if (nl == NULL)
			break;
	}
	policyd_free(pd);
	return 0;
}
