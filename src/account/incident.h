/*
 * incident.h - the guided response to a taken-over account.
 *
 * An incident walks the four steps of the playbook for one login:
 *   1. account    what happened: recent logins (IP, country, result), the
 *                 lock, the Sieve audit, recent outbound mail and scores;
 *   2. password   lock the login (the policy servers refuse it), hold its
 *                 queued outbound mail, mark it for a forced password
 *                 change, and make a strong temporary password shown once;
 *   3. contacts   the external recipients mailed in incident_contacts_window
 *                 and a ready-to-send warning in Japanese (ISO-2022-JP) and
 *                 English from templates;
 *   4. device     the user's spooled outbound mail analysed again by the
 *                 scan pipeline, and the device check-list for the admin.
 * Each step's outcome is a JSON object (the same one the CLI prints and the
 * REST API will return) and is written to the incident's timeline with the
 * time and the actor; the admin marks steps done and closes the incident.
 *
 * Everything returned is a new reference (json_decref) or NULL with err.
 * The temporary password of step 2 is in the returned object only: it is
 * never stored nor logged.
 */
#ifndef SEKISHO_INCIDENT_H
#define SEKISHO_INCIDENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "util/config.h"

struct store;
struct spool;

struct incident_env {
	const struct config *cfg;
	struct store *st;
	struct spool *spool;	/* NULL: step 4 has nothing to rescan */
	const char *actor;	/* who runs it: "admin", a console user... */
	const char *notice_dir;	/* where step 3 writes notices (NULL: state_dir/incidents/ID;
				 * "-": nowhere, the text is in notice_text) */
};

/* Who opens an incident on its own (a suspension for sending). */
#define INCIDENT_AUTO_ACTOR	"sekisho"

/* Open an incident for login and run the four steps.  When an incident
 * is already open for login, NULL with err naming it -- unless sekisho
 * opened it itself (INCIDENT_AUTO_ACTOR) and no step is done yet: then
 * the steps run on that one. */
json_t *incident_open(const struct incident_env *ie, const char *login, int64_t *id,
    char *err, size_t errlen);
/* The steps one by one (incident_open calls them in order). */
json_t *incident_step_account(const struct incident_env *ie, int64_t id, const char *login,
    char *err, size_t errlen);
json_t *incident_step_password(const struct incident_env *ie, int64_t id, const char *login,
    char *err, size_t errlen);
json_t *incident_step_contacts(const struct incident_env *ie, int64_t id, const char *login,
    char *err, size_t errlen);
json_t *incident_step_device(const struct incident_env *ie, int64_t id, const char *login,
    char *err, size_t errlen);

/* The incident, its steps and its timeline. */
json_t *incident_show(const struct incident_env *ie, int64_t id, char *err, size_t errlen);
/* Incidents, newest first. */
json_t *incident_list(const struct incident_env *ie, int open_only, char *err, size_t errlen);
/* Mark a step done (or not), with a note.  0, 1 no such incident, -1 error. */
int incident_mark(const struct incident_env *ie, int64_t id, int step, int done,
    const char *note, char *err, size_t errlen);
/* Close: 0, 1 no such open incident, -1 error.  The report (incident_show)
 * is written to the timeline as the closing event's detail. */
int incident_close(const struct incident_env *ie, int64_t id, char *err, size_t errlen);

/*
 * The warning to contacts, as a whole RFC 5322 message: lang "ja"
 * (ISO-2022-JP body, RFC 2047 subject) or "en" (UTF-8 when needed); the
 * recipients go in Bcc.  Template: DIR/incident-notice.LANG.txt, a
 * "Subject:" line, an empty line, the body; {{user}}, {{organization}},
 * {{since}} and {{until}} are replaced.  A malloc'ed string, or NULL + err.
 */
char *incident_notice(const struct config *cfg, const char *lang, const char *user_addr,
    int64_t since_ms, int64_t until_ms, char *const *rcpts, size_t nrcpts,
    char *err, size_t errlen);

/* The user's mail address: the login when it has '@', else login@ the
 * first local domain.  malloc'ed. */
char *incident_user_address(const struct config *cfg, const char *login);

#endif
