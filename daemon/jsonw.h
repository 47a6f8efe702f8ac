/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A streaming JSON writer for cpregctl's fleet answers (pools, profile,
 * plan).  Those documents grow with the square of the fleet (every pair
 * apart and its reasons: megabytes for a thousand hosts), so they are
 * written as they are walked, in flushed chunks, instead of as a json-c
 * tree built, printed and freed: the tree was more than half of a fleet
 * command's time.  Strings go through the library's one JSON escaper.
 * Indented two spaces per level, as json-c's pretty printer did.
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
