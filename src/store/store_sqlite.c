/*
 * store_sqlite.c - store.h over SQLite 3.
 *
 * Durability: WAL journal with synchronous=FULL, so a transaction is on disk
 * (the WAL fsynced) when COMMIT returns; that is what lets the SMTP server
 * say "250" after store_commit().  Every write that is not inside
 * store_begin()/store_commit() runs in its own BEGIN IMMEDIATE transaction,
 * so a message row and its recipient rows appear and change together.
 *
 * Concurrency: one struct store is one connection, for one thread at a time.
 * Many connections (threads, processes) may share one file: writers take the
 * write lock up front (BEGIN IMMEDIATE) and wait up to STORE_BUSY_MS for it,
 * since in WAL mode a deferred transaction that reads first and writes later
 * can fail with SQLITE_BUSY without waiting at all.
 *
 * Schema: PRAGMA user_version is the schema version; migrations[] moves a
 * database from any older version to the current one inside one write
 * transaction (so two processes opening a new file at once are serialised),
 * and records each step in the schema_version table.  A database newer than
 * this program is refused rather than guessed at.
 *
 * Statements are prepared on first use and kept per connection.  A
 * statement is always reset before the function that stepped it returns,
 * so callbacks (store_msg_foreach) may call back into the same store.
 *
 * Failure: -1 with the reason in store_errmsg() ("insert message: UNIQUE
 * constraint failed: messages.id").  A failed store_commit() rolls the
 * transaction back, so the connection is usable again; store_rollback()
 * outside a transaction is a no-op.  Memory returned to the caller (the
 * envelope, queue_info strings) is the caller's to free.
 */
#include "store/store.h"
#include "store/store_int.h"
#include "util/util.h"

#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STORE_BUSY_MS	10000
#define FOREACH_BATCH	256

