/*
 * cmd_learn.c - "sekisho learn": teach the spam classifier, or undo it.
 *
 *   sekisho learn --spam PATH...      learn messages as spam
 *   sekisho learn --ham PATH...       learn messages as not spam
 *   sekisho learn --spam PATH... --ham PATH...   both, in one run
 *   sekisho learn --forget PATH...    undo the learning of these messages
 *   sekisho learn --list FILE         learn "spam|ham<TAB>path" lines
 *   sekisho learn --classify PATH...  print each message's score, learn nothing
 *   sekisho learn --explain PATH...   why: each message's margin taken apart
 *                                     into its features' shares, the
 *                                     strongest each way (learn.h)
 *   sekisho learn --online --list FILE  classify each message, then learn it
 *                                       (train on error), in the list's order
 *   sekisho learn --calibrate --list FILE  fit the model's probability scale
 *                                       on labelled messages it has NOT learned
 *   sekisho learn --stats             what the model has learned
 *   --passes N   passes over the messages of a --spam/--ham/--list run
 *                (default 2: the second trains again on or near error)
 *
 * A PATH is a message file, a directory (read recursively, in name order)
 * or an mbox file (messages separated by "From " lines).  A message that
 * sekisho delivered (a user's Junk folder) is learned, forgotten and scored
 * as sekisho scanned it: learn_scanned_copy() takes out its verdict header
 * and subject tag first.
 *
 * Order.  The model learns online, so the messages learned last weigh
 * most: a run that learned every spam and then every ham (or a list sorted
 * by label) leaves a model leaning towards the last kind.  Measured on the
 * trained phishing bench (bench/phish.sh), a model that learned its ham
 * first and 2,600 spam last put 277 of 1,619 unseen ham at p >= 0.9; the
 * same messages learned in a shuffled order put 1 there.  So a learning run
 * takes its messages -- every file and every message of an mbox -- in a
 * shuffled order, another one each pass, drawn from the messages sorted by
 * path and seeded: the same messages are learned in the same order however
 * they were given.  --online keeps the list's order: that is what it
 * measures.  --base DIR makes
 * the paths of a --list relative to DIR.  On a terminal a progress bar
 * runs on standard error; the counts are printed at the end.  --classify
 * and --online print "label<TAB>margin<TAB>probability<TAB>path" lines (label
 * "-" when unknown), for bench/accuracy.sh; the probability is the
 * calibrated one (classifier.h).  --calibrate classifies the messages of the
 * list, fits the Platt scaling on their margins and labels and stores it
 * with the model; the messages must be mail the model has not learned
 * (held-out), else the fit believes the model better than it is.
 *
 * Everything learned in one run is committed to the store together with
 * the model (every LEARN_COMMIT_EVERY messages and at the end), so an
 * interrupted run leaves the model and its per-message records consistent.
 * The daemon picks up the new model within bayes_reload_interval.
 *
 * Exit: 0 done, 1 an error (store, unreadable path), 2 usage.
 */
#include "cmd/cmd.h"
#include "detect/learn.h"
#include "store/store.h"
#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LEARN_COMMIT_EVERY	5000
#define LEARN_MAX_FILE		(256u << 20)

static const char learn_usage[] =
    "usage: sekisho learn [--passes N] --spam|--ham|--forget|--classify|--explain PATH...\n"
    "       sekisho learn [--passes N] --spam PATH... --ham PATH...\n"
    "       sekisho learn [--online|--classify|--calibrate] [--base DIR] --list FILE\n"
    "       sekisho learn --stats\n";

enum mode { M_NONE, M_SPAM, M_HAM, M_FORGET, M_CLASSIFY, M_STATS, M_CALIBRATE, M_EXPLAIN };

struct item {
	char *path;
	int label;		/* 1 spam, 0 ham, -1 unknown (from the mode) */
	off_t off;		/* one message of an mbox: where, and how long */
	size_t len;		/* 0: the whole file */
};

