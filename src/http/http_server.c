/*
 * http_server.c - libmicrohttpd glue: listening, request bodies, the
 * order of checks before a handler runs, static console files, /metrics,
 * users' reports (/learn, http_learn.c).
 *
 * Threads: MHD's internal polling with a pool of console_threads threads.
 * Each thread has its own struct store (pthread key, opened on first use,
 * closed when MHD ends the thread).
 *
 * Limits: a request body over HTTP_MAX_BODY is refused (413) -- a report
 * to /learn (http_learn.c) over message_size_limit; headers are
 * bounded by MHD's per-connection memory; idle connections close after
 * HTTP_CONN_TIMEOUT seconds.  Static files are served only from under
 * console_dir (http_static_path refuses anything that could climb out, and
 * the resolved path must still be under the resolved directory).
 *
 * Every answer carries Content-Security-Policy (default-src 'self'),
 * X-Content-Type-Options nosniff, X-Frame-Options DENY and
 * Referrer-Policy no-referrer; API answers are not cached.
 */
#include "http/http_server.h"
#include "http/http_download.h"
#include "http/http_form.h"
#include "http/http_int.h"
#include "queue/queue_spool.h"
#include "store/store.h"
#include "util/log.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sodium.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>

#define HTTP_MAX_BODY		(1u << 20)
#define LEARN_KEY_MIN		16	/* bytes of learn_key_file's key */
#define HTTP_CONN_TIMEOUT	60
#define HTTP_MAX_CONNECTIONS	256
#define HOUSEKEEPING_MS		(10 * 60 * 1000)
#define LOGIN_FAILURES_KEEP_MS	(7LL * 24 * 3600 * 1000)
#define SESSION_TOUCH_MS	60000
#define LINK_MAX_FAILURES	10
#define LINK_WINDOW_MS		(10 * 60 * 1000)

static const char csp[] =
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none';"
    " frame-ancestors 'none'; form-action 'self'";

struct upload {
	struct buf b;
	int too_big;
};

static pthread_key_t store_key;
static pthread_once_t store_key_once = PTHREAD_ONCE_INIT;

static void
store_key_free(void *p)
{
	store_close(p);
}

static void
store_key_init(void)
{
	if (pthread_key_create(&store_key, store_key_free) != 0)
		panic("http: pthread_key_create failed");
}

/* This thread's store connection, opened on first use.  NULL on error. */
static struct store *
thread_store(struct http_server *srv)
{
	struct store *st = pthread_getspecific(store_key);
	char err[256];

	if (st != NULL)
		return st;
	if ((st = store_open(srv->db_path, err, sizeof(err))) == NULL) {
		log_err("console: cannot open the store: %s", err);
		return NULL;
	}
	pthread_setspecific(store_key, st);
	return st;
}

/* ---- answers ---- */

static void
security_headers(struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "Content-Security-Policy", csp);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
}

