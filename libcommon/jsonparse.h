/* SPDX-License-Identifier: MIT */
/*
 * A small strict JSON parser (RFC 8259) for reading the klog record
 * envelope (RECORD-JSON.md) and other one-line documents. jp_parse()
 * validates the whole text once and lays it out as a flat array of tokens
 * in document order, jsmn-style; nothing is copied or decoded until asked
 * (jp_str_decode, jp_i64). Strictness: no comments, no trailing commas, no
 * leading zeros, no single quotes; strings must be valid UTF-8 without raw
 * control characters and without lone surrogate escapes; exactly one value
 * with optional whitespace around it. Limits on length, nesting depth and
 * the number of values keep hostile input bounded. Errors name the
 * 1-based byte column where the text stops making sense.
 *
 * Layout: an object token is followed by its members, each a STRING key
 * token and then the value's tokens; an array token by its elements. Every
 * token's `next` is the index just past its subtree, so siblings are
 * reached without walking children:
 *
 *	size_t m = obj + 1;
 *	for (i = 0; i < d->tok[obj].count; i++) {
 *		key = m; val = m + 1; ...; m = d->tok[val].next;
 *	}
 *
 * Ownership: a struct jp_doc owns its token array (reused from one parse
 * to the next; jp_release() frees it) and borrows the text, which must
 * outlive any use of the tokens.
 */
#ifndef KLOG_JSONPARSE_H
#define KLOG_JSONPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

enum jp_type {
	JP_NULL = 1,
	JP_FALSE,
	JP_TRUE,
	JP_NUMBER,
	JP_STRING,
	JP_ARRAY,
	JP_OBJECT
};

struct jp_token {
	uint8_t type;		/* enum jp_type */
	bool escaped;		/* a string holding backslash escapes */
	bool integer;		/* a number without fraction or exponent */
	uint32_t start;		/* byte offset in the text (a string's quote) */
	uint32_t len;		/* bytes of the token (quotes included) */
	uint32_t next;		/* index just past this token's subtree */
	uint32_t count;		/* array elements or object members */
};

struct jp_limits {
	size_t max_len;		/* bytes of text (at most UINT32_MAX) */
	size_t max_depth;	/* nesting of arrays and objects */
	size_t max_tokens;	/* values, keys included */
};

#define JP_DEFAULT_MAX_LEN (256u << 20)
#define JP_DEFAULT_MAX_DEPTH 64
#define JP_DEFAULT_MAX_TOKENS (1u << 22)

struct jp_doc {
	const char *text;	/* borrowed */
	size_t len;
	struct jp_token *tok;
	size_t ntok, cap;
	struct jp_limits lim;
};

/* Start a document with `lim` (NULL: the JP_DEFAULT_* limits). */
void jp_init(struct jp_doc *d, const struct jp_limits *lim);
void jp_release(struct jp_doc *d);

/*
 * Parse text[0..len) as one JSON value. Returns 0 with d->tok[0] the
 * root; or -1 with EXIT_DATAERR and "column N: what is wrong" (N counts
 * bytes from 1), or EXIT_OSERR when the token array cannot grow. After a
 * failure the tokens are unusable until the next successful parse.
 */
int jp_parse(struct jp_doc *d, const char *text, size_t len, struct err *e);

/* 1-based byte column of token i (its first byte), for messages. */
size_t jp_column(const struct jp_doc *d, size_t i);

/* Name of a type for messages: "null", "string", "object", ... */
const char *jp_type_name(enum jp_type t);

/*
 * Whether string token i decodes to exactly the bytes of `s` (compared
 * without allocating, escapes decoded on the fly).
 */
bool jp_str_eq(const struct jp_doc *d, size_t i, const char *s);

/*
 * Append the UTF-8 bytes string token i stands for to `out`; parsing
 * already checked them, so the only failure is `out` failing to grow
 * (-1, out->failed set).
 */
int jp_str_decode(const struct jp_doc *d, size_t i, struct buf *out);

/*
 * The value of number token i when it is an integer (no fraction, no
 * exponent) within [INT64_MIN, INT64_MAX]; -1 otherwise.
 */
int jp_i64(const struct jp_doc *d, size_t i, int64_t *out);

/*
 * The value token of member `key` in object token `obj`, or 0 (never a
 * member's index) when absent. With duplicate keys, the first.
 */
size_t jp_obj_get(const struct jp_doc *d, size_t obj, const char *key);

#endif
