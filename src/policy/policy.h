/*
 * policy.h - from scores and symbols to an action and the changes to make.
 *
 * Order of the rules, first match wins:
 *   1. sender_blocklist                       -> reject
 *   2. symbol_actions (SYMBOL=action)         -> that action (the most severe
 *      of all matching symbols); malware verdicts belong here, so that an
 *      allow-list never lets a virus through
 *   3. sender_allowlist, or every recipient in recipient_allowlist -> deliver
 *   4. the score against the thresholds of the message's direction
 * With attachment_action = strip, a message whose attachments a check
 * marked bad (result_mark_part) is judged without the attachment checks'
 * symbols, and those parts are replaced by a notice (Japanese and English)
 * when it is delivered; the pipeline quarantines it instead when the parts
 * cannot be replaced.
 * Every message gets Authentication-Results (RFC 8601) and X-Sekisho-Result;
 * tagged mail also gets the subject prefix and, when configured, a warning
 * banner in Japanese and English.
 */
#ifndef SEKISHO_POLICY_H
#define SEKISHO_POLICY_H

#include "detect/detect.h"
#include "policy/pipeline.h"

struct policy;

/* ops: the outbound holds (pipeline.h), or NULL. */
struct policy *policy_new(const struct config *cfg, const struct pipeline_ops *ops,
    char *err, size_t errlen);
void policy_free(struct policy *p);

/*
 * Decide the action for a scanned message.  v->action, score and reply are
 * set; *rw is filled with the header and body changes (its strings are
 * owned by rw; release with policy_rewrite_clear).
 */
struct policy_changes {
	char **prepend;		/* header lines, NULL-terminated */
	const char *const *remove;
	char *subject_prefix;
	char *text_banner;
	char *html_banner;
	/* attachment_action = strip: parts[] indexes to replace by strip_notice */
	int *strip_parts;
	size_t nstrip;
	char *strip_notice;
	/* wide_external_action = bcc: To/Cc addresses to take out
	 * (outbound_bcc_addrs), NULL-terminated, or NULL */
	char **bcc_addrs;
};
void policy_decide(const struct policy *p, const struct scan_ctx *ctx,
    const struct scan_result *r, struct verdict *v, struct policy_changes *ch);
void policy_changes_clear(struct policy_changes *ch);

/* Parse an action name ("deliver", "tag", ...). 0 or -1. */
int action_parse(const char *name, enum action *out);

#endif