static enum MHD_Result
send_buf(struct MHD_Connection *conn, int status, const char *ctype, char *body,
    size_t len, const char *cookie)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(body);
		return MHD_NO;
	}
	if (ctype != NULL)
		MHD_add_response_header(resp, "Content-Type", ctype);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (cookie != NULL)
		MHD_add_response_header(resp, "Set-Cookie", cookie);
	security_headers(resp);
	ret = MHD_queue_response(conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
send_json(struct http_req *r, int status, json_t *obj)
{
	char *body;

	if (obj == NULL)
		return send_buf(r->conn, status, NULL, xstrdup(""), 0, r->set_cookie);
	body = json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(obj);
	if (body == NULL)
		return MHD_NO;
	/* jansson allocates with malloc, so MHD may free it */
	return send_buf(r->conn, status, "application/json; charset=utf-8", body,
	    strlen(body), r->set_cookie);
}

static enum MHD_Result
send_text(struct MHD_Connection *conn, int status, const char *text)
{
	return send_buf(conn, status, "text/plain; charset=utf-8", xstrdup(text),
	    strlen(text), NULL);
}

json_t *
http_json_str(const char *s)
{
	struct buf b = { 0 };
	json_t *j;

	if (s == NULL)
		return json_null();
	if ((j = json_string(s)) != NULL)
		return j;
	for (const unsigned char *p = (const unsigned char *)s; *p; ) {
		size_t n = util_utf8_len(p);

		if (n == 0) {
			buf_str(&b, "\xEF\xBF\xBD");
			p++;
		} else {
			buf_add(&b, p, n);
			p += n;
		}
	}
	j = json_string(b.p ? b.p : "");
	buf_free(&b);
	return j ? j : json_string("");
}

int
http_err(json_t **out, int status, const char *text)
{
	*out = json_pack("{s:s}", "error", text);
	return status;
}

const char *
http_arg(struct http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

void
http_audit(struct http_req *r, const char *action, const char *target, const char *detail)
{
	struct console_audit a;

	a.t_ms = util_now_ms();
	a.user = r->user.name;
	a.ip = r->ip;
	a.action = action;
	a.target = target;
	a.detail = detail;
	if (store_caudit_add(r->st, &a) < 0)
		log_err("console: audit write failed: %s", store_errmsg(r->st));
	log_info("console: audit user=%s ip=%s action=%s target=%s", a.user ? a.user : "-",
	    a.ip, action, target ? target : "-");
}

/* ---- static files ---- */

static int
under_dir(const char *dir, const char *path)
{
	char rd[PATH_MAX], rp[PATH_MAX];
	size_t n;

	if (realpath(dir, rd) == NULL || realpath(path, rp) == NULL)
		return 0;
	n = strlen(rd);
	return strncmp(rd, rp, n) == 0 && rp[n] == '/';
}

static int
open_static(const char *dir, const char *path, struct stat *sb)
{
	int fd;

	if (!under_dir(dir, path))
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, sb) < 0 || !S_ISREG(sb->st_mode)) {
		close(fd);
		return -1;
	}
	return fd;
}

static enum MHD_Result
serve_static(struct http_server *srv, struct MHD_Connection *conn, const char *url)
{
	const char *dir = srv->cfg->console_dir;
	char path[PATH_MAX];
	const char *last, *served = path;
	struct MHD_Response *resp;
	struct stat sb;
	enum MHD_Result ret;
	int fd = -1;

	if (http_static_path(dir, url, path, sizeof(path)) < 0)
		return send_text(conn, 404, "not found\n");
	fd = open_static(dir, path, &sb);
	/* A client route (no file extension) gets the console's index.html. */
	last = strrchr(url, '/');
	if (fd < 0 && last != NULL && strchr(last, '.') == NULL) {
		snprintf(path, sizeof(path), "%s/index.html", dir);
		fd = open_static(dir, path, &sb);
		if (fd < 0)
			return send_text(conn, 404, "The console is not built: run "
			    "\"npm --prefix web ci && npm --prefix web run build\" "
			    "(or set console_dir).\n");
	}
	if (fd < 0)
		return send_text(conn, 404, "not found\n");
	resp = MHD_create_response_from_fd((uint64_t)sb.st_size, fd);
	if (resp == NULL) {
		close(fd);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", http_content_type(served));
	MHD_add_response_header(resp, "Cache-Control",
	    strstr(path, "/assets/") != NULL ? "public, max-age=31536000, immutable" : "no-cache");
	security_headers(resp);
	ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* ---- the API ---- */

static void
housekeeping(struct http_server *srv, struct store *st)
{
	const struct config *cfg = srv->cfg;
	int64_t now = util_now_ms();
	int64_t last = atomic_load(&srv->last_housekeeping_ms);
	int64_t keep = cfg->console_login_window * 1000;

	if (now - last < HOUSEKEEPING_MS ||
	    !atomic_compare_exchange_strong(&srv->last_housekeeping_ms, &last, now))
		return;
	if (keep < LOGIN_FAILURES_KEEP_MS)
		keep = LOGIN_FAILURES_KEEP_MS;
	if (store_csession_purge(st, now - cfg->console_session_idle * 1000) < 0 ||
	    store_login_fail_purge(st, now - keep) < 0 ||
	    store_msglog_purge(st, now - cfg->message_log_retention * 1000) < 0)
		log_warn("console: housekeeping: %s", store_errmsg(st));
}

static int
method_is_safe(const char *m)
{
	return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
}

/* Find the route: *exact for method and path, else *other for the path. */
static void
find_route(struct http_req *r, const struct http_route **exact,
    const struct http_route **other)
{
	size_t n;
	const struct http_route *rt = http_routes(&n);
	char caps[HTTP_ROUTE_MAXCAP][128];
	size_t ncap;
	const char *m = strcmp(r->method, "HEAD") == 0 ? "GET" : r->method;

	*exact = *other = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!http_route_match(rt[i].pattern, r->path, caps, &ncap))
			continue;
		if (strcmp(rt[i].method, m) == 0) {
			*exact = &rt[i];
			memcpy(r->caps, caps, sizeof(caps));
			r->ncap = ncap;
			return;
		}
		*other = &rt[i];
	}
}