/* Each entry moves the schema from version i to i + 1.  Append only. */
static const char *const migrations[] = {
	/* 1: messages, recipients, the version log. */
	"CREATE TABLE schema_version ("
	"  version INTEGER PRIMARY KEY,"
	"  applied_ms INTEGER NOT NULL);"
	"CREATE TABLE messages ("
	"  id TEXT PRIMARY KEY NOT NULL CHECK (length(id) BETWEEN 1 AND 23),"
	"  listener TEXT,"
	"  client_addr TEXT,"
	"  client_name TEXT,"
	"  helo TEXT,"
	"  tls TEXT,"
	"  auth_user TEXT,"
	"  mail_from TEXT,"
	"  body INTEGER NOT NULL DEFAULT 0,"
	"  smtputf8 INTEGER NOT NULL DEFAULT 0,"
	"  ret INTEGER NOT NULL DEFAULT 0,"
	"  envid TEXT,"
	"  received_ms INTEGER NOT NULL DEFAULT 0,"
	"  size INTEGER NOT NULL DEFAULT 0,"
	"  state INTEGER NOT NULL CHECK (state BETWEEN 1 AND 5),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  created_ms INTEGER NOT NULL DEFAULT 0,"
	"  next_try_ms INTEGER NOT NULL DEFAULT 0,"
	"  action TEXT,"
	"  last_error TEXT);"
	"CREATE TABLE recipients ("
	"  msg_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
	"  idx INTEGER NOT NULL,"
	"  addr TEXT NOT NULL,"
	"  orcpt TEXT,"
	"  notify INTEGER NOT NULL DEFAULT 0,"
	"  status INTEGER NOT NULL DEFAULT 0,"
	"  reply TEXT,"
	"  PRIMARY KEY (msg_id, idx)) WITHOUT ROWID;"
	"CREATE INDEX messages_due ON messages(state, next_try_ms);"
	"CREATE INDEX messages_age ON messages(state, created_ms);"
	"CREATE INDEX messages_created ON messages(created_ms);",
	/* 2: the analysis result (JSON) and the subject, for quarantine and logs. */
	"ALTER TABLE messages ADD COLUMN scan TEXT;"
	"ALTER TABLE messages ADD COLUMN subject TEXT;",
	/* 3: learned models and the messages they learned (to undo a learn). */
	"CREATE TABLE models ("
	"  name TEXT PRIMARY KEY NOT NULL,"
	"  version INTEGER NOT NULL,"
	"  updated_ms INTEGER NOT NULL,"
	"  data BLOB NOT NULL);"
	"CREATE TABLE learned ("
	"  model TEXT NOT NULL,"
	"  digest TEXT NOT NULL,"
	"  spam INTEGER NOT NULL CHECK (spam IN (0, 1)),"
	"  step INTEGER NOT NULL,"
	"  bias_step INTEGER NOT NULL,"
	"  fsum INTEGER NOT NULL,"
	"  source TEXT NOT NULL,"
	"  learned_ms INTEGER NOT NULL,"
	"  PRIMARY KEY (model, digest)) WITHOUT ROWID;",
	/* 4: correspondents of each organisation (detect_phish first contact). */
	"CREATE TABLE correspondents ("
	"  org TEXT NOT NULL,"
	"  domain TEXT NOT NULL,"
	"  first_ms INTEGER NOT NULL,"
	"  last_ms INTEGER NOT NULL,"
	"  inbound INTEGER NOT NULL DEFAULT 0,"
	"  outbound INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (org, domain)) WITHOUT ROWID;",
	/* 5: account locks, login events and alerts (store_account.h). */
	"CREATE TABLE account_locks ("
	"  login TEXT PRIMARY KEY NOT NULL,"
	"  created_ms INTEGER NOT NULL,"
	"  until_ms INTEGER NOT NULL DEFAULT 0,"
	"  reason TEXT NOT NULL DEFAULT '') WITHOUT ROWID;"
	"CREATE TABLE login_events ("
	"  id INTEGER PRIMARY KEY,"
	"  time_ms INTEGER NOT NULL,"
	"  login TEXT NOT NULL,"
	"  ip TEXT NOT NULL DEFAULT '',"
	"  protocol TEXT NOT NULL DEFAULT '',"
	"  source TEXT NOT NULL DEFAULT '',"
	"  country TEXT NOT NULL DEFAULT '',"
	"  lat REAL NOT NULL DEFAULT 0,"
	"  lon REAL NOT NULL DEFAULT 0,"
	"  has_geo INTEGER NOT NULL DEFAULT 0,"
	"  result INTEGER NOT NULL CHECK (result BETWEEN 1 AND 3));"
	"CREATE INDEX login_events_login ON login_events(login, time_ms);"
	"CREATE INDEX login_events_time ON login_events(time_ms);"
	"CREATE TABLE alerts ("
	"  id INTEGER PRIMARY KEY,"
	"  time_ms INTEGER NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  login TEXT NOT NULL DEFAULT '',"
	"  ip TEXT NOT NULL DEFAULT '',"
	"  detail TEXT NOT NULL DEFAULT '',"
	"  acknowledged INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX alerts_time ON alerts(time_ms);",
	/* 6: Sieve audits, forced password changes, incidents (store_audit.h). */
	"CREATE TABLE sieve_audits ("
	"  login TEXT PRIMARY KEY NOT NULL,"
	"  audited_ms INTEGER NOT NULL,"
	"  digest TEXT NOT NULL,"
	"  findings TEXT NOT NULL DEFAULT '[]') WITHOUT ROWID;"
	"CREATE TABLE password_changes ("
	"  login TEXT PRIMARY KEY NOT NULL,"
	"  since_ms INTEGER NOT NULL,"
	"  reason TEXT NOT NULL DEFAULT '') WITHOUT ROWID;"
	"CREATE TABLE incidents ("
	"  id INTEGER PRIMARY KEY,"
	"  login TEXT NOT NULL,"
	"  opened_ms INTEGER NOT NULL,"
	"  opened_by TEXT NOT NULL DEFAULT '',"
	"  closed_ms INTEGER NOT NULL DEFAULT 0,"
	"  closed_by TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX incidents_login ON incidents(login, closed_ms);"
	"CREATE TABLE incident_steps ("
	"  incident_id INTEGER NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,"
	"  step INTEGER NOT NULL CHECK (step BETWEEN 1 AND 4),"
	"  done INTEGER NOT NULL DEFAULT 0,"
	"  done_ms INTEGER NOT NULL DEFAULT 0,"
	"  actor TEXT NOT NULL DEFAULT '',"
	"  note TEXT NOT NULL DEFAULT '',"
	"  PRIMARY KEY (incident_id, step)) WITHOUT ROWID;"
	"CREATE TABLE incident_events ("
	"  id INTEGER PRIMARY KEY,"
	"  incident_id INTEGER NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,"
	"  time_ms INTEGER NOT NULL,"
	"  step INTEGER NOT NULL DEFAULT 0,"
	"  actor TEXT NOT NULL DEFAULT '',"
	"  what TEXT NOT NULL,"
	"  detail TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX incident_events_incident ON incident_events(incident_id, id);"
	"CREATE INDEX messages_auth_user ON messages(auth_user, received_ms);",
	/* 7: what each user sent, kept after delivery (store_audit.h). */
	"CREATE TABLE user_sent ("
	"  login TEXT NOT NULL,"
	"  msg_id TEXT NOT NULL,"
	"  time_ms INTEGER NOT NULL,"
	"  action TEXT NOT NULL DEFAULT '',"
	"  score REAL NOT NULL DEFAULT 0,"
	"  subject TEXT NOT NULL DEFAULT '',"
	"  recipients INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (login, time_ms, msg_id)) WITHOUT ROWID;"
	"CREATE TABLE user_contacts ("
	"  login TEXT NOT NULL,"
	"  addr TEXT NOT NULL,"
	"  first_ms INTEGER NOT NULL,"
	"  last_ms INTEGER NOT NULL,"
	"  messages INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (login, addr)) WITHOUT ROWID;",
	/* 8: outbound: the directory, holds and approvals, link tokens'
	 * hashes (store_sqlite_outbound.c). */
	"CREATE TABLE directory ("
	"  kind INTEGER NOT NULL CHECK (kind BETWEEN 1 AND 3),"
	"  key TEXT NOT NULL,"
	"  name TEXT,"
	"  department TEXT,"
	"  approvers TEXT,"
	"  delegate TEXT,"
	"  language TEXT,"
	"  hold_minutes INTEGER NOT NULL DEFAULT -1,"
	"  members TEXT,"
	"  PRIMARY KEY (kind, key)) WITHOUT ROWID;"
	"CREATE TABLE holds ("
	"  msg_id TEXT PRIMARY KEY NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  status TEXT NOT NULL,"
	"  sender TEXT,"
	"  lang TEXT,"
	"  approvers TEXT,"
	"  risk REAL NOT NULL DEFAULT 0,"
	"  reasons TEXT,"
	"  created_ms INTEGER NOT NULL,"
	"  release_at INTEGER NOT NULL DEFAULT 0,"
	"  deadline_at INTEGER NOT NULL DEFAULT 0,"
	"  reminder_at INTEGER NOT NULL DEFAULT 0,"
	"  notified INTEGER NOT NULL DEFAULT 0,"
	"  reminded INTEGER NOT NULL DEFAULT 0,"
	"  outcome_notified INTEGER NOT NULL DEFAULT 0,"
	"  purged INTEGER NOT NULL DEFAULT 0,"
	"  decided_by TEXT,"
	"  comment TEXT,"
	"  decided_ms INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX holds_status ON holds(status, created_ms);"
	"CREATE TABLE hold_tokens ("
	"  hash BLOB PRIMARY KEY NOT NULL,"
	"  msg_id TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  owner TEXT,"
	"  expires_ms INTEGER NOT NULL,"
	"  used_ms INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
	"CREATE INDEX hold_tokens_msg ON hold_tokens(msg_id);",
	/* 9: whom each sender mails (detect_outbound.c first recipient and
	 * lookalike checks; store_sqlite_recipients.c). */
	"CREATE TABLE out_recipients ("
	"  sender TEXT NOT NULL,"
	"  rcpt TEXT NOT NULL,"
	"  org TEXT NOT NULL,"
	"  domain TEXT NOT NULL,"
	"  first_ms INTEGER NOT NULL,"
	"  last_ms INTEGER NOT NULL,"
	"  count INTEGER NOT NULL DEFAULT 1,"
	"  PRIMARY KEY (sender, rcpt)) WITHOUT ROWID;"
	"CREATE INDEX out_recipients_org ON out_recipients(org, domain);",
	/* 10: the holds with something left to do, for the scheduler's tick
	 * (store_hold_work), which would otherwise read every hold ever kept. */
	"CREATE INDEX holds_open ON holds(created_ms, msg_id)"
	"  WHERE status = 'held' OR outcome_notified = 0 OR purged = 0;",
	/*
	 * 11: the console (store_console.h): users, sessions, audit log, login
	 * failures; and the message log, one compact row per verdict kept after
	 * the message row is gone (delivered rows are deleted).  Triggers write
	 * the log, so every writer of messages (daemon, CLI, API) feeds it
	 * without knowing it exists: the first action recorded makes the row,
	 * later state changes follow it, and a deletion marks it done (or
	 * deleted, for quarantined and held mail).  A RECEIVED row deleted
	 * without an action is a message refused during the SMTP dialogue.
	 * JSON stays valid or is ignored: a trigger must never fail the queue.
	 */
	"CREATE TABLE console_users ("
	"  name TEXT PRIMARY KEY NOT NULL,"
	"  pwhash TEXT NOT NULL,"
	"  role TEXT NOT NULL CHECK (role IN ('admin', 'approver', 'user')),"
	"  email TEXT NOT NULL DEFAULT '',"
	"  lang TEXT NOT NULL DEFAULT 'ja',"
	"  totp_secret TEXT NOT NULL,"
	"  totp_last_step INTEGER NOT NULL DEFAULT 0,"
	"  created_ms INTEGER NOT NULL);"
	"CREATE TABLE console_sessions ("
	"  hash TEXT PRIMARY KEY NOT NULL,"
	"  user TEXT NOT NULL REFERENCES console_users(name) ON DELETE CASCADE,"
	"  csrf TEXT NOT NULL,"
	"  ip TEXT,"
	"  created_ms INTEGER NOT NULL,"
	"  last_ms INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX console_sessions_user ON console_sessions(user);"
	"CREATE TABLE console_audit ("
	"  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  t_ms INTEGER NOT NULL,"
	"  user TEXT, ip TEXT, action TEXT NOT NULL, target TEXT, detail TEXT);"
	"CREATE TABLE console_login_failures ("
	"  seq INTEGER PRIMARY KEY,"
	"  t_ms INTEGER NOT NULL,"
	"  user TEXT NOT NULL,"
	"  ip TEXT NOT NULL,"
	"  refused INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX console_login_failures_user ON console_login_failures(user, t_ms);"
	"CREATE INDEX console_login_failures_ip ON console_login_failures(ip, t_ms);"
	"CREATE TABLE msglog ("
	"  id TEXT PRIMARY KEY NOT NULL,"
	"  received_ms INTEGER NOT NULL,"
	"  direction TEXT NOT NULL,"
	"  mail_from TEXT,"
	"  rcpts TEXT NOT NULL DEFAULT '[]',"
	"  subject TEXT,"
	"  action TEXT NOT NULL,"
	"  score REAL,"
	"  symbols TEXT NOT NULL DEFAULT '[]',"
	"  state INTEGER NOT NULL);"
	"CREATE INDEX msglog_received ON msglog(received_ms);"
	"CREATE TRIGGER msglog_verdict AFTER UPDATE OF action ON messages"
	"  WHEN OLD.action IS NULL AND NEW.action IS NOT NULL BEGIN"
	"  INSERT OR REPLACE INTO msglog (id, received_ms, direction, mail_from, rcpts,"
	"    subject, action, score, symbols, state) VALUES (NEW.id, NEW.received_ms,"
	"    CASE WHEN NEW.listener = 'outbound' THEN 'outbound' ELSE 'inbound' END,"
	"    NEW.mail_from,"
	"    (SELECT json_group_array(addr) FROM (SELECT addr FROM recipients"
	"      WHERE msg_id = NEW.id ORDER BY idx)),"
	"    NEW.subject, NEW.action,"
	"    CASE WHEN json_valid(NEW.scan) THEN json_extract(NEW.scan, '$.score') END,"
	"    (SELECT json_group_array(json_extract(value, '$.name')) FROM json_each("
	"      CASE WHEN json_valid(NEW.scan) THEN NEW.scan ELSE '{}' END, '$.symbols')),"
	"    NEW.state);"
	"  END;"
	"CREATE TRIGGER msglog_state AFTER UPDATE OF state ON messages"
	"  WHEN OLD.state != NEW.state BEGIN"
	"  UPDATE msglog SET state = NEW.state WHERE id = NEW.id;"
	"  END;"
	"CREATE TRIGGER msglog_gone BEFORE DELETE ON messages BEGIN"
	"  UPDATE msglog SET state = CASE WHEN OLD.state IN (3, 4) THEN 6 ELSE 5 END"
	"    WHERE id = OLD.id;"
	"  INSERT OR IGNORE INTO msglog (id, received_ms, direction, mail_from, rcpts,"
	"    subject, action, state) SELECT OLD.id, OLD.received_ms,"
	"    CASE WHEN OLD.listener = 'outbound' THEN 'outbound' ELSE 'inbound' END,"
	"    OLD.mail_from,"
	"    (SELECT json_group_array(addr) FROM (SELECT addr FROM recipients"
	"      WHERE msg_id = OLD.id ORDER BY idx)),"
	"    OLD.subject, 'reject', 5"
	"    WHERE OLD.action IS NULL AND OLD.state = 1;"
	"  END;",
	/* 12: protected attachments: download-link sets, their files and
	 * downloads (store_sqlite_attach.c). */
	"CREATE TABLE attach_sets ("
	"  id TEXT PRIMARY KEY NOT NULL,"
	"  hash BLOB UNIQUE,"
	"  mode TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  sender TEXT, recipients TEXT, lang TEXT, subject TEXT,"
	"  created_ms INTEGER NOT NULL,"
	"  expires_ms INTEGER NOT NULL,"
	"  max_downloads INTEGER NOT NULL DEFAULT 0,"
	"  downloads INTEGER NOT NULL DEFAULT 0,"
	"  code_hash BLOB,"
	"  secret TEXT,"
	"  notified INTEGER NOT NULL DEFAULT 0,"
	"  purged INTEGER NOT NULL DEFAULT 0,"
	"  revoked_ms INTEGER NOT NULL DEFAULT 0,"
	"  revoked_by TEXT);"
	"CREATE INDEX attach_sets_work ON attach_sets(state, notified);"
	"CREATE TABLE attach_files ("
	"  set_id TEXT NOT NULL,"
	"  idx INTEGER NOT NULL,"
	"  name TEXT NOT NULL,"
	"  ctype TEXT NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  path TEXT NOT NULL,"
	"  PRIMARY KEY (set_id, idx)) WITHOUT ROWID;"
	"CREATE TABLE attach_downloads ("
	"  seq INTEGER PRIMARY KEY,"
	"  set_id TEXT NOT NULL,"
	"  idx INTEGER NOT NULL,"
	"  t_ms INTEGER NOT NULL,"
	"  ip TEXT, agent TEXT,"
	"  result TEXT NOT NULL);"
	"CREATE INDEX attach_downloads_set ON attach_downloads(set_id, seq);",
	/* 13: notification mails: the alert mail throttle and each recipient's
	 * last quarantine digest (store_sqlite_notify.c). */
	"CREATE TABLE alert_mails ("
	"  kind TEXT NOT NULL,"
	"  who TEXT NOT NULL,"
	"  last_ms INTEGER NOT NULL,"
	"  PRIMARY KEY (kind, who)) WITHOUT ROWID;"
	"CREATE TABLE quarantine_digests ("
	"  rcpt TEXT PRIMARY KEY NOT NULL,"
	"  sent_ms INTEGER NOT NULL,"
	"  cutoff_ms INTEGER NOT NULL) WITHOUT ROWID;",
	/*
	 * 14: compromised-account detection (store_takeover.h): per sender an
	 * hourly summary of what it sent and the external domains of each hour
	 * (pruned after takeover_history), accounts suspended for sending, and
	 * the fingerprint of each sender's last signature block.
	 */
	"CREATE TABLE sender_hours ("
	"  login TEXT NOT NULL,"
	"  hour INTEGER NOT NULL,"
	"  msgs INTEGER NOT NULL DEFAULT 0,"
	"  rcpts INTEGER NOT NULL DEFAULT 0,"
	"  new_rcpts INTEGER NOT NULL DEFAULT 0,"
	"  domains INTEGER NOT NULL DEFAULT 0,"
	"  score_sum REAL NOT NULL DEFAULT 0,"
	"  score_max REAL NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (login, hour)) WITHOUT ROWID;"
	"CREATE INDEX sender_hours_hour ON sender_hours(hour);"
	"CREATE TABLE sender_hour_domains ("
	"  login TEXT NOT NULL,"
	"  hour INTEGER NOT NULL,"
	"  domain TEXT NOT NULL,"
	"  PRIMARY KEY (login, hour, domain)) WITHOUT ROWID;"
	"CREATE INDEX sender_hour_domains_hour ON sender_hour_domains(hour);"
	"CREATE TABLE account_suspensions ("
	"  login TEXT PRIMARY KEY NOT NULL,"
	"  since_ms INTEGER NOT NULL,"
	"  reason TEXT NOT NULL DEFAULT '',"
	"  incident_id INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
	"CREATE TABLE sender_signatures ("
	"  login TEXT PRIMARY KEY NOT NULL,"
	"  fingerprint TEXT NOT NULL,"
	"  items TEXT NOT NULL DEFAULT '',"
	"  updated_ms INTEGER NOT NULL) WITHOUT ROWID;",
	/*
	 * 15: how many messages had each symbol, per hour (the dashboard's top
	 * symbols, /metrics), kept by triggers beside the message log: reading
	 * a day of the log itself parsed every message's symbols (2.2 s at
	 * 200,000 messages).  A verdict that replaces a row of the log first
	 * takes the old row's symbols off.  Pruned with the log.
	 */
	"CREATE TABLE symbol_hits ("
	"  hour INTEGER NOT NULL,"
	"  symbol TEXT NOT NULL,"
	"  n INTEGER NOT NULL,"
	"  PRIMARY KEY (hour, symbol)) WITHOUT ROWID;"
	"INSERT INTO symbol_hits (hour, symbol, n) SELECT l.received_ms / 3600000, j.value,"
	"  count(*) FROM msglog l, json_each(l.symbols) j WHERE j.value IS NOT NULL"
	"  GROUP BY 1, 2;"
	"CREATE TRIGGER symbol_hits_add AFTER INSERT ON msglog BEGIN"
	"  INSERT INTO symbol_hits (hour, symbol, n) SELECT NEW.received_ms / 3600000,"
	"    value, 1 FROM json_each(NEW.symbols) WHERE value IS NOT NULL"
	"    ON CONFLICT (hour, symbol) DO UPDATE SET n = n + 1;"
	"  END;"
	"CREATE TRIGGER symbol_hits_replace BEFORE UPDATE OF action ON messages"
	"  WHEN OLD.action IS NULL AND NEW.action IS NOT NULL BEGIN"
	"  UPDATE symbol_hits SET n = n - 1 WHERE (hour, symbol) IN"
	"    (SELECT l.received_ms / 3600000, j.value FROM msglog l, json_each(l.symbols) j"
	"     WHERE l.id = NEW.id);"
	"  END;",
};
#define SCHEMA_VERSION ((int)UTIL_ARRAY_LEN(migrations))

