/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Strict JSON parsing with json-c for every document the library reads:
 * bounded size and depth, no trailing data, no duplicate keys (json-c
 * keeps the last), errors with line and column.
 */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <json.h>

#include "cpreg-internal.h"

static void offset_to_line(const char *text, size_t off, unsigned *line, unsigned *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && text[i]; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/*
 * Duplicate keys.  json-c keeps the last of two equal keys without a word,
 * so {"digest": A, ..., "digest": B} would be read as B while another tool
 * reads A.  The document was parsed already (well-formed, depth at most
 * 32): walk it once more, collect each object's keys (decoded when they
 * hold escapes, so "a" and "\u0061" are one key) and sort them.
 */
struct key_span {
	const char *p;
	size_t n;
	size_t at;       /* offset of the key in the text, for the message */
};

static int cmp_key(const void *a, const void *b)
{
	const struct key_span *x = a, *y = b;
	int c = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);

	return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* Decode a JSON string body (no quotes) into out; returns its length. */
static size_t unescape(const char *p, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] != '\\' || i + 1 >= n) {
			out[o++] = p[i];
			continue;
		}
		i++;
		switch (p[i]) {
		case 'b': out[o++] = '\b'; break;
		case 'f': out[o++] = '\f'; break;
		case 'n': out[o++] = '\n'; break;
		case 'r': out[o++] = '\r'; break;
		case 't': out[o++] = '\t'; break;
		case 'u': {
			/* The code unit as its 16-bit value: equal keys give equal bytes. */
			unsigned v = 0;

			for (int k = 1; k <= 4 && i + k < n; k++)
				v = v << 4 | (unsigned)(isdigit((unsigned char)p[i + k]) ? p[i + k] - '0' : (tolower((unsigned char)p[i + k]) - 'a' + 10));
			i += 4;
			if (v < 0x80) {
				out[o++] = (char)v;
			} else {
				out[o++] = (char)0xff;
				out[o++] = (char)(v >> 8);
				out[o++] = (char)(v & 0xff);
			}
			break;
		}
		default: out[o++] = p[i]; break;   /* \" \\ \/ */
		}
	}
	return o;
}

static int find_duplicate_key(const char *text, size_t len, size_t *ret_at, char *key, size_t keylen)
{
	struct { size_t first; bool object; } stack[40];
	struct key_span *keys = NULL;
	size_t nkeys = 0, cap = 0, depth = 0, i = 0;
	char *arena = NULL;
	size_t arena_used = 0;
	bool expect_key = false;
	int r = 0;

	while (i < len && r == 0) {
		char c = text[i];

		if (c == '"') {
			size_t start = ++i;
			bool esc = false;

			while (i < len && text[i] != '"')
				i += text[i] == '\\' ? (esc = true, 2) : 1;
			if (depth > 0 && stack[depth - 1].object && expect_key) {
				struct key_span k = { text + start, (i < len ? i : len) - start, start - 1 };

				if (esc) {
					/* Decoded keys live in one arena as long as the text: never longer than their source. */
					if (!arena && !(arena = malloc(len * 2 + 1))) {
						r = -ENOMEM;
						break;
					}
					k.n = unescape(k.p, k.n, arena + arena_used);
					k.p = arena + arena_used;
					arena_used += k.n;
				}
				if (nkeys == cap) {
					struct key_span *nk = reallocarray(keys, cap = cap ? cap * 2 : 64, sizeof(*keys));

					if (!nk) {
						r = -ENOMEM;
						break;
					}
					keys = nk;
				}
				keys[nkeys++] = k;
				expect_key = false;
			}
			i++;
			continue;
		}
		if (c == '{' || c == '[') {
			if (depth == sizeof(stack) / sizeof(stack[0]))
				break;   /* json-c's depth limit refused it already */
			stack[depth].first = nkeys;
			stack[depth++].object = c == '{';
			expect_key = c == '{';
		} else if ((c == '}' || c == ']') && depth > 0) {
			size_t first = stack[--depth].first, n = nkeys - first;

			if (c == '}' && n > 1) {
				qsort(keys + first, n, sizeof(*keys), cmp_key);
				for (size_t k = first + 1; k < nkeys; k++)
					if (cmp_key(&keys[k - 1], &keys[k]) == 0) {
						*ret_at = keys[k - 1].at > keys[k].at ? keys[k - 1].at : keys[k].at;
						snprintf(key, keylen, "%.*s", (int)(keys[k].n < 64 ? keys[k].n : 64), keys[k].p);
						r = 1;
						break;
					}
			}
			nkeys = first;
			expect_key = false;
		} else if (c == ',' && depth > 0 && stack[depth - 1].object) {
			expect_key = true;
		}
		i++;
	}
	free(keys);
	free(arena);
	return r;
}

/* Parse one JSON document strictly: no trailing bytes, bounded depth. */
int cpreg_json_parse(const char *text, size_t len, json_object **ret, struct cpreg_error *err)
{
	struct json_tokener *tok;
	json_object *o;
	size_t end;
	enum json_tokener_error je;

	if (len > CPREG_JSON_MAX)
		return cpreg_err(err, -EFBIG, "", "document is %zu bytes, more than the limit of %u", len, CPREG_JSON_MAX);
	if (len > INT32_MAX)
		return cpreg_err(err, -EFBIG, "", "document too large");
	tok = json_tokener_new_ex(32);
	if (!tok)
		return cpreg_err(err, -ENOMEM, "", "out of memory");
	/* Strings must be valid UTF-8: they are echoed into verdicts, logs and other tools. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, text, (int)len);
	je = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (je == json_tokener_continue) {
		json_object_put(o);
		return cpreg_err(err, -EINVAL, "", "malformed JSON: document ends early");
	}
	if (je != json_tokener_success) {
		unsigned line, col;

		offset_to_line(text, end, &line, &col);
		json_object_put(o);
		return cpreg_err(err, -EINVAL, "", "malformed JSON at line %u, column %u: %s",
				 line, col, json_tokener_error_desc(je));
	}
	/* Only JSON's own whitespace may follow; a NUL byte is trailing data too. */
	for (; end < len; end++)
		if (text[end] != ' ' && text[end] != '\t' && text[end] != '\r' && text[end] != '\n') {
			unsigned line, col;

			offset_to_line(text, end, &line, &col);
			json_object_put(o);
			return cpreg_err(err, -EINVAL, "", "malformed JSON: trailing data at line %u, column %u",
					 line, col);
		}
	{
		size_t at = 0;
		char key[72];
		int r = find_duplicate_key(text, len, &at, key, sizeof(key));

		if (r != 0) {
			unsigned line, col;

			json_object_put(o);
			if (r < 0)
				return cpreg_err(err, r, "", "out of memory");
			offset_to_line(text, at, &line, &col);
			return cpreg_err(err, -EINVAL, "", "malformed JSON: duplicate key \"%s\" at line %u, column %u", key, line, col);
		}
	}
	*ret = o;
	return 0;
}

