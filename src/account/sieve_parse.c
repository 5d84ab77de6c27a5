/*
 * sieve_parse.c - a small Sieve (RFC 5228) reader for the mailbox audit.
 *
 * It reads the grammar of RFC 5228 section 8 (identifiers, :tags, numbers
 * with K/M/G, quoted strings with \-escapes, multi-line "text:" strings
 * with dot-stuffing, string lists, test lists, blocks, # and bracketed
 * comments) and keeps only the actions that matter for an audit: redirect
 * (with :copy), discard, reject/ereject, fileinto, vacation, and pipe or
 * execute (Pigeonhole's extprograms).  Tests are read but not judged: an
 * action inside if/elsif/else is marked conditional.
 *
 * Untrusted input: the script is the user's (or the intruder's).  Limits:
 * SIEVE_MAX_DEPTH nested blocks and tests, SIEVE_MAX_TOKENS tokens,
 * SIEVE_MAX_ACTIONS actions; the caller bounds the size (sieve_max_size).
 * Hitting a limit or a syntax error ends the parse with -1 and a message;
 * the actions read so far are kept.  Pure: no I/O, no globals, so the
 * fuzzer (tests/fuzz/fuzz_sieve.c) can drive it alone.
 */
#include "account/sieve_audit.h"
#include "util/buf.h"
#include "util/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum tok {
	T_EOF, T_IDENT, T_TAG, T_NUMBER, T_STRING, T_LBRACKET, T_RBRACKET,
	T_LPAREN, T_RPAREN, T_COMMA, T_SEMI, T_LBRACE, T_RBRACE, T_ERROR,
};

struct parser {
	const char *p, *end;
	int line;
	long ntok;
	/* the current token */
	enum tok t;
	char *text;		/* identifier, tag or decoded string (malloc'ed) */
	int tline;
	struct sieve_script *out;
	int failed;
};

static void
perr(struct parser *ps, int limit, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ps->failed)
		return;
	ps->failed = 1;
	ps->out->error = 1;
	ps->out->limit |= limit;
	n = snprintf(ps->out->errmsg, sizeof(ps->out->errmsg), "line %d: ", ps->tline);
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(ps->out->errmsg))
		vsnprintf(ps->out->errmsg + n, sizeof(ps->out->errmsg) - (size_t)n, fmt, ap);
	va_end(ap);
}

static int
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* Skip white space and comments.  -1 on an unterminated comment. */
static int
skip_space(struct parser *ps)
{
	while (ps->p < ps->end) {
		char c = *ps->p;
		if (c == '\n') {
			ps->line++;
			ps->p++;
		} else if (c == ' ' || c == '\t' || c == '\r') {
			ps->p++;
		} else if (c == '#') {
			while (ps->p < ps->end && *ps->p != '\n')
				ps->p++;
		} else if (c == '/' && ps->p + 1 < ps->end && ps->p[1] == '*') {
			ps->p += 2;
			for (;;) {
				if (ps->p + 1 >= ps->end)
					return -1;
				if (ps->p[0] == '*' && ps->p[1] == '/') {
					ps->p += 2;
					break;
				}
				if (*ps->p == '\n')
					ps->line++;
				ps->p++;
			}
		} else {
			break;
		}
	}
	return 0;
}

static int
lex_quoted(struct parser *ps)
{
	struct buf b = { 0 };

	ps->p++;		/* the opening quote */
	while (ps->p < ps->end && *ps->p != '"') {
		char c = *ps->p++;
		if (c == '\\') {
			if (ps->p >= ps->end)
				break;
			c = *ps->p++;	/* \" \\ and, as the RFC says, \x is x */
		}
		if (c == '\n')
			ps->line++;
		buf_add(&b, &c, 1);
	}
	if (ps->p >= ps->end) {
		free(buf_steal(&b, NULL));
		return -1;
	}
	ps->p++;
	ps->text = buf_steal(&b, NULL);
	if (ps->text == NULL)
		ps->text = xstrdup("");
	return 0;
}

/* After "text:": optional blanks and a comment, a line end, then lines up
 * to a lone "."; a leading ".." stands for ".". */