#define MSG_COLUMNS \
	"id, listener, client_addr, client_name, helo, tls, auth_user," \
	" mail_from, body, smtputf8, ret, envid, received_ms, size, state," \
	" attempts, created_ms, next_try_ms, action, last_error, scan, subject"

enum stmt_id {
	S_BEGIN,
	S_BEGIN_IMMEDIATE,
	S_COMMIT,
	S_ROLLBACK,
	S_SAVEPOINT,
	S_RELEASE,
	S_ROLLBACK_TO,
	S_MSG_INSERT,
	S_RCPT_INSERT,
	S_MSG_UPDATE,
	S_RCPT_UPDATE,
	S_MSG_GET,
	S_RCPT_GET,
	S_MSG_DELETE,
	S_MSG_DUE,
	S_MSG_PAGE_ALL,
	S_MSG_PAGE_STATE,
	S_COUNT_ALL,
	S_COUNT_STATE,
	S_MODEL_GET,
	S_MODEL_VERSION,
	S_MODEL_PUT,
	S_MODEL_DELETE,
	S_LEARNED_DELETE_ALL,
	S_LEARNED_GET,
	S_LEARNED_PUT,
	S_LEARNED_DELETE,
	S_LEARNED_COUNT,
	S_LEARNED_COUNT_LABEL,
	S_CORR_GET,
	S_CORR_NOTE,
	S_CORR_SINCE,
	S_CORR_LIST,
	S_COUNT_
};

