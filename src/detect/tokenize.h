/*
 * tokenize.h - features of a parsed message for the learning classifier.
 *
 * A feature is a short string ("s:free", "b:東京", "uh:www.example.jp",
 * "b2:1:click here" for a word pair) hashed with SipHash-2-4 under a 16-byte
 * key into a table of 2^bits buckets.  The key belongs to the model (a new
 * model draws one at random), so two sites' tables differ and nobody can
 * aim a word at a known bucket.  A message is a set of buckets: sorted and
 * unique, binary features.
 *
 * Text is turned into NFKC with case folding (ICU), then cut into words with
 * ICU's word break iterator, which uses dictionaries for Japanese, Chinese
 * and Thai: "私は東京に行きます" is 私|は|東京|に|行き|ます, not one token.
 * Beside each word, the TOK_OSB_WINDOW (2) words before it make sparse
 * pairs tagged with their distance (OSB, orthogonal sparse bigrams).
 * Measured by cross-validation (bench/accuracy/README.md, round 3): pairs
 * 3 and 4 apart made the ranking worse; adjacent pairs alone ranked the
 * 2002 corpus a little better still, but flagged more of the modern ham of
 * the trained phishing bench.
 *
 * Limits: at most TOK_MAX_TEXT bytes of each text field are read and at most
 * TOK_MAX_FEATURES features are kept per message; words longer than
 * TOK_MAX_WORD characters are cut.  Thread-safe: a tokenizer is read-only
 * after tokenizer_new() and each call clones its break iterator.
 */
#ifndef SEKISHO_TOKENIZE_H
#define SEKISHO_TOKENIZE_H

#include <stddef.h>
#include <stdint.h>

#include "message/message.h"

#define TOK_KEY_SIZE		16
#define TOK_MAX_TEXT		(256 * 1024)
#define TOK_MAX_FEATURES	60000
#define TOK_MAX_WORD		40
#define TOK_OSB_WINDOW		2	/* words back that pair with the current one */
#define TOK_HEADER_WEIGHT	8	/* buckets per header, address, URL, part feature */
#define TOK_NGRAM		4	/* bytes of a raw n-gram */
#define TOK_NGRAM_BYTES		3000	/* of the raw message read for n-grams */

struct tok_features {
	uint32_t *idx;		/* bucket indexes, sorted, unique */
	size_t n, cap;
};

struct tokenizer;

/* bits: log2 of the table size, 16..28.  NULL + err when ICU fails. */
struct tokenizer *tokenizer_new(const uint8_t key[TOK_KEY_SIZE], unsigned bits,
    char *err, size_t errlen);
void tokenizer_free(struct tokenizer *tk);

/*
 * The features of msg into out (reset first; the caller clears it with
 * tok_features_clear).  Never fails: text ICU cannot convert is skipped.
 */
void tokenize_message(const struct tokenizer *tk, const struct message *msg,
    struct tok_features *out);
void tok_features_clear(struct tok_features *f);

/* Each feature of msg in order (with repeats): its string before hashing
 * and the buckets it sets (one, or TOK_HEADER_WEIGHT for a weighted
 * feature), the same as tokenize_message() puts in the set.  For tests and
 * "sekisho learn --explain". */
typedef void (*tok_explain_fn)(void *arg, const char *feature, size_t len,
    const uint32_t *buckets, size_t nbuckets);
void tokenize_message_explain(const struct tokenizer *tk, const struct message *msg,
    tok_explain_fn explain, void *arg);

/* A word of a text (tokenize_words). */
typedef void (*tok_emit_fn)(void *arg, const char *word, size_t len);

/* The words of one UTF-8 text after NFKC and case folding (no prefix, no
 * pairs); returns how many. */
size_t tokenize_words(const struct tokenizer *tk, const char *text, size_t len,
    tok_emit_fn emit, void *arg);

/* The bucket of one feature string (for tests and tools). */
uint32_t tokenize_bucket(const struct tokenizer *tk, const char *feature, size_t len);

#endif