static int
api(struct http_req *r, json_t **out)
{
	const struct http_route *rt, *other;
	const char *token;
	int rc;

	find_route(r, &rt, &other);
	if (rt == NULL || rt->least != ROLE_NONE) {
		if ((rc = http_session_load(r)) < 0)
			return http_err(out, 500, "store error");
		if (rc == 1)
			return http_err(out, 401, "login required");
	}
	if (rt == NULL)
		return http_err(out, other ? 405 : 404, other ? "method not allowed" : "not found");
	if (rt->least != ROLE_NONE) {
		if (!method_is_safe(r->method)) {
			token = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-CSRF-Token");
			if (!http_token_eq(token, r->sess.csrf))
				return http_err(out, 403, "CSRF token missing or wrong");
		}
		if (r->role < rt->least)
			return http_err(out, 403, "not allowed for your role");
	}
	if (r->body_len > 0) {
		json_error_t jerr;

		r->json = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
		if (r->json == NULL || !json_is_object(r->json))
			return http_err(out, 400, "the body is not a JSON object");
	}
	return rt->fn(r, out);
}

static void
client_ip(struct MHD_Connection *conn, char *buf, size_t len)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	util_strlcpy(buf, "unknown", len);
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		    buf, (socklen_t)len);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		    buf, (socklen_t)len);
}

/* The one-click link pages (http_link.c): HTML, no session. */
static enum MHD_Result
serve_link(struct http_req *r, struct upload *up)
{
	char *html = NULL;
	int status;

	if (up->too_big)
		return send_text(r->conn, 413, "request body too large\n");
	if ((r->st = thread_store(r->srv)) == NULL)
		return send_text(r->conn, 500, "store unavailable\n");
	r->body = up->b.p;
	r->body_len = up->b.len;
	status = http_link(r, &html);
	console_user_clear(&r->user);
	if (html == NULL)
		return send_text(r->conn, status, "error\n");
	return send_buf(r->conn, status, "text/html; charset=utf-8", html, strlen(html), NULL);
}

static enum MHD_Result
handle(struct http_server *srv, struct MHD_Connection *conn, const char *url,
    const char *method, struct upload *up)
{
	struct http_req r;
	json_t *out = NULL;
	enum MHD_Result ret;
	int status;

	memset(&r, 0, sizeof(r));
	r.srv = srv;
	r.conn = conn;
	r.method = method;
	r.path = url;
	client_ip(conn, r.ip, sizeof(r.ip));

	if (strcmp(url, "/metrics") == 0) {
		struct store *st;
		char *text;

		if (!cidr_match_any(srv->metrics_nets, srv->nmetrics_nets, r.ip))
			return send_text(conn, 403, "forbidden\n");
		if ((st = thread_store(srv)) == NULL ||
		    (text = http_metrics_text(srv, st)) == NULL)
			return send_text(conn, 500, "store error\n");
		return send_buf(conn, 200, "text/plain; version=0.0.4; charset=utf-8", text,
		    strlen(text), NULL);
	}
	if (strncmp(url, "/link/", 6) == 0)
		return serve_link(&r, up);
	if (strncmp(url, "/learn/", 7) == 0) {
		/* a user's report from the mail server: the key, no session */
		if (up->too_big)
			status = http_err(&out, 413, "message larger than message_size_limit");
		else if ((r.st = thread_store(srv)) == NULL)
			status = http_err(&out, 500, "store unavailable");
		else {
			r.body = up->b.p;
			r.body_len = up->b.len;
			status = http_learn(&r, &out);
		}
		return send_json(&r, status, out);
	}
	if (strncmp(url, "/dl/", 4) == 0) {
		/* public download pages of protected attachments: no session */
		struct store *st = thread_store(srv);

		if (up->too_big)
			return send_text(conn, 413, "request body too large\n");
		if (st == NULL)
			return send_text(conn, 500, "store error\n");
		return http_download(conn, st, method, url, r.ip, up->b.p, up->b.len);
	}
	if (strncmp(url, "/api/", 5) != 0) {
		if (!method_is_safe(method))
			return send_text(conn, 405, "method not allowed\n");
		return serve_static(srv, conn, url);
	}
	if (up->too_big) {
		status = http_err(&out, 413, "request body too large");
	} else if ((r.st = thread_store(srv)) == NULL) {
		status = http_err(&out, 500, "store unavailable");
	} else {
		housekeeping(srv, r.st);
		r.body = up->b.p;
		r.body_len = up->b.len;
		status = api(&r, &out);
		if (status >= 500)
			log_err("console: %s %s: %d %s", method, url, status,
			    store_errmsg(r.st));
	}
	ret = send_json(&r, status, out);
	json_decref(r.json);
	console_user_clear(&r.user);
	console_session_clear(&r.sess);
	free(r.set_cookie);
	return ret;
}