static int
lex_multiline(struct parser *ps)
{
	struct buf b = { 0 };

	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
		ps->p++;
	if (ps->p < ps->end && *ps->p == '#')
		while (ps->p < ps->end && *ps->p != '\n')
			ps->p++;
	if (ps->p < ps->end && *ps->p == '\r')
		ps->p++;
	if (ps->p >= ps->end || *ps->p != '\n')
		return -1;
	ps->p++;
	ps->line++;
	for (;;) {
		const char *nl = memchr(ps->p, '\n', (size_t)(ps->end - ps->p));
		const char *s = ps->p, *e;
		if (nl == NULL) {
			free(buf_steal(&b, NULL));
			return -1;
		}
		e = nl > s && nl[-1] == '\r' ? nl - 1 : nl;
		ps->p = nl + 1;
		ps->line++;
		if (e - s == 1 && *s == '.')
			break;
		if (e > s && *s == '.' && s + 1 < e && s[1] == '.')
			s++;
		buf_add(&b, s, (size_t)(e - s));
		buf_add(&b, "\r\n", 2);
	}
	ps->text = buf_steal(&b, NULL);
	if (ps->text == NULL)
		ps->text = xstrdup("");
	return 0;
}

static void
next(struct parser *ps)
{
	const char *s;

	free(ps->text);
	ps->text = NULL;
	if (ps->failed) {
		ps->t = T_ERROR;
		return;
	}
	if (++ps->ntok > SIEVE_MAX_TOKENS) {
		perr(ps, 1, "more than %d tokens", SIEVE_MAX_TOKENS);
		ps->t = T_ERROR;
		return;
	}
	if (skip_space(ps) < 0) {
		ps->tline = ps->line;
		perr(ps, 0, "unterminated comment");
		ps->t = T_ERROR;
		return;
	}
	ps->tline = ps->line;
	if (ps->p >= ps->end) {
		ps->t = T_EOF;
		return;
	}
	s = ps->p;
	switch (*s) {
	case '[': ps->p++; ps->t = T_LBRACKET; return;
	case ']': ps->p++; ps->t = T_RBRACKET; return;
	case '(': ps->p++; ps->t = T_LPAREN; return;
	case ')': ps->p++; ps->t = T_RPAREN; return;
	case ',': ps->p++; ps->t = T_COMMA; return;
	case ';': ps->p++; ps->t = T_SEMI; return;
	case '{': ps->p++; ps->t = T_LBRACE; return;
	case '}': ps->p++; ps->t = T_RBRACE; return;
	case '"':
		if (lex_quoted(ps) < 0) {
			perr(ps, 0, "unterminated string");
			ps->t = T_ERROR;
			return;
		}
		ps->t = T_STRING;
		return;
	case ':':
		ps->p++;
		s = ps->p;
		if (ps->p >= ps->end || !is_alpha((unsigned char)*ps->p)) {
			perr(ps, 0, "':' not followed by a tag name");
			ps->t = T_ERROR;
			return;
		}
		while (ps->p < ps->end && (is_alpha((unsigned char)*ps->p) ||
		    is_digit((unsigned char)*ps->p)))
			ps->p++;
		ps->text = xstrndup(s, (size_t)(ps->p - s));
		ps->t = T_TAG;
		return;
	}
	if (is_digit((unsigned char)*s)) {
		while (ps->p < ps->end && is_digit((unsigned char)*ps->p))
			ps->p++;
		if (ps->p < ps->end && strchr("KkMmGg", *ps->p) != NULL)
			ps->p++;
		ps->t = T_NUMBER;
		return;
	}
	if (is_alpha((unsigned char)*s)) {
		while (ps->p < ps->end && (is_alpha((unsigned char)*ps->p) ||
		    is_digit((unsigned char)*ps->p) || *ps->p == '.'))
			ps->p++;
		if (ps->p - s == 4 && util_strncasecmp(s, "text", 4) == 0 &&
		    ps->p < ps->end && *ps->p == ':') {
			ps->p++;
			if (lex_multiline(ps) < 0) {
				perr(ps, 0, "unterminated text: string");
				ps->t = T_ERROR;
				return;
			}
			ps->t = T_STRING;
			return;
		}
		ps->text = xstrndup(s, (size_t)(ps->p - s));
		ps->t = T_IDENT;
		return;
	}
	perr(ps, 0, "unexpected character 0x%02x", (unsigned char)*s);
	ps->t = T_ERROR;
}

