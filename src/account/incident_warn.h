/*
 * incident_warn.h - step 3 of an incident: send the warning to the
 * account's external contacts, after a preview and a dry run.
 *
 * The contacts are those step 3 lists: the external addresses the login
 * mailed from incident_contacts_window before the incident opened until
 * now.  Each gets the incident notice (templates incident-notice.ja.txt
 * and .en.txt, incident_notice()) in one language: Japanese for addresses
 * under .jp, English for the rest.  One message per language carries all
 * its recipients in the envelope only (the notice's Bcc: field is removed
 * before it is queued), through the outbound next hop.
 *
 * Every mode writes an event to the incident's timeline:
 * "warning_previewed", "warning_dry_run", "contacts_warned".  A second
 * send is refused unless again is set, so a repeated command does not
 * warn everyone twice.
 */
#ifndef SEKISHO_INCIDENT_WARN_H
#define SEKISHO_INCIDENT_WARN_H

#include <jansson.h>
#include <stdint.h>

#include "account/incident.h"
#include "notify/notify_send.h"

enum incident_warn_mode {
	INCIDENT_WARN_PREVIEW,	/* the messages as they would go, and to whom */
	INCIDENT_WARN_DRY_RUN,	/* who would get which language */
	INCIDENT_WARN_SEND,	/* queue them */
};

/*
 * Returns {"incident", "login", "mode", "recipients": [{"address","lang"}],
 * "messages": {"ja": mail, "en": mail} and "text": {"ja": decoded subject
 * and body, "en": ...} (preview), "queued": N (send)}, a
 * new reference, or NULL with err.
 */
json_t *incident_warn(const struct incident_env *ie, int64_t id,
    enum incident_warn_mode mode, int again, notify_inject_fn inject, void *arg,
    char *err, size_t errlen);

/* "ja" for an address under .jp, else "en". */
const char *incident_warn_lang(const char *addr);

/* A mail as people read it: "Subject: ...\n\nbody", decoded to UTF-8.
 * Malloc'ed. */
char *incident_warn_readable(const char *msg);

/* msg without its Bcc: field (and the field's continuation lines).
 * Malloc'ed. */
char *incident_warn_strip_bcc(const char *msg);

#endif
