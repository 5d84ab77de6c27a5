/*
 * attach_link_protect.c - attachment protection in the daemon: the
 * rewrite on the scan workers, the mails and clean-up on the scheduler,
 * revocation.
 *
 * Durability: the files are written (0600, random names, fsynced, then
 * the directory) and the pending set committed before the rewritten
 * message exists; the queue writer makes the set active in the
 * transaction that renames the rewritten message into place.  A crash
 * before that rename leaves the original message in the spool, still
 * unanalysed: it is analysed again and its pending set replaced (the old
 * link never left).  A crash after it leaves the rewritten message, which
 * carries the mark header with its queue id (attach_link_marked): it is
 * not rewritten again, and its pending set is made active then.  A set
 * already active or revoked is never replaced.
 *
 * Mails (templates_dir/notify/KIND.LANG.txt):
 *
 *   attach_link      to the sender: the files, the expiry, a revoke link
 *   attach_code      to the recipients: the download code
 *   attach_password  to the sender or the recipients: the ZIP password
 *
 * They go out once the message itself is released (a held message's
 * set waits; a recalled or refused one is revoked).  As for the hold
 * notices, a mail is queued before its flag is set (twice rather than
 * never).  The code and the password are kept in the store only until
 * then, and never reach a log.
 */
#include "message/message.h"
#include "notify/notify.h"
#include "outbound/attach_link.h"
#include "outbound/attach_zip.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CODE_LEN	8
#define TICK_BATCH	32

struct attach_protect {
	const struct config *cfg;
	char *dir;		/* state_dir/attachments */
	char *db;
	pthread_mutex_t lock;	/* one store connection for the workers */
	struct store *st;
};

struct attach_protect *
attach_protect_new(const struct config *cfg)
{
	struct attach_protect *ap;

	if (cfg->attachment_protection == NULL ||
	    strcmp(cfg->attachment_protection, "off") == 0)
		return NULL;
	ap = xcalloc(1, sizeof(*ap));
	ap->cfg = cfg;
	ap->dir = config_state_path(cfg, "attachments");
	ap->db = config_state_path(cfg, "sekisho.db");
	pthread_mutex_init(&ap->lock, NULL);
	return ap;
}

void
attach_protect_free(struct attach_protect *ap)
{
	if (ap == NULL)
		return;
	store_close(ap->st);
	pthread_mutex_destroy(&ap->lock);
	free(ap->dir);
	free(ap->db);
	free(ap);
}