/* The arguments of a command or test, as far as the audit cares. */
struct args {
	char **str;		/* every string, in order (lists flattened) */
	size_t nstr;
	int copy;		/* :copy */
};

static void
args_clear(struct args *a)
{
	for (size_t i = 0; i < a->nstr; i++)
		free(a->str[i]);
	free(a->str);
	memset(a, 0, sizeof(*a));
}

static void
args_add(struct args *a, char *s)
{
	if (a == NULL) {
		free(s);
		return;
	}
	a->str = xrealloc(a->str, (a->nstr + 1) * sizeof(*a->str));
	a->str[a->nstr++] = s;
}

static int parse_test(struct parser *ps, int depth);

/* "[" string *("," string) "]" with the current token at "[". */
static int
parse_string_list(struct parser *ps, struct args *a)
{
	for (;;) {
		next(ps);
		if (ps->t != T_STRING) {
			perr(ps, 0, "expected a string in a string list");
			return -1;
		}
		args_add(a, ps->text);
		ps->text = NULL;
		next(ps);
		if (ps->t == T_RBRACKET)
			break;
		if (ps->t != T_COMMA) {
			perr(ps, 0, "expected ',' or ']' in a string list");
			return -1;
		}
	}
	next(ps);
	return 0;
}

/*
 * Arguments, then an optional test or test list (with the current token at
 * the first of them).  Leaves the token after them current.
 */
static int
parse_arguments(struct parser *ps, struct args *a, int depth)
{
	for (;;) {
		if (ps->t == T_TAG) {
			if (a != NULL && util_strcasecmp(ps->text, "copy") == 0)
				a->copy = 1;
			next(ps);
		} else if (ps->t == T_NUMBER) {
			next(ps);
		} else if (ps->t == T_STRING) {
			args_add(a, ps->text);
			ps->text = NULL;
			next(ps);
		} else if (ps->t == T_LBRACKET) {
			if (parse_string_list(ps, a) < 0)
				return -1;
		} else {
			break;
		}
	}
	if (ps->t == T_IDENT)
		return parse_test(ps, depth + 1);
	if (ps->t == T_LPAREN) {
		if (depth + 1 > SIEVE_MAX_DEPTH) {
			perr(ps, 1, "tests nested deeper than %d", SIEVE_MAX_DEPTH);
			return -1;
		}
		next(ps);
		for (;;) {
			if (ps->t != T_IDENT) {
				perr(ps, 0, "expected a test in a test list");
				return -1;
			}
			if (parse_test(ps, depth + 1) < 0)
				return -1;
			if (ps->t == T_RPAREN)
				break;
			if (ps->t != T_COMMA) {
				perr(ps, 0, "expected ',' or ')' in a test list");
				return -1;
			}
			next(ps);
		}
		next(ps);
	}
	return ps->failed ? -1 : 0;
}

/* A test: identifier arguments; current token at the identifier. */
static int
parse_test(struct parser *ps, int depth)
{
	if (depth > SIEVE_MAX_DEPTH) {
		perr(ps, 1, "tests nested deeper than %d", SIEVE_MAX_DEPTH);
		return -1;
	}
	next(ps);
	return parse_arguments(ps, NULL, depth);
}

static void
add_action(struct parser *ps, enum sieve_kind kind, const char *target,
    int conditional, int line)
{
	struct sieve_script *s = ps->out;
	struct sieve_action *a;

	if (s->nact >= SIEVE_MAX_ACTIONS) {
		perr(ps, 1, "more than %d actions", SIEVE_MAX_ACTIONS);
		return;
	}
	s->act = xrealloc(s->act, (s->nact + 1) * sizeof(*s->act));
	a = &s->act[s->nact++];
	a->kind = kind;
	a->target = xstrdup(target ? target : "");
	a->conditional = conditional;
	a->line = line;
}

static void
record(struct parser *ps, const char *cmd, const struct args *a, int conditional, int line)
{
	const char *last = a->nstr ? a->str[a->nstr - 1] : NULL;
	const char *first = a->nstr ? a->str[0] : NULL;