static enum MHD_Result
access_cb(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct upload *up = *con_cls;

	(void)version;
	if (up == NULL) {
		*con_cls = xcalloc(1, sizeof(*up));
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		/* a reported message may be as large as any accepted one */
		size_t max = strncmp(url, "/learn/", 7) == 0 ?
		    (size_t)((struct http_server *)cls)->cfg->message_size_limit : HTTP_MAX_BODY;

		if (up->b.len + *upload_data_size > max)
			up->too_big = 1;
		else
			buf_add(&up->b, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	return handle(cls, conn, url, method, up);
}

static void
completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct upload *up = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (up != NULL) {
		buf_free(&up->b);
		free(up);
		*con_cls = NULL;
	}
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	log_vmsg(LOG_LEVEL_WARN, fmt, ap);
}

/* ---- start and stop ---- */

/* The networks of a list option (config_check refused any that does not parse). */
static struct cidr *
parse_nets(char **list, size_t *n)
{
	size_t k = 0;
	struct cidr *nets;

	for (char **p = list; p && *p; p++)
		k++;
	nets = xcalloc(k + 1, sizeof(*nets));
	*n = 0;
	for (char **p = list; p && *p; p++)
		if (cidr_parse(*p, &nets[*n]) == 0)
			(*n)++;
	return nets;
}

/* The first line of learn_key_file: at least LEARN_KEY_MIN bytes, no blank. */
static int
load_learn_key(struct http_server *srv, const char *path, char *err, size_t errlen)
{
	char *text = util_read_file(path, 4096, NULL);
	size_t n;

	if (text == NULL) {
		snprintf(err, errlen, "learn_key_file %s: %s", path, strerror(errno));
		return -1;
	}
	n = strcspn(text, "\r\n");
	text[n] = '\0';
	if (n < LEARN_KEY_MIN || n >= sizeof(srv->learn_key) || strpbrk(text, " \t") != NULL) {
		snprintf(err, errlen, "learn_key_file %s: the key must be %d to %zu bytes"
		    " without blanks on the first line", path, LEARN_KEY_MIN,
		    sizeof(srv->learn_key) - 1);
		sodium_memzero(text, strlen(text));
		free(text);
		return -1;
	}
	memcpy(srv->learn_key, text, n + 1);
	sodium_memzero(text, n);
	free(text);
	return 0;
}

static int
parse_listen(const char *text, struct sockaddr_storage *ss, char *err, size_t errlen)
{
	char host[256], *port;
	struct addrinfo hints, *res = NULL;
	int rc;

	if (text[0] == '[') {
		const char *end = strchr(text, ']');

		if (end == NULL || end[1] != ':' || (size_t)(end - text) >= sizeof(host))
			goto bad;
		memcpy(host, text + 1, (size_t)(end - text - 1));
		host[end - text - 1] = '\0';
		port = (char *)(uintptr_t)(end + 2);
	} else {
		const char *colon = strrchr(text, ':');

		if (colon == NULL || (size_t)(colon - text) >= sizeof(host))
			goto bad;
		memcpy(host, text, (size_t)(colon - text));
		host[colon - text] = '\0';
		port = (char *)(uintptr_t)(colon + 1);
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(*host ? host : NULL, port, &hints, &res)) != 0 || res == NULL)
		goto bad;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
bad:
	snprintf(err, errlen, "console_listen: '%s' is not address:port", text);
	return -1;
}