static const char *const stmt_sql[S_COUNT_] = {
	[S_BEGIN] = "BEGIN",
	[S_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_SAVEPOINT] = "SAVEPOINT store_op",
	[S_RELEASE] = "RELEASE store_op",
	[S_ROLLBACK_TO] = "ROLLBACK TO store_op",
	[S_MSG_INSERT] = "INSERT INTO messages (" MSG_COLUMNS ") VALUES"
	    " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
	    " ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)",
	[S_RCPT_INSERT] = "INSERT INTO recipients"
	    " (msg_id, idx, addr, orcpt, notify, status, reply)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[S_MSG_UPDATE] = "UPDATE messages SET state = ?2, attempts = ?3,"
	    " next_try_ms = ?4, action = ?5, last_error = ?6, scan = ?7,"
	    " subject = ?8, size = ?9 WHERE id = ?1",
	[S_RCPT_UPDATE] = "UPDATE recipients SET status = ?3, reply = ?4"
	    " WHERE msg_id = ?1 AND idx = ?2",
	[S_MSG_GET] = "SELECT " MSG_COLUMNS " FROM messages WHERE id = ?1",
	[S_RCPT_GET] = "SELECT addr, orcpt, notify, status, reply"
	    " FROM recipients WHERE msg_id = ?1 ORDER BY idx",
	[S_MSG_DELETE] = "DELETE FROM messages WHERE id = ?1",
	[S_MSG_DUE] = "SELECT id FROM messages WHERE state = ?1"
	    " AND next_try_ms <= ?2 ORDER BY next_try_ms, id LIMIT ?3",
	/* Keyset pages: (created_ms, id) after the last one seen. */
	[S_MSG_PAGE_ALL] = "SELECT created_ms, id FROM messages"
	    " WHERE (created_ms, id) > (?1, ?2)"
	    " ORDER BY created_ms, id LIMIT ?3",
	[S_MSG_PAGE_STATE] = "SELECT created_ms, id FROM messages"
	    " WHERE state = ?4 AND (created_ms, id) > (?1, ?2)"
	    " ORDER BY created_ms, id LIMIT ?3",
	[S_COUNT_ALL] = "SELECT count(*) FROM messages",
	[S_COUNT_STATE] = "SELECT count(*) FROM messages WHERE state = ?1",
	[S_MODEL_GET] = "SELECT version, updated_ms, data FROM models WHERE name = ?1",
	[S_MODEL_VERSION] = "SELECT version FROM models WHERE name = ?1",
	[S_MODEL_PUT] = "INSERT INTO models (name, version, updated_ms, data)"
	    " VALUES (?1, 1, ?2, ?3) ON CONFLICT (name) DO UPDATE SET"
	    " version = version + 1, updated_ms = ?2, data = ?3"
	    " RETURNING version",
	[S_MODEL_DELETE] = "DELETE FROM models WHERE name = ?1",
	[S_LEARNED_DELETE_ALL] = "DELETE FROM learned WHERE model = ?1",
	[S_LEARNED_GET] = "SELECT spam, step, bias_step, fsum, source, learned_ms"
	    " FROM learned WHERE model = ?1 AND digest = ?2",
	[S_LEARNED_PUT] = "INSERT OR REPLACE INTO learned (model, digest, spam, step,"
	    " bias_step, fsum, source, learned_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[S_LEARNED_DELETE] = "DELETE FROM learned WHERE model = ?1 AND digest = ?2",
	[S_LEARNED_COUNT] = "SELECT count(*) FROM learned WHERE model = ?1",
	[S_LEARNED_COUNT_LABEL] = "SELECT count(*) FROM learned WHERE model = ?1 AND spam = ?2",
	[S_CORR_GET] = "SELECT first_ms, last_ms, inbound, outbound FROM correspondents"
	    " WHERE org = ?1 AND domain = ?2",
	[S_CORR_NOTE] = "INSERT INTO correspondents (org, domain, first_ms, last_ms, inbound,"
	    " outbound) VALUES (?1, ?2, ?3, ?3, ?4, ?5) ON CONFLICT (org, domain) DO UPDATE"
	    " SET last_ms = max(last_ms, ?3), inbound = inbound + ?4, outbound = outbound + ?5",
	[S_CORR_SINCE] = "SELECT min(first_ms) FROM correspondents WHERE org = ?1",
	[S_CORR_LIST] = "SELECT domain, first_ms, last_ms, inbound, outbound FROM correspondents"
	    " WHERE org = ?1 ORDER BY domain",
};

struct store {
	sqlite3 *db;
	sqlite3_stmt *stmt[S_COUNT_];
	struct store_xstmt xstmt[STORE_XSTMT_MAX];
	char err[512];
};

sqlite3 *
store_db(struct store *st)
{
	return st->db;
}

void
store_seterr(struct store *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->err, sizeof(st->err), fmt, ap);
	va_end(ap);
}

int
store_db_fail(struct store *st, const char *what)
{
	store_seterr(st, "%s: %s", what, sqlite3_errmsg(st->db));
	return -1;
}

static sqlite3_stmt *
stmt_get(struct store *st, enum stmt_id id)
{
	if (st->stmt[id] == NULL &&
	    sqlite3_prepare_v3(st->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
	    &st->stmt[id], NULL) != SQLITE_OK) {
		store_db_fail(st, "prepare");
		st->stmt[id] = NULL;
		return NULL;
	}
	return st->stmt[id];
}

