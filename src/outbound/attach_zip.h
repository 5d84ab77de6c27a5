/*
 * attach_zip.h - attachment protection, compatibility mode: a message's
 * attachments packed into one AES-256 encrypted ZIP (attach_zip.c).
 *
 * The default protection replaces attachments by a download link; some
 * recipients still need a file, and this mode gives them one.  The password
 * goes to its own mail, never in the message and never into a log.
 */
#ifndef SEKISHO_ATTACH_ZIP_H
#define SEKISHO_ATTACH_ZIP_H

#include <stddef.h>

#include "message/message.h"

#define ATTACH_ZIP_PW_MAX	64

struct attach_zip {
	char *message;		/* the new message, CRLF line endings */
	size_t len;
	size_t nfiles;		/* attachments packed */
	char password[ATTACH_ZIP_PW_MAX + 1];	/* secret: never log it */
};

/*
 * A password of len characters (8..ATTACH_ZIP_PW_MAX) from an alphabet
 * without look-alike characters (no 0/O/o, 1/l/I), read over the phone
 * or copied by hand without mistakes, drawn with libsodium's uniform
 * random numbers.  out must hold len + 1 bytes.  0, or -1 for a bad len.
 */
int attach_zip_password(char *out, size_t len);

/*
 * Pack every attachment of msg (parts with Content-Disposition attachment,
 * or a file name outside multipart/related; attached messages as .eml)
 * into one ZIP named zipname (NULL: "attachments.zip"), each file AES-256
 * encrypted with a fresh password of pwlen characters (0: 16).  The new
 * message keeps the headers and the text parts, the attachments replaced by
 * the ZIP (application/zip, base64) at the end of the top-level
 * multipart/mixed (created when the message has none).  File names are
 * stored as UTF-8, without directories, made unique.
 *
 * 0 with *out filled (release with attach_zip_clear, which wipes the
 * password); 1 when the message has no attachment (nothing done); -1 with
 * err when it cannot be done (a limit: more than max_bytes of attachments,
 * 0 for no limit; a ZIP or MIME error).  msg must still hold its raw bytes.
 */
int attach_zip_pack(const struct message *msg, const char *zipname, size_t pwlen,
    size_t max_bytes, struct attach_zip *out, char *err, size_t errlen);
void attach_zip_clear(struct attach_zip *z);

#endif
