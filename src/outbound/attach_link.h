/*
 * attach_link.h - attachment protection: the attachments of outbound mail
 * to outside recipients replaced by a download link served by sekisho
 * (attachment_protection = link), or packed into an AES-256 ZIP
 * (attachment_protection = zip, attach_zip.h).
 *
 * Where each part runs:
 *
 *   scan worker (pipeline)  attach_protect_apply(): after the detectors
 *                           and the policy, for mail that will leave; the
 *                           files go to state_dir/attachments (0600,
 *                           random names, fsynced) and a pending set to
 *                           the store before the rewritten message is
 *                           staged.
 *   queue writer            store_attach_activate(): the set becomes
 *                           active in the transaction that puts the
 *                           rewritten message in place.
 *   queue scheduler         attach_link_tick(): the mails (code to the
 *                           recipients, ZIP password, the sender's notice
 *                           with its revoke link), and removal of the
 *                           files of expired or revoked sets.
 *   console (HTTP)          http_download.c: /dl/TOKEN.
 *   CLI                     sekisho attachment list | show | revoke.
 *
 * attach_link.c holds the pure parts (MIME surgery, texts, headers), so
 * they can be tested on their own; attach_link_protect.c the rest.
 */
#ifndef SEKISHO_ATTACH_LINK_H
#define SEKISHO_ATTACH_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "outbound/outbound.h"
#include "policy/pipeline.h"
#include "store/store_attach.h"

/* ---- pure parts (attach_link.c) ---- */

struct attach_link_file {
	char *name;		/* UTF-8, no directories, unique; never NULL */
	char *ctype;		/* "type/subtype" */
	unsigned char *bytes;	/* decoded content */
	size_t len;
};

struct attach_link_split {
	void *msg;		/* the message without its files (GMimeMessage) */
	struct attach_link_file *files;
	size_t nfiles;
};

/*
 * Take the attachments out of a message (the same rule as attach_zip:
 * Content-Disposition attachment, or a file name outside
 * multipart/related; attached messages as .eml).  0 with *sp filled
 * (release with attach_link_split_free), 1 when there is no attachment,
 * -1 when the message cannot be parsed.
 */
int attach_link_split(const char *raw, size_t len, struct attach_link_split *sp);
void attach_link_split_free(struct attach_link_split *sp);

/*
 * The message of sp with a notice in place of the files: a
 * multipart/alternative (text/plain and text/html, UTF-8) at the end of
 * the top-level multipart/mixed (made when the message has none).  CRLF
 * line endings.  malloc'ed, length in *len.
 */
char *attach_link_join(struct attach_link_split *sp, const char *text, const char *html,
    size_t *len);

/*
 * The notice's text (html = 0) or HTML (html = 1), in Japanese then
 * English: the files with their sizes, the link, until when it works,
 * the download limit, and whether a code comes in another mail.
 * malloc'ed.
 */
struct attach_link_notice {
	const struct attach_link_file *files;
	size_t nfiles;
	const char *url;
	int64_t expires_ms;
	int64_t max_downloads;
	int code;
};
char *attach_link_notice_render(const struct attach_link_notice *n, int html);

/* "12.3 KB" style sizes.  Into buf. */
void attach_link_size(uint64_t bytes, char *buf, size_t len);

/*
 * The Content-Disposition value for a download (RFC 6266): an ASCII
 * fallback filename="..." (non-ASCII and quotes as '_') and, when the
 * name is not plain ASCII, filename*=UTF-8''percent-encoded.  malloc'ed.
 */
char *attach_link_disposition(const char *name);

/* A one-time code of len characters (the ZIP password alphabet). */
int attach_link_code(char *out, size_t len);

/*
 * The header that marks a message sekisho rewrote for protection, with
 * the queue id as its value (nobody knows it before the message is
 * received, so a sender cannot forge it for their own mail).
 */
#define ATTACH_LINK_MARK	"X-Sekisho-Protected"
/* raw with "ATTACH_LINK_MARK: id\r\n" in front.  malloc'ed. */
char *attach_link_mark(const char *raw, size_t len, const char *id, size_t *outlen);
/* Does the header of raw carry the mark for id?  1 yes, 0 no. */
int attach_link_marked(const char *raw, size_t len, const char *id);

/* ---- the daemon (attach_link_protect.c) ---- */

struct attach_protect;

/* For the pipeline: NULL when attachment_protection is off. */
struct attach_protect *attach_protect_new(const struct config *cfg);
void attach_protect_free(struct attach_protect *ap);

/*
 * Protect the attachments of one outbound message, the verdict already
 * decided (deliver, tag or hold) and v->rewritten (if any) made: when a
 * recipient is outside and the message (as rewritten) has attachments,
 * v->rewritten becomes the message with a link (or the ZIP) and
 * v->protect is set.  0 (done or nothing to do), or -1 when it could
 * not be done: the caller must then not send the message as it is.
 * Thread-safe.
 */
int attach_protect_apply(struct attach_protect *ap, const struct envelope *env,
    const char *raw, size_t rawlen, struct verdict *v);

/*
 * The scheduler's work: for each newly active set, the mails (the code to
 * the recipients, the ZIP password, the sender's notice with a revoke
 * link) once its message is no longer held; a set whose message was
 * recalled or refused is revoked instead.  Then the files of expired or
 * revoked sets are removed.  Returns the sets handled, or -1.
 */
int attach_link_tick(struct store *st, const struct config *cfg, int64_t now_ms,
    outbound_inject_fn inject, void *arg);

/*
 * Revoke a set (CLI, console, the sender's revoke link); its files are
 * removed at the next tick.  0 done, 1 no such set or already revoked,
 * -1 error.
 */
int attach_link_revoke(struct store *st, const char *id, const char *by);
/* The revoke link's token: 0 revoked, 1 unknown/used/expired, -1 error. */
int attach_link_revoke_token(struct store *st, const char *token);

/*
 * Shared with the ZIP mode (attach_zip.c): which children of a multipart of
 * type parent are files to take out (an attachment, or a named part outside
 * multipart/related), a part's decoded bytes (malloc'ed, NUL after len), and
 * a rebuilt message as the bytes to deliver (CRLF line endings; malloc'ed,
 * NUL after len).  The types are GMime's GMimeObject, GMimeContentType and
 * GMimeMessage.
 */
struct _GMimeObject;
struct _GMimeContentType;
struct _GMimeMessage;
int attach_is_file(struct _GMimeObject *obj, struct _GMimeContentType *parent);
unsigned char *attach_part_bytes(struct _GMimeObject *obj, size_t *len);
char *attach_message_bytes(struct _GMimeMessage *m, size_t *len);

#endif
