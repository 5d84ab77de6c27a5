/*
 * queue_maildir.h - the built-in local sink: Maildir delivery.
 *
 * The embedded default set-up delivers to DIR/<recipient>/new/, one Maildir
 * per recipient address (lower-cased; '/' and leading '.' made safe), so a
 * newcomer can watch mail arrive without another server.  Each file is
 * written to tmp/, fsynced, and renamed into new/ (the Maildir protocol),
 * then new/ is fsynced: a delivery reported as done is on disk.  A
 * "Delivered-To:" and "Return-Path:" header is put on top.
 */
#ifndef SEKISHO_QUEUE_MAILDIR_H
#define SEKISHO_QUEUE_MAILDIR_H

#include "store/envelope.h"

/*
 * Deliver the spool file fd to every RCPT_PENDING recipient: success makes
 * the recipient RCPT_DELIVERED; a failure leaves it RCPT_PENDING with the
 * reason in rcpt->reply ("4.3.0 maildir: No space left on device").
 * Returns the number of recipients still pending (0 = all delivered).
 */
int maildir_deliver(const char *dir, struct envelope *env, int fd);

#endif
