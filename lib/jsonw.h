/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * How the project writes JSON: one buffer (struct cpreg_buf) and one string
 * escaper (cpreg_buf_json) under every document, and this writer on top of
 * them for every document of free shape: health, version, errors, peers,
 * diff, matrix, the fleet documents, the VM's options.  The inventory and
 * the verdict keep their canonical compact layouts (one register, one
 * finding a line: documents that are compared and stored by the thousand)
 * and write them with the same buffer and escaper (lib/json.c,
 * lib/verdict-json.c).  Why not json-c's trees: the fleet documents grow
 * with the square of the fleet (megabytes for a thousand hosts) and are
 * written as they are walked, in flushed chunks; a tree was more than half
 * of a fleet command's time.  json-c stays the reader.  Indented two spaces
 * per level.
 *
 * With out set, full chunks go to that stream and jw_finish flushes;
 * with out NULL the document stays in memory and jw_finish_text hands it
 * over.  A scalar member may also be written raw (jw_raw: a number as text,
 * or a value the library wrote already).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cpreg-internal.h"

struct jw {
	struct cpreg_buf b;
	FILE *out;
	unsigned depth;
	bool first;     /* nothing written yet in the innermost container */
	int err;        /* a negative errno once writing failed */
};

/* key: the member's name inside an object; NULL for an array's element or the top value. */
void jw_object(struct jw *w, const char *key);
void jw_array(struct jw *w, const char *key);
void jw_end_object(struct jw *w);
void jw_end_array(struct jw *w);
void jw_string(struct jw *w, const char *key, const char *s);    /* NULL writes null */
void jw_int(struct jw *w, const char *key, int64_t v);
void jw_bool(struct jw *w, const char *key, bool v);
void jw_null(struct jw *w, const char *key);
/* The rest out, with a final newline; 0, or a negative errno if any write failed. */
int jw_finish(struct jw *w);
/* In memory (out NULL): the document with its final newline, to free(); -ENOMEM if any append failed. */
int jw_finish_text(struct jw *w, char **ret);
/* A value written as given (a number's text, a document's own JSON). */
void jw_raw(struct jw *w, const char *key, const char *json);
void jw_uint(struct jw *w, const char *key, uint64_t v);
/* "0x..." hex string: 64-bit ids and values travel as strings. */
void jw_hex(struct jw *w, const char *key, uint64_t v);
