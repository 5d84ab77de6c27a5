/*
 * detect_forward.c - outbound mail that a mailbox rule forwards outside.
 *
 * A taken-over mailbox is often given a rule that sends each message on:
 * Pigeonhole's Sieve redirect marks the copy with X-Sieve-Redirected-From,
 * a client's "redirect" or "bounce" adds Resent-* fields (RFC 5322 3.6.6).
 * When such a message leaves for a recipient outside local_domains whose
 * domain the organisation has never exchanged mail with (the
 * correspondents history of detect_history.c; unknown when there is no
 * history yet), the forward itself is the finding.
 *
 * Symbols (outbound only):
 *   FWD_SIEVE_REDIRECT_EXTERNAL  X-Sieve-Redirected-From, new external target
 *   FWD_RESENT_EXTERNAL          Resent-From/-Sender/-To/-Cc/-Bcc/-Date/
 *                                -Message-ID, new external target
 * Options: local_domains, state_dir (the history); scores via score.NAME.
 * The history is only read here; nothing is noted.
 */
#include "detect/detect_forward.h"
#include "detect/detect_auth.h"
#include "detect/detect_phish.h"

#include <stdio.h>
#include <string.h>

static const struct symbol_def symbols[] = {
	{ "FWD_SIEVE_REDIRECT_EXTERNAL", 4.0,
	    "redirected by a Sieve rule (X-Sieve-Redirected-From) to a new external address" },
	{ "FWD_RESENT_EXTERNAL", 3.0,
	    "resent (Resent-* header fields) to a new external address" },
	{ NULL, 0, NULL },
};

static const char *const resent_fields[] = {
	"Resent-From", "Resent-Sender", "Resent-To", "Resent-Cc", "Resent-Bcc",
	"Resent-Date", "Resent-Message-ID",
};

static int
forward_init(const struct config *cfg, void **state, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	*state = history_new(cfg);
	return 0;
}

static void
forward_free(void *state)
{
	history_free(state);
}

/* The first recipient outside local_domains in a domain the organisation
 * does not know, or NULL. */
static const char *
new_external(struct history *h, const struct scan_ctx *ctx)
{
	const char *org = phish_org(ctx->cfg, ctx);

	for (size_t i = 0; i < ctx->env->nrcpt; i++) {
		const char *addr = ctx->env->rcpt[i].addr;
		const char *dom = envelope_domain(addr);
		char reg[256];

		if (*dom == '\0' || config_is_local_domain(ctx->cfg, dom))
			continue;
		auth_org_domain(dom, reg, sizeof(reg));
		if (org == NULL || history_known(h, org, reg) != 1)
			return addr;
	}
	return NULL;
}

static void
forward_scan(void *state, const struct scan_ctx *ctx, struct scan_result *r)
{
	const struct message *m = ctx->msg;
	const char *from, *to = NULL;
	int resent = 0;

	if (!ctx->outbound)
		return;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(resent_fields); i++)
		if (message_header_count(m, resent_fields[i]) > 0)
			resent = 1;
	from = message_header(m, "X-Sieve-Redirected-From");
	if (from == NULL && !resent)
		return;
	to = new_external(state, ctx);
	if (to == NULL)
		return;
	if (from != NULL)
		result_add(r, "FWD_SIEVE_REDIRECT_EXTERNAL",
		    "a Sieve rule of %.100s redirects to %.200s, a new external address", from, to);
	if (resent)
		result_add(r, "FWD_RESENT_EXTERNAL", "resent to %.200s, a new external address", to);
}

const struct detector detect_forward = {
	.name = "forward",
	.symbols = symbols,
	.init = forward_init,
	.scan = forward_scan,
	.free = forward_free,
};