sqlite3_stmt *
store_xstmt(struct store *st, const char *sql)
{
	size_t i;

	for (i = 0; i < STORE_XSTMT_MAX && st->xstmt[i].sql != NULL; i++)
		if (st->xstmt[i].sql == sql)
			return st->xstmt[i].stmt;
	if (i == STORE_XSTMT_MAX) {
		store_seterr(st, "prepare: more than %d statements", STORE_XSTMT_MAX);
		return NULL;
	}
	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    &st->xstmt[i].stmt, NULL) != SQLITE_OK) {
		store_db_fail(st, "prepare");
		st->xstmt[i].stmt = NULL;
		return NULL;
	}
	st->xstmt[i].sql = sql;
	return st->xstmt[i].stmt;
}

void
store_stmt_done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

int
store_stmt_run(struct store *st, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	if (rc != SQLITE_DONE)
		store_db_fail(st, what);
	store_stmt_done(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Run a statement without result rows (BEGIN, COMMIT...). */
static int
stmt_exec(struct store *st, enum stmt_id id, const char *what)
{
	sqlite3_stmt *s = stmt_get(st, id);
	int rc;

	if (s == NULL)
		return -1;
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		store_db_fail(st, what);
		store_stmt_done(s);
		return -1;
	}
	store_stmt_done(s);
	return 0;
}

int
store_step_row(struct store *st, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return 1;
	return store_db_fail(st, what);
}

int
store_bind_text(sqlite3_stmt *s, int i, const char *v)
{
	return v ? sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(s, i);
}

char *
store_col_text(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return t ? xstrdup((const char *)t) : NULL;
}

void
store_col_copy(sqlite3_stmt *s, int i, char *dst, size_t size)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	util_strlcpy(dst, t ? (const char *)t : "", size);
}

/*
 * Implicit transactions.  Outside store_begin() a write takes its own
 * BEGIN IMMEDIATE ... COMMIT, and a multi-statement read a deferred BEGIN so
 * it sees one snapshot.  Inside store_begin() a write runs in a savepoint,
 * so a call that fails half-way (message row in, a recipient refused)
 * leaves nothing behind and the caller's transaction goes on.
 */
int
store_tx_enter(struct store *st, int write, enum tx_kind *kind)
{
	if (sqlite3_get_autocommit(st->db)) {
		*kind = TX_OWN;
		return stmt_exec(st, write ? S_BEGIN_IMMEDIATE : S_BEGIN, "begin");
	}
	*kind = write ? TX_SAVEPOINT : TX_NONE;
	return write ? stmt_exec(st, S_SAVEPOINT, "savepoint") : 0;
}

int
store_tx_leave(struct store *st, enum tx_kind kind, int rc)
{
	char saved[sizeof(st->err)];

	switch (kind) {
	case TX_NONE:
		return rc;
	case TX_OWN:
		if (rc >= 0) {
			if (stmt_exec(st, S_COMMIT, "commit") == 0)
				return rc;
			rc = -1;
		}
		memcpy(saved, st->err, sizeof(saved));
		if (!sqlite3_get_autocommit(st->db))
			stmt_exec(st, S_ROLLBACK, "rollback");
		memcpy(st->err, saved, sizeof(saved));
		return rc;
	case TX_SAVEPOINT:
		memcpy(saved, st->err, sizeof(saved));
		if (rc < 0 && stmt_exec(st, S_ROLLBACK_TO, "rollback to savepoint") < 0)
			rc = -1;
		if (stmt_exec(st, S_RELEASE, "release savepoint") < 0)
			rc = -1;
		if (rc < 0)
			memcpy(st->err, saved, sizeof(saved));
		return rc;
	}
	return -1;
}

/* ---- open, close, schema ---- */