struct run {
	const struct config *cfg;
	enum mode mode;
	int online;
	int pass;		/* 1, or 2.. for the refining passes */
	struct learner *l;
	struct store *st;
	struct item *items;
	size_t nitems, cap;
	size_t done;		/* files processed (progress) */
	size_t counts[LEARN_FAILED + 1];
	size_t messages, unreadable, since_commit;
	int tty;
	int64_t last_draw_ms, start_ms;
	double *cal_m;		/* --calibrate: margins and labels seen */
	int *cal_y;
	size_t ncal, calcap;
};

/* Modes that only read the model. */
static int
reads_only(const struct run *r)
{
	return r->mode == M_CLASSIFY || r->mode == M_EXPLAIN;
}

static void
add_item(struct run *r, const char *path, int label, off_t off, size_t len)
{
	if (r->nitems == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 256;
		r->items = xrealloc(r->items, r->cap * sizeof(*r->items));
	}
	r->items[r->nitems].path = xstrdup(path);
	r->items[r->nitems].label = label;
	r->items[r->nitems].off = off;
	r->items[r->nitems].len = len;
	r->nitems++;
}

/* The start of the next mbox "From " line after p (a line that follows an
 * empty one), or end. */
static const char *
next_from(const char *p, const char *end)
{
	while ((p = memmem(p, (size_t)(end - p), "\n\nFrom ", 7)) != NULL)
		return p + 2;
	return end;
}

/* A file: one item, or one per message when it is an mbox. */
static void
add_file(struct run *r, const char *path, int label)
{
	char head[5];
	FILE *fp = fopen(path, "rb");
	int mbox = fp != NULL && fread(head, 1, 5, fp) == 5 && memcmp(head, "From ", 5) == 0;
	char *raw;
	size_t len;

	if (fp != NULL)
		fclose(fp);
	/* an unreadable file is reported when its turn comes */
	if (!mbox || (raw = util_read_file(path, LEARN_MAX_FILE, &len)) == NULL) {
		add_item(r, path, label, 0, 0);
		return;
	}
	for (const char *p = raw, *end = raw + len; p < end;) {
		const char *q = next_from(p, end);

		add_item(r, path, label, p - raw, (size_t)(q - p));
		p = q;
	}
	free(raw);
}

static int
item_cmp(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	return c != 0 ? c : x->off < y->off ? -1 : x->off > y->off;
}

