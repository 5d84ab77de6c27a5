/*
 * http_download.c - the download pages of protected attachments.
 *
 *   GET  /dl/TOKEN             a page (ja/en): the files, their sizes, and
 *                              either a link per file or the code field
 *   GET  /dl/TOKEN/file/N      file N, when the set needs no code
 *   POST /dl/TOKEN             file N (form: code, file), the code checked
 *   GET  /dl/revoke/TOKEN      the sender's revoke link: a confirmation
 *   POST /dl/revoke/TOKEN      revoke (mail scanners only GET links)
 *
 * Anybody can reach these pages, so: the token is only looked up by its
 * hash; a set that is revoked, expired or spent answers 410; unknown
 * tokens and wrong codes count as failures of the client's address, and
 * an address with more than FAIL_MAX failures in FAIL_WINDOW_MS gets 429
 * until the window passes.  Files are always sent as
 * application/octet-stream with Content-Disposition attachment (RFC 6266
 * filename* for non-ASCII names) and nosniff, so a file is never shown as
 * a page of this origin.  Every download is counted and logged in the
 * store (time, address, user agent) before its bytes are sent.
 *
 * Limits: a path segment of at most 64 bytes; a form of at most 4 KB.
 */
#include "http/http_download.h"
#include "http/http_form.h"
#include "outbound/attach_link.h"
#include "store/store_attach.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/util.h"

#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FAIL_MAX	20
#define FAIL_WINDOW_MS	(10 * 60 * 1000)
#define FAIL_SLOTS	512
#define FORM_MAX	4096

static const char dl_csp[] =
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self';"
    " frame-ancestors 'none'; base-uri 'none'";

/* ---- failures per address ---- */

struct fail_slot {
	char ip[64];
	int64_t start_ms;
	int n;
};

static struct fail_slot fails[FAIL_SLOTS];
static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;

int
http_download_limited(const char *ip, int64_t now_ms, int fail)
{
	struct fail_slot *slot = NULL, *oldest = &fails[0];
	int over;

	pthread_mutex_lock(&fail_lock);
	for (size_t i = 0; i < FAIL_SLOTS && slot == NULL; i++) {
		if (strcmp(fails[i].ip, ip) == 0)
			slot = &fails[i];
		else if (fails[i].start_ms < oldest->start_ms)
			oldest = &fails[i];
	}
	if (slot != NULL && now_ms - slot->start_ms >= FAIL_WINDOW_MS) {
		slot->start_ms = now_ms;
		slot->n = 0;
	}
	if (slot == NULL && fail) {
		slot = oldest;
		util_strlcpy(slot->ip, ip, sizeof(slot->ip));
		slot->start_ms = now_ms;
		slot->n = 0;
	}
	if (slot != NULL && fail)
		slot->n++;
	over = slot != NULL && slot->n > FAIL_MAX;
	pthread_mutex_unlock(&fail_lock);
	return over;
}

/* ---- answers ---- */

static void
headers(struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "Content-Security-Policy", dl_csp);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Robots-Tag", "noindex, nofollow");
}

static void
page_open(struct buf *b, const char *title)
{
	buf_str(b, "<!DOCTYPE html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width\">"
	    "<meta name=\"robots\" content=\"noindex\"><title>");
	buf_html(b, title);
	buf_str(b, "</title><style>body{font-family:sans-serif;max-width:40em;margin:2em auto;"
	    "padding:0 1em}li{margin:.4em 0}.en{color:#555}button{margin:.2em}</style>"
	    "</head><body>\n");
}