/* Store one file under a random name; its path into *path.  0 or -1. */
static int
file_put(const char *dir, const struct attach_link_file *f, char **path)
{
	unsigned char rnd[16];
	char hex[33];
	int fd;

	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
	*path = xasprintf("%s/%s", dir, hex);
	fd = open(*path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		goto fail;
	if (util_write_all(fd, f->bytes, f->len) < 0 || fsync(fd) < 0) {
		close(fd);
		unlink(*path);
		goto fail;
	}
	if (close(fd) < 0) {
		unlink(*path);
		goto fail;
	}
	return 0;
fail:
	log_err("attach: cannot store %s: %s", *path, strerror(errno));
	free(*path);
	*path = NULL;
	return -1;
}

static void
unlink_all(char **paths)
{
	for (size_t i = 0; paths != NULL && paths[i] != NULL; i++) {
		unlink(paths[i]);
		free(paths[i]);
	}
	free(paths);
}

static char *
recipient_list(const struct envelope *env)
{
	struct buf b = { 0 };

	for (size_t i = 0; i < env->nrcpt; i++)
		buf_printf(&b, "%s%s", i ? " " : "", env->rcpt[i].addr);
	return b.p ? buf_steal(&b, NULL) : xstrdup("");
}

static void
set_common(struct attach_protect *ap, const struct envelope *env,
    const struct verdict *v, struct attach_set *s, const char *mode)
{
	struct outbound_person p;

	memset(s, 0, sizeof(*s));
	util_strlcpy(s->id, env->id, sizeof(s->id));
	util_strlcpy(s->mode, mode, sizeof(s->mode));
	s->sender = xstrdup(env->mail_from ? env->mail_from : "");
	s->recipients = recipient_list(env);
	if (outbound_person_get(ap->st, ap->cfg, s->sender, &p) == 0) {
		s->lang = xstrdup(p.lang ? p.lang : ap->cfg->notify_language);
		outbound_person_clear(&p);
	} else {
		s->lang = xstrdup(ap->cfg->notify_language);
	}
	s->subject = v->subject ? xstrdup(v->subject) : NULL;
	s->created_ms = util_now_ms();
	s->expires_ms = s->created_ms + ap->cfg->attachment_link_expiry * 1000;
	s->max_downloads = ap->cfg->attachment_link_max_downloads;
}

/* Compatibility mode: one AES ZIP.  0 done or nothing to do, -1. */
static int
protect_zip(struct attach_protect *ap, const struct envelope *env, const char *raw,
    size_t len, struct verdict *v)
{
	struct message *msg = message_parse(raw, len, NULL);
	struct attach_zip z;
	struct attach_set s;
	char err[256];
	int rc;

	rc = attach_zip_pack(msg, NULL, 16, 0, &z, err, sizeof(err));
	message_free(msg);
	if (rc == 1)
		return 0;
	if (rc < 0) {
		log_warn("attach: id=%s: no ZIP: %s", env->id, err);
		return -1;
	}
	set_common(ap, env, v, &s, "zip");
	s.secret = xstrdup(z.password);
	rc = store_attach_put(ap->st, &s, NULL, NULL, 0, NULL);
	if (rc == 0) {
		free(v->rewritten);
		v->rewritten = attach_link_mark(z.message, z.len, env->id, &v->rewritten_len);
		v->protect = 1;
		log_info("attach id=%s mode=zip files=%zu", env->id, z.nfiles);
	} else if (rc < 0) {
		log_err("attach: id=%s: %s", env->id, store_errmsg(ap->st));
	}
	attach_set_clear(&s);
	attach_zip_clear(&z);
	return rc < 0 ? -1 : 0;
}

/* The default: files to the state directory, a link in their place. */
static int
protect_link(struct attach_protect *ap, const struct envelope *env, const char *raw,
    size_t len, struct verdict *v)
{
	struct attach_link_split sp;
	struct attach_file *rows = NULL;
	struct attach_set s;
	struct attach_link_notice n;
	unsigned char hash[STORE_TOKEN_HASH];
	char tok[OUTBOUND_TOKEN_LEN + 1], code[CODE_LEN + 1];
	char **old = NULL, **mine;
	char *url = NULL, *text, *html, *joined;
	size_t i, jlen;
	int rc;

	rc = attach_link_split(raw, len, &sp);
	if (rc == 1)
		return 0;
	if (rc < 0) {
		log_warn("attach: id=%s: the message cannot be parsed", env->id);
		return -1;
	}
	if (util_mkdirs(ap->dir, 0700) < 0) {
		log_err("attach: cannot make %s: %s", ap->dir, strerror(errno));
		attach_link_split_free(&sp);
		return -1;
	}
	rows = xcalloc(sp.nfiles, sizeof(*rows));
	mine = xcalloc(sp.nfiles + 1, sizeof(*mine));
	rc = 0;
	for (i = 0; i < sp.nfiles && rc == 0; i++) {
		rows[i].idx = (int)i + 1;
		rows[i].name = sp.files[i].name;
		rows[i].ctype = sp.files[i].ctype;
		rows[i].size = (int64_t)sp.files[i].len;
		rc = file_put(ap->dir, &sp.files[i], &rows[i].path);
		mine[i] = rows[i].path ? xstrdup(rows[i].path) : NULL;
	}
	if (rc == 0 && util_fsync_dir(ap->dir) < 0)
		rc = -1;
	set_common(ap, env, v, &s, "link");
	if (rc == 0 && outbound_token_make(tok, hash) < 0)
		rc = -1;
	if (rc == 0 && ap->cfg->attachment_link_code) {
		attach_link_code(code, CODE_LEN);
		outbound_token_hash(code, s.code_hash);
		s.has_code = 1;
		s.secret = xstrdup(code);
		sodium_memzero(code, sizeof(code));
	}
	if (rc == 0) {
		rc = store_attach_put(ap->st, &s, hash, rows, sp.nfiles, &old);
		if (rc < 0)
			log_err("attach: id=%s: %s", env->id, store_errmsg(ap->st));
	}
	if (rc != 0) {
		unlink_all(mine);	/* not kept, or an older set stands */
		mine = NULL;
	}
	if (rc == 0) {
		unlink_all(old);
		url = xasprintf("%s/dl/%s", ap->cfg->console_url, tok);
		n.files = sp.files;
		n.nfiles = sp.nfiles;
		n.url = url;
		n.expires_ms = s.expires_ms;
		n.max_downloads = s.max_downloads;
		n.code = s.has_code;
		text = attach_link_notice_render(&n, 0);
		html = attach_link_notice_render(&n, 1);
		free(v->rewritten);
		joined = attach_link_join(&sp, text, html, &jlen);
		v->rewritten = attach_link_mark(joined, jlen, env->id, &v->rewritten_len);
		v->protect = 1;
		free(joined);
		free(text);
		free(html);
		log_info("attach id=%s mode=link files=%zu expires=%llds", env->id, sp.nfiles,
		    (long long)ap->cfg->attachment_link_expiry);
	}
	sodium_memzero(tok, sizeof(tok));
	if (mine != NULL)
		for (i = 0; i < sp.nfiles; i++)
			free(mine[i]);
	free(mine);
	for (i = 0; i < sp.nfiles; i++)
		free(rows[i].path);
	free(rows);
	free(url);
	attach_set_clear(&s);
	attach_link_split_free(&sp);
	return rc < 0 ? -1 : 0;
}

/* Is a set already active or revoked for this message (analysed again
 * after it was rewritten)?  1 yes, 0 no, -1 error. */
static int
already_done(struct store *st, const char *id)
{
	struct attach_set s;
	int rc = store_attach_get(st, id, &s);

	if (rc < 0)
		return -1;
	if (rc == 1)
		return 0;
	rc = strcmp(s.state, "pending") != 0;
	attach_set_clear(&s);
	return rc;
}

int
attach_protect_apply(struct attach_protect *ap, const struct envelope *env,
    const char *raw, size_t rawlen, struct verdict *v)
{
	char err[256];
	int external = 0, rc;

	if (ap == NULL || env->listener == NULL || strcmp(env->listener, "outbound") != 0)
		return 0;
	if (v->rewritten != NULL) {
		raw = v->rewritten;
		rawlen = v->rewritten_len;
	}
	pthread_mutex_lock(&ap->lock);
	if (ap->st == NULL && (ap->st = store_open(ap->db, err, sizeof(err))) == NULL) {
		log_err("attach: cannot open the store: %s", err);
		pthread_mutex_unlock(&ap->lock);
		return -1;
	}
	if (attach_link_marked(raw, rawlen, env->id)) {
		/*
		 * Our own rewrite, analysed again: the daemon stopped after the
		 * rewritten message was renamed into place and before the
		 * verdict was committed.  Its link (or password) is the pending
		 * set's; make it live, and do nothing twice.
		 */
		if (store_attach_activate(ap->st, env->id) == 0)
			log_info("attach id=%s activated after a restart", env->id);
		v->protect = 0;
		pthread_mutex_unlock(&ap->lock);
		return 0;
	}
	for (size_t i = 0; i < env->nrcpt && !external; i++)
		external = outbound_is_external(ap->st, ap->cfg, env->rcpt[i].addr) == 1;
	rc = external ? already_done(ap->st, env->id) : 1;
	if (rc == 0)
		rc = strcmp(ap->cfg->attachment_protection, "zip") == 0 ?
		    protect_zip(ap, env, raw, rawlen, v) :
		    protect_link(ap, env, raw, rawlen, v);
	else if (rc == 1)
		rc = 0;
	pthread_mutex_unlock(&ap->lock);
	return rc;
}

/* ---- the scheduler's work ---- */

struct tick {
	struct store *st;
	const struct config *cfg;
	int64_t now;
	outbound_inject_fn inject;
	void *arg;
};

static int
send_mail(const struct tick *t, const char *kind, const char *lang, const char *to,
    const struct notify_var *vars, size_t nvars, const char *id)
{
	struct envelope *env;
	char *copy, *save = NULL, *msg;
	size_t len;

	if (to == NULL || *to == '\0')
		return 0;
	if ((msg = notify_compose(t->cfg, kind, lang, to, vars, nvars, &len)) == NULL) {
		log_err("attach: no template %s for id=%s", kind, id);
		return -1;
	}
	env = envelope_new();
	env->listener = xstrdup("outbound");
	env->mail_from = xstrdup("");
	env->helo = xstrdup(t->cfg->myhostname);
	env->received_ms = util_now_ms();
	copy = xstrdup(to);
	for (char *a = strtok_r(copy, " ", &save); a; a = strtok_r(NULL, " ", &save))
		envelope_add_rcpt(env, a, NULL, 0);
	free(copy);
	if (t->inject(t->arg, env, msg, len) < 0) {
		log_err("attach: cannot queue the %s mail for id=%s", kind, id);
		sodium_memzero(msg, len);
		free(msg);
		return -1;
	}
	log_info("notice id=%s kind=%s to=<%s>", id, kind, to);
	sodium_memzero(msg, len);
	free(msg);
	return 0;
}

static char *
file_lines(struct store *st, const char *id)
{
	struct attach_file *f;
	struct buf b = { 0 };
	char size[32];
	size_t n;

	if (store_attach_files(st, id, &f, &n) < 0)
		return xstrdup("");
	for (size_t i = 0; i < n; i++) {
		attach_link_size((uint64_t)f[i].size, size, sizeof(size));
		buf_printf(&b, "%s  - %s (%s)", i ? "\n" : "", f[i].name, size);
	}
	attach_files_free(f, n);
	return b.p ? buf_steal(&b, NULL) : xstrdup("");
}

/* The mails of one set.  0, or -1 (logged; not tried again). */
static int
set_mails(const struct tick *t, const struct attach_set *s)
{
	char until[64], max[32];
	char *files = NULL, *revoke = NULL;
	int rc = 0;

	util_local_time(s->expires_ms, "%Y-%m-%d %H:%M:%S %Z", until, sizeof(until));
	snprintf(max, sizeof(max), "%lld", (long long)s->max_downloads);
	if (strcmp(s->mode, "zip") == 0) {
		int to_rcpt = strcmp(t->cfg->attachment_zip_password_to, "recipient") == 0;
		struct notify_var v[] = { { "id", s->id }, { "sender", s->sender },
		    { "subject", s->subject ? s->subject : "" }, { "recipients", s->recipients },
		    { "password", s->secret ? s->secret : "" } };

		return send_mail(t, "attach_password", to_rcpt ? t->cfg->notify_language :
		    s->lang, to_rcpt ? s->recipients : s->sender, v, UTIL_ARRAY_LEN(v), s->id);
	}
	files = file_lines(t->st, s->id);
	if (*s->sender != '\0') {
		char tok[OUTBOUND_TOKEN_LEN + 1];

		if (outbound_token_new(t->st, s->id, "revoke", s->sender, s->expires_ms, tok) == 0)
			revoke = xasprintf("%s/dl/revoke/%s", t->cfg->console_url, tok);
		else
			log_err("attach: cannot keep a revoke token for id=%s: %s", s->id,
			    store_errmsg(t->st));
		sodium_memzero(tok, sizeof(tok));
	}
	{
		struct notify_var v[] = { { "id", s->id }, { "sender", s->sender },
		    { "subject", s->subject ? s->subject : "" }, { "recipients", s->recipients },
		    { "files", files }, { "expires_at", until }, { "max_downloads", max },
		    { "revoke_url", revoke ? revoke : "" },
		    { "code", s->secret ? s->secret : "" } };

		if (s->has_code && s->secret != NULL &&
		    send_mail(t, "attach_code", t->cfg->notify_language, s->recipients, v,
		    UTIL_ARRAY_LEN(v), s->id) < 0)
			rc = -1;
		v[UTIL_ARRAY_LEN(v) - 1].value = "";	/* the sender never sees the code */
		if (send_mail(t, "attach_link", s->lang, s->sender, v, UTIL_ARRAY_LEN(v),
		    s->id) < 0)
			rc = -1;
	}
	free(files);
	free(revoke);
	return rc;
}

/* 1 wait (still held or quarantined), 2 recalled or refused, 0 go. */
static int
message_fate(struct store *st, const char *id)
{
	struct envelope *env = NULL;
	struct queue_info qi;
	struct store_hold h;
	int rc;

	memset(&qi, 0, sizeof(qi));
	rc = store_msg_get(st, id, &env, &qi);
	envelope_free(env);
	if (rc == 0 && (qi.state == MSG_HELD || qi.state == MSG_QUARANTINED)) {
		queue_info_clear(&qi);
		return 1;
	}
	queue_info_clear(&qi);
	if (store_hold_get(st, id, &h) == 0) {
		rc = strcmp(h.status, "cancelled") == 0 || strcmp(h.status, "rejected") == 0 ||
		    strcmp(h.status, "expired") == 0 ? 2 : 0;
		store_hold_clear(&h);
		return rc;
	}
	return 0;
}

static void
purge(const struct tick *t)
{
	char (*ids)[QUEUE_ID_SIZE] = xcalloc(TICK_BATCH, QUEUE_ID_SIZE);
	int n = store_attach_purgeable(t->st, t->now, ids, TICK_BATCH);

	for (int i = 0; i < n; i++) {
		struct attach_file *f;
		size_t nf;

		if (store_attach_files(t->st, ids[i], &f, &nf) < 0)
			continue;
		for (size_t k = 0; k < nf; k++)
			if (unlink(f[k].path) < 0 && errno != ENOENT)
				log_warn("attach: cannot remove %s: %s", f[k].path, strerror(errno));
		attach_files_free(f, nf);
		if (store_attach_purged(t->st, ids[i]) == 0)
			log_info("attach id=%s files removed", ids[i]);
	}
	free(ids);
}

int
attach_link_tick(struct store *st, const struct config *cfg, int64_t now_ms,
    outbound_inject_fn inject, void *arg)
{
	struct tick t = { st, cfg, now_ms, inject, arg };
	struct attach_set *v;
	int n = store_attach_unnotified(st, &v, TICK_BATCH);

	if (n < 0) {
		log_err("attach: cannot list sets: %s", store_errmsg(st));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		int fate = message_fate(st, v[i].id);

		if (fate == 2 && store_attach_revoke(st, v[i].id, "recall", now_ms) == 0)
			log_info("attach id=%s revoked by=recall", v[i].id);
		if (fate != 1) {
			if (fate == 0)
				set_mails(&t, &v[i]);
			store_attach_notified(st, v[i].id);
		}
		attach_set_clear(&v[i]);
	}
	free(v);
	purge(&t);
	return n;
}

int
attach_link_revoke(struct store *st, const char *id, const char *by)
{
	int rc = store_attach_revoke(st, id, by, util_now_ms());

	if (rc == 0)
		log_info("attach id=%s revoked by=%s", id, by ? by : "-");
	return rc;
}

int
attach_link_revoke_token(struct store *st, const char *token)
{
	unsigned char hash[STORE_TOKEN_HASH];
	char id[QUEUE_ID_SIZE];
	char *owner = NULL;
	int rc;

	if (token == NULL || strlen(token) != OUTBOUND_TOKEN_LEN)
		return 1;
	outbound_token_hash(token, hash);
	if (store_begin(st) < 0)
		return -1;
	rc = store_token_use(st, hash, "revoke", util_now_ms(), id, &owner);
	if (rc == 0)
		rc = attach_link_revoke(st, id, owner ? owner : "link");
	if (rc < 0 || store_commit(st) < 0) {
		store_rollback(st);
		rc = -1;
	}
	free(owner);
	return rc;
}