static int
exec_sql(struct store *st, const char *sql, const char *what)
{
	char *msg = NULL;

	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		store_seterr(st, "%s: %s", what, msg ? msg : sqlite3_errmsg(st->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int
pragma_int(struct store *st, const char *sql, int *out)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_db_fail(st, sql);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return store_db_fail(st, sql);
	return 0;
}

static int
set_wal(struct store *st, const char *path)
{
	sqlite3_stmt *s;
	const unsigned char *mode;
	int rc, ok = 0;

	if (sqlite3_prepare_v2(st->db, "PRAGMA journal_mode=WAL", -1, &s, NULL) != SQLITE_OK)
		return store_db_fail(st, "journal_mode");
	/* Switching to WAL can report SQLITE_BUSY without calling the busy
	 * handler while another connection opens or converts the same new
	 * file, so this one statement waits for itself. */
	for (int waited = 0;; waited += 10) {
		rc = sqlite3_step(s);
		if ((rc & 0xff) != SQLITE_BUSY || waited >= STORE_BUSY_MS)
			break;
		sqlite3_reset(s);
		sqlite3_sleep(10);
	}
	if (rc == SQLITE_ROW) {
		mode = sqlite3_column_text(s, 0);
		ok = mode != NULL && (strcmp((const char *)mode, "wal") == 0 ||
		    (strcmp((const char *)mode, "memory") == 0 &&
		    strcmp(path, ":memory:") == 0));
		if (!ok)
			store_seterr(st, "journal_mode: WAL refused (mode %s)",
			    mode ? (const char *)mode : "?");
	} else {
		store_db_fail(st, "journal_mode");
	}
	sqlite3_finalize(s);
	return ok ? 0 : -1;
}

static int
migrate(struct store *st)
{
	int version;
	enum tx_kind own;
	char sql[128];

	if (store_tx_enter(st, 1, &own) < 0)
		return -1;
	if (pragma_int(st, "PRAGMA user_version", &version) < 0)
		goto fail;
	if (version > SCHEMA_VERSION) {
		store_seterr(st, "database schema version %d is newer than"
		    " this program's (%d)", version, SCHEMA_VERSION);
		goto fail;
	}
	for (; version < SCHEMA_VERSION; version++) {
		snprintf(sql, sizeof(sql), "migration %d", version + 1);
		if (exec_sql(st, migrations[version], sql) < 0)
			goto fail;
		snprintf(sql, sizeof(sql), "INSERT INTO schema_version"
		    " VALUES (%d, %lld); PRAGMA user_version = %d",
		    version + 1, (long long)util_now_ms(), version + 1);
		if (exec_sql(st, sql, "schema version") < 0)
			goto fail;
	}
	return store_tx_leave(st, own, 0);
fail:
	return store_tx_leave(st, own, -1);
}

struct store *
store_open(const char *path, char *err, size_t errlen)
{
	struct store *st = xcalloc(1, sizeof(*st));
	int rc, fk = 0;

	if (!sqlite3_threadsafe()) {
		store_seterr(st, "sqlite3 was built without thread support");
		goto fail;
	}
	/* NOMUTEX: a connection is used by one thread at a time (store.h). */
	rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		store_seterr(st, "open %s: %s", path,
		    st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	/* Before anything that may wait for another connection. */
	sqlite3_busy_timeout(st->db, STORE_BUSY_MS);
	if (exec_sql(st, "PRAGMA foreign_keys = ON", "foreign_keys") < 0 ||
	    pragma_int(st, "PRAGMA foreign_keys", &fk) < 0)
		goto fail;
	if (!fk) {
		store_seterr(st, "sqlite3 was built without foreign keys");
		goto fail;
	}
	if (set_wal(st, path) < 0 ||
	    exec_sql(st, "PRAGMA synchronous = FULL", "synchronous") < 0 ||
	    migrate(st) < 0)
		goto fail;
	return st;
fail:
	if (err != NULL && errlen > 0)
		util_strlcpy(err, st->err, errlen);
	store_close(st);
	return NULL;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	for (size_t i = 0; i < S_COUNT_; i++)
		sqlite3_finalize(st->stmt[i]);
	for (size_t i = 0; i < STORE_XSTMT_MAX; i++)
		sqlite3_finalize(st->xstmt[i].stmt);
	/* A transaction left open is rolled back by sqlite3_close. */
	if (st->db != NULL)
		sqlite3_close(st->db);
	free(st);
}

int
store_relaxed(struct store *st)
{
	return exec_sql(st, "PRAGMA synchronous = NORMAL", "synchronous");
}

const char *
store_errmsg(struct store *st)
{
	return st ? st->err : "no store";
}

int
store_begin(struct store *st)
{
	if (!sqlite3_get_autocommit(st->db)) {
		store_seterr(st, "begin: a transaction is already open");
		return -1;
	}
	return stmt_exec(st, S_BEGIN_IMMEDIATE, "begin");
}

int
store_commit(struct store *st)
{
	if (sqlite3_get_autocommit(st->db)) {
		store_seterr(st, "commit: no transaction is open");
		return -1;
	}
	/* Commits, or rolls back and keeps the commit's error. */
	return store_tx_leave(st, TX_OWN, 0);
}

int
store_rollback(struct store *st)
{
	if (sqlite3_get_autocommit(st->db))
		return 0;
	return stmt_exec(st, S_ROLLBACK, "rollback");
}

/* ---- messages ---- */

static int
insert_rows(struct store *st, const struct envelope *env, const struct queue_info *qi)
{
	sqlite3_stmt *s;

	if ((s = stmt_get(st, S_MSG_INSERT)) == NULL)
		return -1;
	store_bind_text(s, 1, env->id);
	store_bind_text(s, 2, env->listener);
	store_bind_text(s, 3, env->client_addr);
	store_bind_text(s, 4, env->client_name);
	store_bind_text(s, 5, env->helo);
	store_bind_text(s, 6, env->tls);
	store_bind_text(s, 7, env->auth_user);
	store_bind_text(s, 8, env->mail_from);
	sqlite3_bind_int(s, 9, (int)env->body);
	sqlite3_bind_int(s, 10, env->smtputf8);
	sqlite3_bind_int(s, 11, (int)env->ret);
	store_bind_text(s, 12, env->envid);
	sqlite3_bind_int64(s, 13, env->received_ms);
	sqlite3_bind_int64(s, 14, env->size);
	sqlite3_bind_int(s, 15, (int)qi->state);
	sqlite3_bind_int(s, 16, qi->attempts);
	sqlite3_bind_int64(s, 17, qi->created_ms);
	sqlite3_bind_int64(s, 18, qi->next_try_ms);
	store_bind_text(s, 19, qi->action);
	store_bind_text(s, 20, qi->last_error);
	store_bind_text(s, 21, qi->scan);
	store_bind_text(s, 22, qi->subject);
	if (store_stmt_run(st, s, "insert message") < 0)
		return -1;

	if ((s = stmt_get(st, S_RCPT_INSERT)) == NULL)
		return -1;
	for (size_t i = 0; i < env->nrcpt; i++) {
		const struct rcpt *r = &env->rcpt[i];

		store_bind_text(s, 1, env->id);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)i);
		store_bind_text(s, 3, r->addr);
		store_bind_text(s, 4, r->orcpt);
		sqlite3_bind_int(s, 5, r->notify);
		sqlite3_bind_int(s, 6, (int)r->status);
		store_bind_text(s, 7, r->reply);
		if (store_stmt_run(st, s, "insert recipient") < 0)
			return -1;
	}
	return 0;
}

int
store_msg_insert(struct store *st, const struct envelope *env,
    const struct queue_info *qi)
{
	enum tx_kind own;

	if (store_tx_enter(st, 1, &own) < 0)
		return -1;
	return store_tx_leave(st, own, insert_rows(st, env, qi));
}

static int
update_rows(struct store *st, const struct envelope *env, const struct queue_info *qi)
{
	sqlite3_stmt *s;
	int changed;

	if ((s = stmt_get(st, S_MSG_UPDATE)) == NULL)
		return -1;
	store_bind_text(s, 1, env->id);
	sqlite3_bind_int(s, 2, (int)qi->state);
	sqlite3_bind_int(s, 3, qi->attempts);
	sqlite3_bind_int64(s, 4, qi->next_try_ms);
	store_bind_text(s, 5, qi->action);
	store_bind_text(s, 6, qi->last_error);
	store_bind_text(s, 7, qi->scan);
	store_bind_text(s, 8, qi->subject);
	sqlite3_bind_int64(s, 9, env->size);
	if (store_stmt_run(st, s, "update message") < 0)
		return -1;
	if (sqlite3_changes(st->db) != 1) {
		store_seterr(st, "update message: no message %s", env->id);
		return -1;
	}

	if ((s = stmt_get(st, S_RCPT_UPDATE)) == NULL)
		return -1;
	for (size_t i = 0; i < env->nrcpt; i++) {
		store_bind_text(s, 1, env->id);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)i);
		sqlite3_bind_int(s, 3, (int)env->rcpt[i].status);
		store_bind_text(s, 4, env->rcpt[i].reply);
		if (store_stmt_run(st, s, "update recipient") < 0)
			return -1;
		changed = sqlite3_changes(st->db);
		if (changed != 1) {
			store_seterr(st, "update recipient: message %s has no"
			    " recipient %zu", env->id, i);
			return -1;
		}
	}
	return 0;
}

int
store_msg_update(struct store *st, const struct envelope *env,
    const struct queue_info *qi)
{
	enum tx_kind own;

	if (store_tx_enter(st, 1, &own) < 0)
		return -1;
	return store_tx_leave(st, own, update_rows(st, env, qi));
}

/* 0 found, 1 not found, -1 error; inside a read transaction. */
static int
get_rows(struct store *st, const char *id, struct envelope **envp,
    struct queue_info *qi)
{
	sqlite3_stmt *s;
	struct envelope *env = NULL;
	int rc;

	if ((s = stmt_get(st, S_MSG_GET)) == NULL)
		return -1;
	store_bind_text(s, 1, id);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		store_stmt_done(s);
		if (rc == SQLITE_DONE)
			return 1;
		return store_db_fail(st, "get message");
	}
	if (envp != NULL) {
		env = envelope_new();
		util_strlcpy(env->id, (const char *)sqlite3_column_text(s, 0),
		    sizeof(env->id));
		env->listener = store_col_text(s, 1);
		env->client_addr = store_col_text(s, 2);
		env->client_name = store_col_text(s, 3);
		env->helo = store_col_text(s, 4);
		env->tls = store_col_text(s, 5);
		env->auth_user = store_col_text(s, 6);
		env->mail_from = store_col_text(s, 7);
		env->body = (enum body_type)sqlite3_column_int(s, 8);
		env->smtputf8 = sqlite3_column_int(s, 9);
		env->ret = (enum dsn_ret)sqlite3_column_int(s, 10);
		env->envid = store_col_text(s, 11);
		env->received_ms = sqlite3_column_int64(s, 12);
		env->size = sqlite3_column_int64(s, 13);
	}
	if (qi != NULL) {
		memset(qi, 0, sizeof(*qi));
		qi->state = (enum msg_state)sqlite3_column_int(s, 14);
		qi->attempts = sqlite3_column_int(s, 15);
		qi->created_ms = sqlite3_column_int64(s, 16);
		qi->next_try_ms = sqlite3_column_int64(s, 17);
		qi->action = store_col_text(s, 18);
		qi->last_error = store_col_text(s, 19);
		qi->scan = store_col_text(s, 20);
		qi->subject = store_col_text(s, 21);
	}
	store_stmt_done(s);
	if (env == NULL)
		return 0;

	if ((s = stmt_get(st, S_RCPT_GET)) == NULL)
		goto fail;
	store_bind_text(s, 1, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const unsigned char *addr = sqlite3_column_text(s, 0);
		const unsigned char *orcpt = sqlite3_column_text(s, 1);
		struct rcpt *r;

		r = envelope_add_rcpt(env, addr ? (const char *)addr : "",
		    (const char *)orcpt, sqlite3_column_int(s, 2));
		r->status = (enum rcpt_status)sqlite3_column_int(s, 3);
		r->reply = store_col_text(s, 4);
	}
	if (rc != SQLITE_DONE)
		store_db_fail(st, "get recipients");
	store_stmt_done(s);
	if (rc != SQLITE_DONE)
		goto fail;
	*envp = env;
	return 0;