static enum MHD_Result
send_page(struct MHD_Connection *conn, int status, struct buf *b)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t len;
	char *body;

	buf_str(b, "</body></html>\n");
	body = buf_steal(b, &len);
	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "text/html; charset=utf-8");
	headers(resp);
	ret = MHD_queue_response(conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
message_page(struct MHD_Connection *conn, int status, const char *ja, const char *en)
{
	struct buf b = { 0 };

	page_open(&b, "sekisho");
	buf_str(&b, "<p>");
	buf_html(&b, ja);
	buf_str(&b, "</p><p class=\"en\" lang=\"en\">");
	buf_html(&b, en);
	buf_str(&b, "</p>\n");
	return send_page(conn, status, &b);
}

static enum MHD_Result
gone(struct MHD_Connection *conn)
{
	return message_page(conn, 410,
	    "このダウンロードリンクは、有効期限切れ・取り消し・回数上限のため使えません。",
	    "This download link no longer works: it expired, was revoked, or its downloads "
	    "are used up.");
}

static enum MHD_Result
unknown(struct MHD_Connection *conn, const char *ip)
{
	http_download_limited(ip, util_now_ms(), 1);
	return message_page(conn, 404, "このリンクは見つかりません。", "This link is unknown.");
}

/* ---- the set behind a token ---- */

static int
token_ok(const char *t)
{
	if (strlen(t) != OUTBOUND_TOKEN_LEN)
		return 0;
	for (; *t; t++)
		if (!((*t >= 'A' && *t <= 'Z') || (*t >= 'a' && *t <= 'z') ||
		    (*t >= '0' && *t <= '9') || *t == '-' || *t == '_'))
			return 0;
	return 1;
}

/* 0 usable, 1 unknown, 2 gone, -1 error. */
static int
set_load(struct store *st, const char *token, struct attach_set *s)
{
	unsigned char hash[STORE_TOKEN_HASH];
	int rc;

	if (!token_ok(token))
		return 1;
	outbound_token_hash(token, hash);
	if ((rc = store_attach_by_hash(st, hash, s)) != 0)
		return rc;
	if (strcmp(s->state, "pending") == 0) {
		attach_set_clear(s);
		return 1;
	}
	if (strcmp(s->state, "active") != 0 || s->expires_ms <= util_now_ms() ||
	    (s->max_downloads > 0 && s->downloads >= s->max_downloads) || s->purged)
		return 2;	/* s stays filled, for the log */
	return 0;
}

static enum MHD_Result
show(struct MHD_Connection *conn, struct store *st, const struct attach_set *s,
    const char *token)
{
	struct attach_file *f;
	struct buf b = { 0 };
	char size[32];
	size_t n;

	if (store_attach_files(st, s->id, &f, &n) < 0)
		return message_page(conn, 500, "内部エラー", "internal error");
	page_open(&b, "sekisho - ダウンロード / Download");
	buf_str(&b, "<h1>添付ファイルのダウンロード <span class=\"en\" lang=\"en\">/ Download"
	    "</span></h1>\n");
	if (s->subject) {
		buf_str(&b, "<p>件名 / Subject: ");
		buf_html(&b, s->subject);
		buf_str(&b, "</p>\n");
	}
	if (s->has_code) {
		buf_str(&b, "<form method=\"post\" action=\"/dl/");
		buf_html(&b, token);
		buf_str(&b, "\"><p><label>別のメールでお届けしたコード <span class=\"en\" lang=\"en\">"
		    "/ The code from the separate mail</span><br><input name=\"code\" "
		    "autocomplete=\"off\" required maxlength=\"32\"></label></p><ul>\n");
	} else {
		buf_str(&b, "<ul>\n");
	}
	for (size_t i = 0; i < n; i++) {
		attach_link_size((uint64_t)f[i].size, size, sizeof(size));
		if (s->has_code) {
			buf_printf(&b, "<li><button name=\"file\" value=\"%d\">", f[i].idx);
			buf_html(&b, f[i].name);
			buf_printf(&b, "</button> (%s)</li>\n", size);
		} else {
			buf_str(&b, "<li><a href=\"/dl/");
			buf_html(&b, token);
			buf_printf(&b, "/file/%d\">", f[i].idx);
			buf_html(&b, f[i].name);
			buf_printf(&b, "</a> (%s)</li>\n", size);
		}
	}
	buf_str(&b, "</ul>\n");
	if (s->has_code)
		buf_str(&b, "</form>\n");
	buf_str(&b, "<p>ファイルをクリックするとダウンロードします。<br><span class=\"en\" "
	    "lang=\"en\">Click a file to download it.</span></p>\n");
	attach_files_free(f, n);
	return send_page(conn, 200, &b);
}

static enum MHD_Result
stream(struct MHD_Connection *conn, struct store *st, const struct attach_set *s,
    int idx, const char *ip)
{
	const char *agent = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "User-Agent");
	struct attach_file *f, *file = NULL;
	struct MHD_Response *resp;
	struct stat sb;
	enum MHD_Result ret;
	char *disp;
	size_t n;
	int fd, rc;

	if (store_attach_files(st, s->id, &f, &n) < 0)
		return message_page(conn, 500, "内部エラー", "internal error");
	for (size_t i = 0; i < n; i++)
		if (f[i].idx == idx)
			file = &f[i];
	if (file == NULL) {
		attach_files_free(f, n);
		return unknown(conn, ip);
	}
	fd = open(file->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) < 0) {
		if (fd >= 0)
			close(fd);
		attach_files_free(f, n);
		return gone(conn);
	}
	rc = store_attach_download(st, s->id, idx, ip, agent, util_now_ms());
	if (rc != 0) {
		close(fd);
		attach_files_free(f, n);
		return rc < 0 ? message_page(conn, 500, "内部エラー", "internal error") :
		    gone(conn);
	}
	log_info("attach id=%s download file=%d client=%s", s->id, idx, ip);
	resp = MHD_create_response_from_fd((uint64_t)sb.st_size, fd);
	if (resp == NULL) {
		close(fd);
		attach_files_free(f, n);
		return MHD_NO;
	}
	disp = attach_link_disposition(file->name);
	MHD_add_response_header(resp, "Content-Type", "application/octet-stream");
	MHD_add_response_header(resp, "Content-Disposition", disp);
	headers(resp);
	ret = MHD_queue_response(conn, 200, resp);
	MHD_destroy_response(resp);
	free(disp);
	attach_files_free(f, n);
	return ret;
}

/* The value of name in an application/x-www-form-urlencoded body, decoded,
 * into out (http_form_field(): a bad escape, a %00 or a value longer than
 * out counts as missing).  1 found, 0 not. */