	if (util_strcasecmp(cmd, "redirect") == 0)
		add_action(ps, a->copy ? SIEVE_REDIRECT_COPY : SIEVE_REDIRECT, last,
		    conditional, line);
	else if (util_strcasecmp(cmd, "discard") == 0)
		add_action(ps, SIEVE_DISCARD, NULL, conditional, line);
	else if (util_strcasecmp(cmd, "reject") == 0 || util_strcasecmp(cmd, "ereject") == 0)
		add_action(ps, SIEVE_REJECT, last, conditional, line);
	else if (util_strcasecmp(cmd, "fileinto") == 0)
		add_action(ps, SIEVE_FILEINTO, last, conditional, line);
	else if (util_strcasecmp(cmd, "vacation") == 0)
		add_action(ps, SIEVE_VACATION, NULL, conditional, line);
	else if (util_strcasecmp(cmd, "pipe") == 0 || util_strcasecmp(cmd, "execute") == 0)
		add_action(ps, SIEVE_PIPE, first, conditional, line);
}

static int parse_commands(struct parser *ps, int depth, int conditional, int in_block);

/* One command; current token at its identifier. */
static int
parse_command(struct parser *ps, int depth, int conditional)
{
	struct args a = { 0 };
	char *name = ps->text;
	int line = ps->tline, rc = -1, cond;

	ps->text = NULL;
	next(ps);
	if (parse_arguments(ps, &a, depth) < 0)
		goto out;
	if (ps->t == T_SEMI) {
		record(ps, name, &a, conditional, line);
		next(ps);
		rc = ps->failed ? -1 : 0;
	} else if (ps->t == T_LBRACE) {
		cond = conditional || util_strcasecmp(name, "if") == 0 ||
		    util_strcasecmp(name, "elsif") == 0 || util_strcasecmp(name, "else") == 0;
		if (depth + 1 > SIEVE_MAX_DEPTH) {
			perr(ps, 1, "blocks nested deeper than %d", SIEVE_MAX_DEPTH);
			goto out;
		}
		next(ps);
		if (parse_commands(ps, depth + 1, cond, 1) < 0)
			goto out;
		next(ps);	/* past "}" */
		rc = ps->failed ? -1 : 0;
	} else {
		perr(ps, 0, "expected ';' or '{' after %s", name);
	}
out:
	args_clear(&a);
	free(name);
	return rc;
}

static int
parse_commands(struct parser *ps, int depth, int conditional, int in_block)
{
	for (;;) {
		if (ps->t == T_EOF) {
			if (in_block) {
				perr(ps, 0, "missing '}'");
				return -1;
			}
			return 0;
		}
		if (ps->t == T_RBRACE) {
			if (!in_block) {
				perr(ps, 0, "unexpected '}'");
				return -1;
			}
			return 0;
		}
		if (ps->t != T_IDENT) {
			perr(ps, 0, "expected a command");
			return -1;
		}
		if (parse_command(ps, depth, conditional) < 0)
			return -1;
	}
}

int
sieve_parse(const char *buf, size_t len, struct sieve_script *out)
{
	struct parser ps;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&ps, 0, sizeof(ps));
	ps.p = buf;
	ps.end = buf + len;
	ps.line = 1;
	ps.out = out;
	/* a NUL byte is not Sieve (RFC 5228 2.4.2: UTF-8 text) */
	if (memchr(buf, '\0', len) != NULL) {
		perr(&ps, 0, "NUL byte in the script");
		return -1;
	}
	next(&ps);
	rc = parse_commands(&ps, 0, 0, 0);
	free(ps.text);
	return rc < 0 || ps.failed ? -1 : 0;
}

void
sieve_script_clear(struct sieve_script *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nact; i++)
		free(s->act[i].target);
	free(s->act);
	memset(s, 0, sizeof(*s));
}

const char *
sieve_kind_name(enum sieve_kind k)
{
	switch (k) {
	case SIEVE_REDIRECT: return "redirect";
	case SIEVE_REDIRECT_COPY: return "redirect_copy";
	case SIEVE_DISCARD: return "discard";
	case SIEVE_REJECT: return "reject";
	case SIEVE_FILEINTO: return "fileinto";
	case SIEVE_VACATION: return "vacation";
	case SIEVE_PIPE: return "pipe";
	case SIEVE_UNPARSED: return "unparsed";
	}
	return "unknown";
}