/* Fisher-Yates with splitmix64: the same seed, the same order. */
static void
shuffle(struct item *items, size_t n, uint64_t seed)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(util_mix64(seed += 0x9e3779b97f4a7c15ULL) % i);
		struct item t;

		t = items[i - 1];
		items[i - 1] = items[j];
		items[j] = t;
	}
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Files under path, recursively, in name order.  -1 when path is unreadable. */
static int
collect(struct run *r, const char *path, int label)
{
	struct stat sb;
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	if (stat(path, &sb) < 0) {
		fprintf(stderr, "sekisho learn: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		add_file(r, path, label);
		return 0;
	}
	if ((d = opendir(path)) == NULL) {
		fprintf(stderr, "sekisho learn: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;	/* ., .., and hidden files (cmds, .DS_Store) */
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = xrealloc(names, cap * sizeof(*names));
		}
		names[n++] = xasprintf("%s/%s", path, de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		if (collect(r, names[i], label) < 0)
			rc = -1;
		free(names[i]);
	}
	free(names);
	return rc;
}

static int
read_list(struct run *r, const char *file, const char *base)
{
	FILE *fp = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0, rc = 0;

	if (fp == NULL) {
		fprintf(stderr, "sekisho learn: %s: %s\n", file, strerror(errno));
		return -1;
	}
	while ((len = getline(&line, &cap, fp)) >= 0) {
		char *tab, *path;
		int label;

		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		if ((tab = strchr(line, '\t')) == NULL) {
			fprintf(stderr, "sekisho learn: %s:%d: not label<TAB>path\n", file, lineno);
			rc = -1;
			continue;
		}
		*tab = '\0';
		if (strcmp(line, "spam") == 0)
			label = 1;
		else if (strcmp(line, "ham") == 0)
			label = 0;
		else {
			fprintf(stderr, "sekisho learn: %s:%d: label '%s' is not spam or ham\n",
			    file, lineno, line);
			rc = -1;
			continue;
		}
		path = base != NULL && tab[1] != '/' ? xasprintf("%s/%s", base, tab + 1) :
		    xstrdup(tab + 1);
		if (collect(r, path, label) < 0)
			rc = -1;
		free(path);
	}
	free(line);
	if (fp != stdin)
		fclose(fp);
	return rc;
}

static void
progress(struct run *r, int last)
{
	int64_t now = util_mono_ms();
	size_t width = 30, fill;

	if (!r->tty || (!last && now - r->last_draw_ms < 100))
		return;
	r->last_draw_ms = now;
	fill = r->nitems ? r->done * width / r->nitems : width;
	fprintf(stderr, "\r[");
	for (size_t i = 0; i < width; i++)
		fputc(i < fill ? '#' : ' ', stderr);
	fprintf(stderr, "] %zu/%zu files, %zu messages", r->done, r->nitems, r->messages);
	if (r->pass > 1)
		fprintf(stderr, " (pass %d)", r->pass);
	if (last)
		fputc('\n', stderr);
	fflush(stderr);
}

static int
commit(struct run *r)
{
	if (learner_save(r->l) < 0 || store_commit(r->st) < 0) {
		fprintf(stderr, "sekisho learn: %s\n", store_errmsg(r->st));
		return -1;
	}
	r->since_commit = 0;
	return 0;
}

/* --explain: one message's margin, taken apart (learn.h). */
static void
explain(struct run *r, const struct message *msg, const char *path)
{
	const struct config *cfg = r->cfg;
	struct learn_explain ex;
	double p;
	const char *verdict;

	learner_explain(r->l, msg, &ex);
	p = classifier_cal_prob(r->l->clf, ex.margin);
	verdict = p >= cfg->bayes_spam_threshold ? "BAYES_SPAM" :
	    p <= cfg->bayes_ham_threshold ? "BAYES_HAM" : "BAYES_UNSURE";
	printf("%s\n  margin %+.4f, spam probability %.4f: %s (%zu buckets of %zu features)\n",
	    path, ex.margin, p, verdict, ex.nbuckets, ex.nfeatures);
	printf("  towards spam:\n");
	for (size_t i = 0; i < ex.nspam; i++)
		printf("    %+.4f  %s\n", ex.spam[i].share, ex.spam[i].feature);
	printf("  towards ham:\n");
	for (size_t i = 0; i < ex.nham; i++)
		printf("    %+.4f  %s\n", ex.ham[i].share, ex.ham[i].feature);
	printf("  the other features %+.4f, bias %+.4f\n", ex.rest, ex.bias);
}

/* One message (bytes of one file, or one of an mbox). */
static int
one_message(struct run *r, const char *raw, size_t len, int label, const char *path)
{
	size_t off = learn_skip_from_line(raw, len), clen;
	struct message *msg = message_parse(raw + off, len - off, NULL);
	enum learn_outcome o;
	char *clean;

	/* a delivered copy (a Junk folder): as sekisho scanned it (learn.h) */
	if ((clean = learn_scanned_copy(msg, r->cfg->tag_subject_prefix,
	    config_authserv_id(r->cfg), &clen)) != NULL) {
		message_free(msg);
		msg = message_parse(clean, clen, NULL);
		raw = clean;
		len = clen;
	}
	if (r->pass <= 1)
		r->messages++;
	if (r->mode == M_EXPLAIN) {
		explain(r, msg, path);
	} else if (r->mode == M_CLASSIFY || r->online) {
		double m = learner_margin(r->l, msg);

		printf("%s\t%.6f\t%.6f\t%s\n", label < 0 ? "-" : label ? "spam" : "ham",
		    m, classifier_cal_prob(r->l->clf, m), path);
		if (r->online && label >= 0) {
			o = learner_learn(r->l, msg, raw, len, label, "cli");
			r->counts[o]++;
		}
	} else if (r->mode == M_CALIBRATE) {
		if (label >= 0) {
			if (r->ncal == r->calcap) {
				r->calcap = r->calcap ? r->calcap * 2 : 1024;
				r->cal_m = xrealloc(r->cal_m, r->calcap * sizeof(*r->cal_m));
				r->cal_y = xrealloc(r->cal_y, r->calcap * sizeof(*r->cal_y));
			}
			r->cal_m[r->ncal] = learner_margin(r->l, msg);
			r->cal_y[r->ncal++] = label;
		}
	} else if (r->pass > 1) {
		o = learner_refine(r->l, msg, raw, len);
		if (o == LEARN_FAILED)
			r->counts[o]++;
	} else if (r->mode == M_FORGET) {
		o = learner_forget(r->l, msg, raw, len);
		r->counts[o]++;
		if (o == LEARN_UNKNOWN || o == LEARN_FORGOTTEN_INEXACT)
			fprintf(stderr, "%s%s: %s\n", r->tty ? "\r" : "", path,
			    learn_outcome_name(o));
	} else {
		o = learner_learn(r->l, msg, raw, len, label, "cli");
		r->counts[o]++;
	}
	message_free(msg);
	free(clean);
	if (r->counts[LEARN_FAILED] > 0) {
		fprintf(stderr, "sekisho learn: %s: %s\n", path, store_errmsg(r->st));
		return -1;
	}
	if (!reads_only(r) && r->mode != M_CALIBRATE && ++r->since_commit >= LEARN_COMMIT_EVERY)
		if (commit(r) < 0 || store_begin(r->st) < 0)
			return -1;
	return 0;
}

/* len bytes at off of path (one message of an mbox), or NULL + errno. */
static char *
read_range(const char *path, off_t off, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), e;
	char *buf;
	ssize_t n;

	if (fd < 0)
		return NULL;
	buf = xmalloc(len + 1);
	n = pread(fd, buf, len, off);
	e = n < 0 ? errno : EIO;
	close(fd);
	if (n < 0 || (size_t)n != len) {
		free(buf);
		errno = e;
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

static int
one_file(struct run *r, const struct item *it)
{
	size_t len = it->len;
	char *raw = it->len > 0 ? read_range(it->path, it->off, it->len) :
	    util_read_file(it->path, LEARN_MAX_FILE, &len);
	int rc;

	if (raw == NULL) {
		fprintf(stderr, "%ssekisho learn: %s: %s\n", r->tty ? "\r" : "", it->path,
		    strerror(errno));
		r->unreadable++;
		return 0;
	}
	rc = one_message(r, raw, len, it->label, it->path);
	free(raw);
	return rc;
}

/* Fit the probability scale on the margins collected; the model is saved by
 * the caller's commit. */
static int
calibrate(struct run *r)
{
	struct classifier *c = r->l->clf;
	double a = c->cal_a, b = c->cal_b;

	if (classifier_calibrate(c, r->cal_m, r->cal_y, r->ncal) < 0) {
		fprintf(stderr, "sekisho learn: cannot calibrate on %zu messages (at least"
		    " 10 spam and 10 ham, and a margin that ranks them)\n", r->ncal);
		return -1;
	}
	r->l->dirty = 1;
	printf("calibration: p = sigmoid(%.4f * margin %+.4f) (was %.4f, %+.4f);"
	    " p = 0.9 at margin %.2f\n", c->cal_a, c->cal_b, a, b,
	    (2.1972246 - c->cal_b) / c->cal_a);
	return 0;
}

static void
print_stats(FILE *fp, struct learner *l, struct store *st)
{
	fprintf(fp, "model %s: %lld spam, %lld ham learned (%lld records), %lld updates,"
	    " %u-bit table, calibration %.3f * margin %+.3f\n", l->name,
	    (long long)l->clf->nspam, (long long)l->clf->nham,
	    (long long)store_learned_count(st, l->name, -1),
	    (long long)l->clf->nupdates, l->clf->bits, l->clf->cal_a, l->clf->cal_b);
}

int
cmd_learn(const struct config *cfg, int argc, char **argv)
{
	struct run r = { .cfg = cfg, .mode = M_NONE };
	const char *list = NULL, *base = NULL;
	char err[256], *db = NULL;
	int i, rc = 1, open_rc, passes = 2, mixed = 0;
	const char **paths = NULL;
	int *labels = NULL;
	size_t npaths = 0;
	double secs;

	paths = xcalloc((size_t)argc + 1, sizeof(*paths));
	labels = xcalloc((size_t)argc + 1, sizeof(*labels));
	for (i = 0; i < argc; i++) {
		enum mode m = M_NONE;

		/* paths; and after them, in a learning run, the other kind */
		if (argv[i][0] != '-' || argv[i][1] != '-') {
			if (r.mode == M_NONE) {
				fputs(learn_usage, stderr);
				rc = 2;
				goto out;
			}
			paths[npaths] = argv[i];
			labels[npaths++] = r.mode == M_SPAM ? 1 : r.mode == M_HAM ? 0 : -1;
			continue;
		}
		if (npaths > 0 && ((r.mode == M_SPAM && strcmp(argv[i], "--ham") == 0) ||
		    (r.mode == M_HAM && strcmp(argv[i], "--spam") == 0))) {
			r.mode = r.mode == M_SPAM ? M_HAM : M_SPAM;
			mixed = 1;
			continue;
		}
		if (npaths > 0) {
			fprintf(stderr, "sekisho learn: %s after the paths\n%s", argv[i], learn_usage);
			rc = 2;
			goto out;
		}
		if (strcmp(argv[i], "--spam") == 0)
			m = M_SPAM;
		else if (strcmp(argv[i], "--ham") == 0)
			m = M_HAM;
		else if (strcmp(argv[i], "--forget") == 0)
			m = M_FORGET;
		else if (strcmp(argv[i], "--classify") == 0)
			m = M_CLASSIFY;
		else if (strcmp(argv[i], "--stats") == 0)
			m = M_STATS;
		else if (strcmp(argv[i], "--explain") == 0)
			m = M_EXPLAIN;
		else if (strcmp(argv[i], "--calibrate") == 0)
			m = M_CALIBRATE;
		else if (strcmp(argv[i], "--online") == 0)
			r.online = 1;
		else if (strcmp(argv[i], "--list") == 0 && i + 1 < argc)
			list = argv[++i];
		else if (strcmp(argv[i], "--base") == 0 && i + 1 < argc)
			base = argv[++i];
		else if (strcmp(argv[i], "--passes") == 0 && i + 1 < argc &&
		    atoi(argv[i + 1]) >= 1 && atoi(argv[i + 1]) <= 10)
			passes = atoi(argv[++i]);
		else {
			fprintf(stderr, "sekisho learn: unknown option %s\n%s", argv[i], learn_usage);
			rc = 2;
			goto out;
		}
		if (m != M_NONE && r.mode != M_NONE) {
			fprintf(stderr, "sekisho learn: one of --spam, --ham, --forget,"
			    " --classify, --explain, --stats\n%s", learn_usage);
			rc = 2;
			goto out;
		}
		if (m != M_NONE)
			r.mode = m;
	}
	if (mixed)
		r.mode = M_NONE;	/* the labels are the paths' own, as in a list */
	if ((r.mode == M_NONE && list == NULL && !mixed) || (r.online && list == NULL) ||
	    (r.mode != M_STATS && list == NULL && npaths == 0) ||
	    (list != NULL && (r.mode == M_SPAM || r.mode == M_HAM || mixed)) ||
	    (r.mode == M_CALIBRATE && (list == NULL || r.online))) {
		fputs(learn_usage, stderr);
		rc = 2;
		goto out;
	}

	if (util_mkdirs(cfg->state_dir, 0700) < 0) {
		fprintf(stderr, "sekisho learn: %s: %s\n", cfg->state_dir, strerror(errno));
		return 1;
	}
	db = config_state_path(cfg, "sekisho.db");
	r.st = store_open(db, err, sizeof(err));
	if (r.st == NULL) {
		fprintf(stderr, "sekisho learn: %s\n", err);
		goto out;
	}
	/* Only learning creates a model; the other modes need one. */
	open_rc = learner_open(r.st, LEARN_MODEL, r.mode == M_NONE || r.mode == M_SPAM ||
	    r.mode == M_HAM || r.online, (unsigned)cfg->bayes_table_bits, &r.l,
	    err, sizeof(err));
	if (open_rc != 0) {
		fprintf(stderr, "sekisho learn: %s\n", open_rc < 0 ? err :
		    "nothing learned yet (sekisho learn --spam/--ham first)");
		goto out;
	}
	if (r.mode == M_STATS) {
		print_stats(stdout, r.l, r.st);
		rc = 0;
		goto out;
	}

	if (list != NULL && read_list(&r, list, base) < 0)
		goto out;
	for (size_t k = 0; k < npaths; k++)
		if (collect(&r, paths[k], labels[k]) < 0)
			goto out;

	r.tty = isatty(STDERR_FILENO) && !reads_only(&r) && !r.online;
	r.start_ms = util_mono_ms();
	if (!reads_only(&r) && store_begin(r.st) < 0) {
		fprintf(stderr, "sekisho learn: %s\n", store_errmsg(r.st));
		goto out;
	}
	if (r.mode == M_FORGET || reads_only(&r) || r.mode == M_CALIBRATE || r.online)
		passes = 1;
	for (r.pass = 1; r.pass <= passes; r.pass++) {
		/* learning: another shuffled order each pass, from the sorted
		 * items, so that the order given does not matter (see the header) */
		if ((r.mode == M_NONE || r.mode == M_SPAM || r.mode == M_HAM) && !r.online) {
			if (r.pass == 1)
				qsort(r.items, r.nitems, sizeof(*r.items), item_cmp);
			shuffle(r.items, r.nitems, (uint64_t)r.pass);
		}
		r.done = 0;
		for (size_t k = 0; k < r.nitems; k++) {
			if (one_file(&r, &r.items[k]) < 0) {
				store_rollback(r.st);
				goto out;
			}
			r.done++;
			progress(&r, 0);
		}
		progress(&r, 1);
	}
	if (r.mode == M_CALIBRATE && calibrate(&r) < 0) {
		store_rollback(r.st);
		goto out;
	}
	if (!reads_only(&r) && commit(&r) < 0)
		goto out;
	secs = (double)(util_mono_ms() - r.start_ms) / 1000.0;
	if (r.mode == M_FORGET)
		fprintf(stderr, "%zu messages: %zu forgotten, %zu forgotten inexactly,"
		    " %zu never learned", r.messages, r.counts[LEARN_FORGOTTEN],
		    r.counts[LEARN_FORGOTTEN_INEXACT], r.counts[LEARN_UNKNOWN]);
	else if (r.mode == M_CALIBRATE)
		fprintf(stderr, "%zu messages classified for the calibration", r.messages);
	else if (r.mode == M_EXPLAIN)
		fprintf(stderr, "%zu messages explained", r.messages);
	else if (r.mode != M_CLASSIFY || r.online)
		fprintf(stderr, "%zu messages: %zu learned, %zu relabelled, %zu already known",
		    r.messages, r.counts[LEARN_LEARNED], r.counts[LEARN_RELABELLED],
		    r.counts[LEARN_ALREADY]);
	else
		fprintf(stderr, "%zu messages classified", r.messages);
	fprintf(stderr, ", %zu unreadable files; %.1f s (%.0f msg/s)\n", r.unreadable, secs,
	    secs > 0 ? (double)r.messages / secs : 0.0);
	if (!reads_only(&r))
		print_stats(r.online ? stderr : stdout, r.l, r.st);
	rc = r.unreadable > 0 ? 1 : 0;
out:
	for (size_t k = 0; k < r.nitems; k++)
		free(r.items[k].path);
	free(r.cal_m);
	free(r.cal_y);
	free(r.items);
	free(paths);
	free(labels);
	learner_free(r.l);
	store_close(r.st);
	free(db);
	return rc;
}
