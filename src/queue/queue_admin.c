/*
 * queue_admin.c - release, delete and learn a quarantined message (see
 * queue_admin.h).  The state check and the change are one store
 * transaction; the spool file of a deleted message is unlinked only after
 * that transaction is durable, as the queue does (a crash in between leaves
 * an orphan file, which spool_recover removes).
 */
#include "queue/queue_admin.h"
#include "queue/queue_spool.h"
#include "queue/queue_state.h"
#include "store/store.h"
#include "util/util.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define QADMIN_MAX_MESSAGE	(256u << 20)

/* Inside a transaction: load and check the state. */
static enum qadmin_rc
load(struct store *st, const char *id, struct envelope **env, struct queue_info *qi,
    char *err, size_t errlen)
{
	int rc = store_msg_get(st, id, env, qi);

	if (rc < 0) {
		snprintf(err, errlen, "%s", store_errmsg(st));
		return QADMIN_ERROR;
	}
	if (rc == 1) {
		snprintf(err, errlen, "%s: no such message", id);
		return QADMIN_NOT_FOUND;
	}
	if (qi->state != MSG_QUARANTINED) {
		snprintf(err, errlen, "%s is %s, not quarantined", id, store_state_name(qi->state));
		return QADMIN_WRONG_STATE;
	}
	return QADMIN_OK;
}

static enum qadmin_rc
finish(struct store *st, enum qadmin_rc rc, char *err, size_t errlen)
{
	if (rc != QADMIN_OK) {
		store_rollback(st);
		return rc;
	}
	if (store_commit(st) < 0) {
		snprintf(err, errlen, "%s", store_errmsg(st));
		return QADMIN_ERROR;
	}
	return QADMIN_OK;
}

enum qadmin_rc
quarantine_release(struct store *st, const char *id, char *err, size_t errlen)
{
	struct envelope *env = NULL;
	struct queue_info qi;
	enum msg_state to;
	enum qadmin_rc rc;

	memset(&qi, 0, sizeof(qi));
	if (store_begin(st) < 0) {
		snprintf(err, errlen, "%s", store_errmsg(st));
		return QADMIN_ERROR;
	}
	rc = load(st, id, &env, &qi, err, errlen);
	if (rc == QADMIN_OK && queue_state_next(qi.state, QEV_RELEASE, &to) < 0) {
		snprintf(err, errlen, "%s cannot be released from %s", id,
		    store_state_name(qi.state));
		rc = QADMIN_WRONG_STATE;
	}
	if (rc == QADMIN_OK) {
		qi.state = to;
		qi.next_try_ms = util_now_ms();
		free(qi.action);
		qi.action = xstrdup("release");
		if (store_msg_update(st, env, &qi) < 0) {
			snprintf(err, errlen, "%s", store_errmsg(st));
			rc = QADMIN_ERROR;
		}
	}
	rc = finish(st, rc, err, errlen);
	envelope_free(env);
	queue_info_clear(&qi);
	return rc;
}

enum qadmin_rc
quarantine_delete(struct store *st, struct spool *sp, const char *id, char *err,
    size_t errlen)
{
	struct queue_info qi;
	enum qadmin_rc rc;

	memset(&qi, 0, sizeof(qi));
	if (store_begin(st) < 0) {
		snprintf(err, errlen, "%s", store_errmsg(st));
		return QADMIN_ERROR;
	}
	rc = load(st, id, NULL, &qi, err, errlen);
	if (rc == QADMIN_OK && store_msg_delete(st, id) < 0) {
		snprintf(err, errlen, "%s", store_errmsg(st));
		rc = QADMIN_ERROR;
	}
	rc = finish(st, rc, err, errlen);
	queue_info_clear(&qi);
	if (rc == QADMIN_OK)
		(void)spool_remove(sp, id);
	return rc;
}

char *
quarantine_read(struct spool *sp, const char *id, size_t *len)
{
	int fd = spool_open_msg(sp, id);	/* refuses ids that are not queue ids */
	struct stat sb;
	char *raw = NULL;
	size_t got = 0;
	ssize_t n;
	int saved;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &sb) < 0)
		goto fail;
	if (sb.st_size < 0 || (uint64_t)sb.st_size > QADMIN_MAX_MESSAGE) {
		errno = EFBIG;
		goto fail;
	}
	raw = xmalloc((size_t)sb.st_size + 1);
	while (got < (size_t)sb.st_size &&
	    (n = read(fd, raw + got, (size_t)sb.st_size - got)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		got += (size_t)n;
	}
	raw[got] = '\0';
	close(fd);
	*len = got;
	return raw;
fail:
	saved = errno;
	free(raw);
	close(fd);
	errno = saved;
	return NULL;
}

enum qadmin_rc
quarantine_learn(struct store *st, struct spool *sp, const char *id, int spam,
    unsigned bits, const char *source, enum learn_outcome *outcome, char *err,
    size_t errlen)
{
	struct learner *l = NULL;
	struct message *msg;
	struct queue_info qi;
	enum qadmin_rc rc;
	char *raw;
	size_t len;

	memset(&qi, 0, sizeof(qi));
	*outcome = LEARN_FAILED;
	if (store_begin(st) < 0) {
		snprintf(err, errlen, "%s", store_errmsg(st));
		return QADMIN_ERROR;
	}
	rc = load(st, id, NULL, &qi, err, errlen);
	queue_info_clear(&qi);
	if (rc != QADMIN_OK)
		return finish(st, rc, err, errlen);
	if ((raw = quarantine_read(sp, id, &len)) == NULL) {
		snprintf(err, errlen, "%s: cannot read the message: %s", id, strerror(errno));
		return finish(st, QADMIN_ERROR, err, errlen);
	}
	if (learner_open(st, LEARN_MODEL, 1, bits, &l, err, errlen) != 0) {
		free(raw);
		return finish(st, QADMIN_ERROR, err, errlen);
	}
	msg = message_parse(raw, len, NULL);
	*outcome = learner_learn(l, msg, raw, len, spam, source);
	message_free(msg);
	if (*outcome == LEARN_FAILED || learner_save(l) < 0) {
		snprintf(err, errlen, "%s", store_errmsg(st));
		rc = QADMIN_ERROR;
	}
	learner_free(l);
	free(raw);
	return finish(st, rc, err, errlen);
}

double
queue_scan_score(const char *scan_json)
{
	json_t *root = scan_json ? json_loads(scan_json, 0, NULL) : NULL;
	double score = 0;

	if (root) {
		score = json_number_value(json_object_get(root, "score"));
		json_decref(root);
	}
	return score;
}