struct http_server *
http_server_start(const struct config *cfg, struct queue *q, char *err, size_t errlen)
{
	struct http_server *srv = xcalloc(1, sizeof(*srv));
	struct sockaddr_storage ss;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
	char *dir;

	pthread_once(&store_key_once, store_key_init);
	srv->cfg = cfg;
	srv->q = q;
	srv->db_path = config_state_path(cfg, "sekisho.db");
	dir = config_state_path(cfg, "spool");
	srv->spool = spool_open(dir);
	free(dir);
	if (srv->spool == NULL) {
		snprintf(err, errlen, "console: cannot open the spool: %s", strerror(errno));
		goto fail;
	}
	srv->metrics_nets = parse_nets(cfg->metrics_allow, &srv->nmetrics_nets);
	srv->learn_nets = parse_nets(cfg->learn_allow, &srv->nlearn_nets);
	if (*cfg->learn_key_file != '\0' && load_learn_key(srv, cfg->learn_key_file,
	    err, errlen) < 0)
		goto fail;
	srv->link_rl = xcalloc(1, sizeof(*srv->link_rl));
	http_rl_init(srv->link_rl, LINK_MAX_FAILURES, LINK_WINDOW_MS);
	if (console_key_load(cfg, srv->secret_key, err, errlen) < 0)
		goto fail;
	if (parse_listen(cfg->console_listen, &ss, err, errlen) < 0)
		goto fail;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (cfg->console_tls) {
		srv->cert = util_read_file(cfg->tls_cert_file, 1 << 20, NULL);
		srv->key = util_read_file(cfg->tls_key_file, 1 << 20, NULL);
		if (srv->cert == NULL || srv->key == NULL) {
			snprintf(err, errlen, "console_tls: cannot read %s or %s",
			    cfg->tls_cert_file, cfg->tls_key_file);
			goto fail;
		}
		flags |= MHD_USE_TLS;
	}
	/* Without TLS the key option's place holds MHD_OPTION_END, which ends
	 * the list there. */
	srv->mhd = MHD_start_daemon(flags, 0, NULL, NULL, access_cb, srv,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->console_threads,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_CONN_TIMEOUT,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_MAX_CONNECTIONS,
	    MHD_OPTION_NOTIFY_COMPLETED, completed_cb, srv,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv,
	    cfg->console_tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, srv->key,
	    MHD_OPTION_HTTPS_MEM_CERT, srv->cert,
	    MHD_OPTION_END);
	if (srv->mhd == NULL) {
		snprintf(err, errlen, "console: cannot listen on %s", cfg->console_listen);
		goto fail;
	}
	log_info("console: listening on %s (%s)", cfg->console_listen,
	    cfg->console_tls ? "https" : "http");
	return srv;
fail:
	http_server_stop(srv);
	return NULL;
}

void
http_server_stop(struct http_server *srv)
{
	if (srv == NULL)
		return;
	if (srv->mhd != NULL)
		MHD_stop_daemon(srv->mhd);
	spool_close(srv->spool);
	if (srv->link_rl != NULL) {
		http_rl_destroy(srv->link_rl);
		free(srv->link_rl);
	}
	free(srv->metrics_nets);
	free(srv->learn_nets);
	sodium_memzero(srv->learn_key, sizeof(srv->learn_key));
	free(srv->db_path);
	if (srv->key != NULL)
		free(srv->key);
	free(srv->cert);
	sodium_memzero(srv->secret_key, sizeof(srv->secret_key));
	free(srv);
}

void
http_server_set_guard(struct http_server *srv, struct account_guard *ag)
{
	if (srv != NULL)
		srv->guard = ag;
}