static int
form_value(const char *body, size_t len, const char *name, char *out, size_t outlen)
{
	return http_form_field(body, len, name, out, outlen) == 0;
}

/* The file number of the form: 1..9999, else 0. */
static int
file_index(const char *s)
{
	size_t n = strspn(s, "0123456789");

	return n >= 1 && n <= 4 && s[n] == '\0' ? atoi(s) : 0;
}

static int
code_matches(const struct attach_set *s, const char *code)
{
	unsigned char hash[STORE_TOKEN_HASH];
	char clean[64];
	size_t o = 0;

	/* spaces a reader may copy along are not part of the code */
	for (const char *p = code; *p && o + 1 < sizeof(clean); p++)
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			clean[o++] = *p;
	clean[o] = '\0';
	outbound_token_hash(clean, hash);
	return s->has_code && sodium_memcmp(hash, s->code_hash, STORE_TOKEN_HASH) == 0;
}

static enum MHD_Result
revoke_page(struct MHD_Connection *conn, struct store *st, const char *method,
    const char *token, const char *ip)
{
	struct buf b = { 0 };
	int rc;

	if (!token_ok(token))
		return unknown(conn, ip);
	if (strcmp(method, "POST") == 0) {
		rc = attach_link_revoke_token(st, token);
		if (rc < 0)
			return message_page(conn, 500, "内部エラー", "internal error");
		if (rc == 1) {
			http_download_limited(ip, util_now_ms(), 1);
			return message_page(conn, 410, "このリンクは使えません(使用済み・期限切れ)。",
			    "This link no longer works (used or expired).");
		}
		return message_page(conn, 200, "ダウンロードを停止しました。",
		    "The downloads are stopped.");
	}
	page_open(&b, "sekisho");
	buf_str(&b, "<p>添付ファイルのダウンロードを停止しますか?<br><span class=\"en\" lang=\"en\">"
	    "Stop the downloads of these attachments?</span></p><form method=\"post\">"
	    "<button>停止する / Stop</button></form>\n");
	return send_page(conn, 200, &b);
}

enum MHD_Result
http_download(struct MHD_Connection *conn, struct store *st, const char *method,
    const char *url, const char *ip, const char *body, size_t body_len)
{
	char token[65], code[64], file[16];
	const char *rest = url + 4, *slash;
	struct attach_set s;
	enum MHD_Result ret;
	int rc, idx = 0, get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;

	if (!get && strcmp(method, "POST") != 0)
		return message_page(conn, 405, "許可されていない操作です。", "Method not allowed.");
	if (http_download_limited(ip, util_now_ms(), 0))
		return message_page(conn, 429, "失敗が多すぎます。しばらくしてからお試しください。",
		    "Too many failures; try again later.");
	if (strncmp(rest, "revoke/", 7) == 0)
		return revoke_page(conn, st, method, rest + 7, ip);
	slash = strchr(rest, '/');
	if ((slash ? (size_t)(slash - rest) : strlen(rest)) >= sizeof(token))
		return unknown(conn, ip);
	util_strlcpy(token, rest, slash ? (size_t)(slash - rest) + 1 : sizeof(token));
	if (slash != NULL) {
		char *end;
		long v;

		if (!get || strncmp(slash, "/file/", 6) != 0)
			return unknown(conn, ip);
		v = strtol(slash + 6, &end, 10);
		if (*end != '\0' || v < 1 || v > 100000)
			return unknown(conn, ip);
		idx = (int)v;
	}
	rc = set_load(st, token, &s);
	if (rc < 0)
		return message_page(conn, 500, "内部エラー", "internal error");
	if (rc == 1)
		return unknown(conn, ip);
	if (rc == 2) {
		store_attach_log(st, s.id, idx, ip, MHD_lookup_connection_value(conn,
		    MHD_HEADER_KIND, "User-Agent"), "gone", util_now_ms());
		attach_set_clear(&s);
		return gone(conn);
	}
	if (get && idx == 0) {
		ret = show(conn, st, &s, token);
	} else if (get) {
		/* a set with a code gives its files only to the form; a HEAD
		 * (link checkers) must not spend a download */
		ret = s.has_code || strcmp(method, "HEAD") == 0 ? show(conn, st, &s, token) :
		    stream(conn, st, &s, idx, ip);
	} else if (body_len > FORM_MAX || !form_value(body ? body : "", body_len, "file",
	    file, sizeof(file)) || (idx = file_index(file)) < 1) {
		ret = message_page(conn, 400, "ファイルを選んでください。", "Choose a file.");
	} else if (s.has_code && (!form_value(body, body_len, "code", code, sizeof(code)) ||
	    !code_matches(&s, code))) {
		http_download_limited(ip, util_now_ms(), 1);
		store_attach_log(st, s.id, idx, ip, MHD_lookup_connection_value(conn,
		    MHD_HEADER_KIND, "User-Agent"), "code", util_now_ms());
		ret = message_page(conn, 403, "コードが違います。", "The code is wrong.");
	} else {
		ret = stream(conn, st, &s, idx, ip);
	}
	sodium_memzero(code, sizeof(code));
	attach_set_clear(&s);
	return ret;
}