fail:
	envelope_free(env);
	if (qi != NULL)
		queue_info_clear(qi);
	return -1;
}

int
store_msg_get(struct store *st, const char *id, struct envelope **envp,
    struct queue_info *qi)
{
	enum tx_kind own;

	if (envp != NULL)
		*envp = NULL;
	if (store_tx_enter(st, 0, &own) < 0)
		return -1;
	return store_tx_leave(st, own, get_rows(st, id, envp, qi));
}

int
store_msg_delete(struct store *st, const char *id)
{
	sqlite3_stmt *s;
	enum tx_kind own;

	if (store_tx_enter(st, 1, &own) < 0)
		return -1;
	if ((s = stmt_get(st, S_MSG_DELETE)) == NULL)
		return store_tx_leave(st, own, -1);
	store_bind_text(s, 1, id);
	if (store_stmt_run(st, s, "delete message") < 0)
		return store_tx_leave(st, own, -1);
	/* Recipients go with it: ON DELETE CASCADE. */
	return store_tx_leave(st, own, sqlite3_changes(st->db) == 0 ? 1 : 0);
}

/*
 * The walk reads ids a page at a time (keyset pagination on created_ms, id)
 * and resets the page statement before calling back, so a callback may
 * update, delete or even walk again on the same connection; a message
 * deleted between its page and its turn is skipped.
 */
int
store_msg_foreach(struct store *st, enum msg_state state,
    store_msg_cb cb, void *arg)
{
	char (*ids)[QUEUE_ID_SIZE] = xmalloc(FOREACH_BATCH * sizeof(*ids));
	sqlite3_int64 after_ms = INT64_MIN;
	char after_id[QUEUE_ID_SIZE] = "";
	int rc = 0;

	for (;;) {
		sqlite3_stmt *s = stmt_get(st, state ? S_MSG_PAGE_STATE : S_MSG_PAGE_ALL);
		size_t n = 0;
		int step;

		if (s == NULL) {
			rc = -1;
			break;
		}
		sqlite3_bind_int64(s, 1, after_ms);
		sqlite3_bind_text(s, 2, after_id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(s, 3, FOREACH_BATCH);
		if (state)
			sqlite3_bind_int(s, 4, (int)state);
		while ((step = sqlite3_step(s)) == SQLITE_ROW) {
			after_ms = sqlite3_column_int64(s, 0);
			util_strlcpy(ids[n++], (const char *)sqlite3_column_text(s, 1),
			    QUEUE_ID_SIZE);
		}
		if (step != SQLITE_DONE)
			store_db_fail(st, "list messages");
		store_stmt_done(s);
		if (step != SQLITE_DONE) {
			rc = -1;
			break;
		}
		if (n > 0)
			util_strlcpy(after_id, ids[n - 1], sizeof(after_id));

		for (size_t i = 0; i < n && rc == 0; i++) {
			struct envelope *env;
			struct queue_info qi;
			int got = store_msg_get(st, ids[i], &env, &qi);

			if (got < 0) {
				rc = -1;
				break;
			}
			if (got == 1)
				continue;
			/* A state change since the page was read: not ours. */
			if (state == 0 || qi.state == state)
				rc = cb(env, &qi, arg);
			envelope_free(env);
			queue_info_clear(&qi);
		}
		if (rc != 0 || n < FOREACH_BATCH)
			break;
	}
	free(ids);
	return rc;
}

int
store_msg_due(struct store *st, int64_t now_ms, char (*ids)[QUEUE_ID_SIZE],
    size_t max)
{
	sqlite3_stmt *s;
	int n = 0, rc;

	if (max == 0)
		return 0;
	if (max > INT32_MAX)
		max = INT32_MAX;
	if ((s = stmt_get(st, S_MSG_DUE)) == NULL)
		return -1;
	sqlite3_bind_int(s, 1, MSG_QUEUED);
	sqlite3_bind_int64(s, 2, now_ms);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)max);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		util_strlcpy(ids[n++], (const char *)sqlite3_column_text(s, 0),
		    QUEUE_ID_SIZE);
	if (rc != SQLITE_DONE)
		store_db_fail(st, "due messages");
	store_stmt_done(s);
	return rc == SQLITE_DONE ? n : -1;
}

int64_t
store_msg_count(struct store *st, enum msg_state state)
{
	sqlite3_stmt *s = stmt_get(st, state ? S_COUNT_STATE : S_COUNT_ALL);
	int64_t n = -1;
	int rc;

	if (s == NULL)
		return -1;
	if (state)
		sqlite3_bind_int(s, 1, (int)state);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	else
		store_db_fail(st, "count messages");
	store_stmt_done(s);
	return n;
}

void
queue_info_clear(struct queue_info *qi)
{
	if (qi == NULL)
		return;
	free(qi->action);
	free(qi->scan);
	free(qi->subject);
	free(qi->last_error);
	memset(qi, 0, sizeof(*qi));
}

static const char *const state_names[] = {
	[MSG_RECEIVED] = "received",
	[MSG_QUEUED] = "queued",
	[MSG_QUARANTINED] = "quarantined",
	[MSG_HELD] = "held",
	[MSG_DONE] = "done",
};

const char *
store_state_name(enum msg_state state)
{
	if ((int)state < MSG_RECEIVED || (int)state > MSG_DONE)
		return "unknown";
	return state_names[state];
}

int
store_state_parse(const char *name, enum msg_state *out)
{
	for (int i = MSG_RECEIVED; i <= MSG_DONE; i++) {
		if (util_strcasecmp(name, state_names[i]) == 0) {
			*out = (enum msg_state)i;
			return 0;
		}
	}
	return -1;
}

/* ---- learned models ---- */

int
store_model_get(struct store *st, const char *name, struct store_model *m)
{
	sqlite3_stmt *s;
	int rc, ret = -1;

	memset(m, 0, sizeof(*m));
	if ((s = stmt_get(st, S_MODEL_GET)) == NULL)
		return -1;
	store_bind_text(s, 1, name);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const void *blob = sqlite3_column_blob(s, 2);
		int len = sqlite3_column_bytes(s, 2);

		m->version = sqlite3_column_int64(s, 0);
		m->updated_ms = sqlite3_column_int64(s, 1);
		m->len = (size_t)len;
		m->data = xmalloc(m->len ? m->len : 1);
		if (len > 0)
			memcpy(m->data, blob, m->len);
		ret = 0;
	} else if (rc == SQLITE_DONE) {
		ret = 1;
	} else {
		store_db_fail(st, "get model");
	}
	store_stmt_done(s);
	return ret;
}

int
store_model_version(struct store *st, const char *name, int64_t *version)
{
	sqlite3_stmt *s;
	int rc, ret = -1;

	if ((s = stmt_get(st, S_MODEL_VERSION)) == NULL)
		return -1;
	store_bind_text(s, 1, name);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*version = sqlite3_column_int64(s, 0);
		ret = 0;
	} else if (rc == SQLITE_DONE) {
		ret = 1;
	} else {
		store_db_fail(st, "model version");
	}
	store_stmt_done(s);
	return ret;
}

int
store_model_put(struct store *st, const char *name, const void *data, size_t len,
    int64_t *version)
{
	sqlite3_stmt *s;
	enum tx_kind own;
	int rc;

	if (len > INT32_MAX) {
		store_seterr(st, "put model: %zu bytes is too large", len);
		return -1;
	}
	if (store_tx_enter(st, 1, &own) < 0)
		return -1;
	if ((s = stmt_get(st, S_MODEL_PUT)) == NULL)
		return store_tx_leave(st, own, -1);
	store_bind_text(s, 1, name);
	sqlite3_bind_int64(s, 2, util_now_ms());
	sqlite3_bind_blob(s, 3, data, (int)len, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && version != NULL)
		*version = sqlite3_column_int64(s, 0);
	if (rc == SQLITE_ROW)
		rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		store_db_fail(st, "put model");
	store_stmt_done(s);
	return store_tx_leave(st, own, rc == SQLITE_DONE ? 0 : -1);
}

int
store_model_delete(struct store *st, const char *name)
{
	sqlite3_stmt *s;
	enum tx_kind own;
	int changed;

	if (store_tx_enter(st, 1, &own) < 0)
		return -1;
	if ((s = stmt_get(st, S_LEARNED_DELETE_ALL)) == NULL)
		return store_tx_leave(st, own, -1);
	store_bind_text(s, 1, name);
	if (store_stmt_run(st, s, "delete learned") < 0)
		return store_tx_leave(st, own, -1);
	if ((s = stmt_get(st, S_MODEL_DELETE)) == NULL)
		return store_tx_leave(st, own, -1);
	store_bind_text(s, 1, name);
	if (store_stmt_run(st, s, "delete model") < 0)
		return store_tx_leave(st, own, -1);
	changed = sqlite3_changes(st->db);
	return store_tx_leave(st, own, changed == 0 ? 1 : 0);
}

void
store_model_clear(struct store_model *m)
{
	if (m == NULL)
		return;
	free(m->data);
	memset(m, 0, sizeof(*m));
}

int
store_learned_get(struct store *st, const char *model, const char *digest,
    struct store_learned *l)
{
	sqlite3_stmt *s;
	int rc, ret = -1;

	memset(l, 0, sizeof(*l));
	if ((s = stmt_get(st, S_LEARNED_GET)) == NULL)
		return -1;
	store_bind_text(s, 1, model);
	store_bind_text(s, 2, digest);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const unsigned char *src = sqlite3_column_text(s, 4);

		l->spam = sqlite3_column_int(s, 0);
		l->step = sqlite3_column_int64(s, 1);
		l->bias_step = sqlite3_column_int64(s, 2);
		l->fsum = (uint64_t)sqlite3_column_int64(s, 3);
		util_strlcpy(l->source, src ? (const char *)src : "", sizeof(l->source));
		l->learned_ms = sqlite3_column_int64(s, 5);
		ret = 0;
	} else if (rc == SQLITE_DONE) {
		ret = 1;
	} else {
		store_db_fail(st, "get learned");
	}
	store_stmt_done(s);
	return ret;
}

int
store_learned_put(struct store *st, const char *model, const char *digest,
    const struct store_learned *l)
{
	sqlite3_stmt *s;
	enum tx_kind own;

	if (store_tx_enter(st, 1, &own) < 0)
		return -1;
	if ((s = stmt_get(st, S_LEARNED_PUT)) == NULL)
		return store_tx_leave(st, own, -1);
	store_bind_text(s, 1, model);
	store_bind_text(s, 2, digest);
	sqlite3_bind_int(s, 3, l->spam ? 1 : 0);
	sqlite3_bind_int64(s, 4, l->step);
	sqlite3_bind_int64(s, 5, l->bias_step);
	sqlite3_bind_int64(s, 6, (sqlite3_int64)l->fsum);
	store_bind_text(s, 7, l->source);
	sqlite3_bind_int64(s, 8, l->learned_ms);
	return store_tx_leave(st, own, store_stmt_run(st, s, "put learned"));
}

int
store_learned_delete(struct store *st, const char *model, const char *digest)
{
	sqlite3_stmt *s;
	enum tx_kind own;

	if (store_tx_enter(st, 1, &own) < 0)
		return -1;
	if ((s = stmt_get(st, S_LEARNED_DELETE)) == NULL)
		return store_tx_leave(st, own, -1);
	store_bind_text(s, 1, model);
	store_bind_text(s, 2, digest);
	if (store_stmt_run(st, s, "delete learned") < 0)
		return store_tx_leave(st, own, -1);
	return store_tx_leave(st, own, sqlite3_changes(st->db) == 0 ? 1 : 0);
}

int64_t
store_learned_count(struct store *st, const char *model, int spam)
{
	sqlite3_stmt *s = stmt_get(st, spam < 0 ? S_LEARNED_COUNT : S_LEARNED_COUNT_LABEL);
	int64_t n = -1;

	if (s == NULL)
		return -1;
	store_bind_text(s, 1, model);
	if (spam >= 0)
		sqlite3_bind_int(s, 2, spam ? 1 : 0);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	else
		store_db_fail(st, "count learned");
	store_stmt_done(s);
	return n;
}

/* ---- correspondents ---- */

int
store_correspondent_get(struct store *st, const char *org, const char *domain,
    struct store_correspondent *c)
{
	sqlite3_stmt *s;
	int ret;

	memset(c, 0, sizeof(*c));
	if ((s = stmt_get(st, S_CORR_GET)) == NULL)
		return -1;
	store_bind_text(s, 1, org);
	store_bind_text(s, 2, domain);
	if ((ret = store_step_row(st, s, "get correspondent")) == 0) {
		c->first_ms = sqlite3_column_int64(s, 0);
		c->last_ms = sqlite3_column_int64(s, 1);
		c->inbound = sqlite3_column_int64(s, 2);
		c->outbound = sqlite3_column_int64(s, 3);
	}
	store_stmt_done(s);
	return ret;
}

int
store_correspondent_note(struct store *st, const char *org, const char *domain,
    int outbound, int64_t now_ms)
{
	sqlite3_stmt *s;
	enum tx_kind own;

	if (store_tx_enter(st, 1, &own) < 0)
		return -1;
	if ((s = stmt_get(st, S_CORR_NOTE)) == NULL)
		return store_tx_leave(st, own, -1);
	store_bind_text(s, 1, org);
	store_bind_text(s, 2, domain);
	sqlite3_bind_int64(s, 3, now_ms);
	sqlite3_bind_int(s, 4, outbound ? 0 : 1);
	sqlite3_bind_int(s, 5, outbound ? 1 : 0);
	return store_tx_leave(st, own, store_stmt_run(st, s, "note correspondent"));
}

int
store_correspondent_since(struct store *st, const char *org, int64_t *first_ms)
{
	sqlite3_stmt *s;
	int ret = -1;

	if ((s = stmt_get(st, S_CORR_SINCE)) == NULL)
		return -1;
	store_bind_text(s, 1, org);
	if (sqlite3_step(s) == SQLITE_ROW) {
		if (sqlite3_column_type(s, 0) == SQLITE_NULL)
			ret = 1;
		else {
			*first_ms = sqlite3_column_int64(s, 0);
			ret = 0;
		}
	} else
		store_db_fail(st, "correspondents since");
	store_stmt_done(s);
	return ret;
}

int
store_correspondent_foreach(struct store *st, const char *org, store_correspondent_cb cb,
    void *arg)
{
	sqlite3_stmt *s;
	int rc, ret = 0;

	if ((s = stmt_get(st, S_CORR_LIST)) == NULL)
		return -1;
	store_bind_text(s, 1, org);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_correspondent c = {
			.first_ms = sqlite3_column_int64(s, 1),
			.last_ms = sqlite3_column_int64(s, 2),
			.inbound = sqlite3_column_int64(s, 3),
			.outbound = sqlite3_column_int64(s, 4),
		};
		const unsigned char *d = sqlite3_column_text(s, 0);

		if ((ret = cb(d != NULL ? (const char *)d : "", &c, arg)) != 0)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_db_fail(st, "list correspondents");
		ret = -1;
	}
	store_stmt_done(s);
	return ret;
}
