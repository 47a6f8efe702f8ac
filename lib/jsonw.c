// SPDX-License-Identifier: GPL-2.0-or-later
/* The project's JSON writer: see jsonw.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"

/* Hand what is buffered to the stream once a chunk is full: memory stays flat however big the document. */
static void flush(struct jw *w, size_t above)
{
	if (w->b.failed && !w->err)
		w->err = -ENOMEM;
	if (w->b.n <= above || w->err || !w->out)
		return;
	errno = 0;
	if (fwrite(w->b.p, 1, w->b.n, w->out) != w->b.n)
		w->err = errno ? -errno : -EIO;
	w->b.n = 0;
}

/* The separator, the indent and the member's name before a value. */
static void lead(struct jw *w, const char *key)
{
	/* A newline and the indent in one append (32 levels; the fleet answers go 6 deep). */
	static const char nl[] = "\n                                                                ";

	if (!w->first)
		cpreg_buf_lit(&w->b, ",");
	w->first = false;
	if (w->depth) {
		size_t n = 2 * (size_t)w->depth;

		cpreg_buf_add(&w->b, nl, 1 + (n < sizeof(nl) - 2 ? n : sizeof(nl) - 2));
	}
	if (key) {
		cpreg_buf_json(&w->b, key);
		cpreg_buf_lit(&w->b, ": ");
	}
}

static void begin(struct jw *w, const char *key, const char *bracket)
{
	lead(w, key);
	cpreg_buf_str(&w->b, bracket);
	w->depth++;
	w->first = true;
}

static void end(struct jw *w, const char *bracket)
{
	bool empty = w->first;

	if (w->depth)
		w->depth--;
	if (!empty) {
		w->first = true;        /* no comma before the closing bracket */
		lead(w, NULL);
	}
	cpreg_buf_str(&w->b, bracket);
	w->first = false;
	flush(w, 1u << 16);
}

void jw_object(struct jw *w, const char *key)
{
	begin(w, key, "{");
}

void jw_array(struct jw *w, const char *key)
{
	begin(w, key, "[");
}

void jw_end_object(struct jw *w)
{
	end(w, "}");
}

void jw_end_array(struct jw *w)
{
	end(w, "]");
}

void jw_string(struct jw *w, const char *key, const char *s)
{
	lead(w, key);
	cpreg_buf_json(&w->b, s);
}

void jw_int(struct jw *w, const char *key, int64_t v)
{
	lead(w, key);
	cpreg_buf_i64(&w->b, v);
}

void jw_bool(struct jw *w, const char *key, bool v)
{
	lead(w, key);
	if (v)
		cpreg_buf_lit(&w->b, "true");
	else
		cpreg_buf_lit(&w->b, "false");
}

void jw_null(struct jw *w, const char *key)
{
	lead(w, key);
	cpreg_buf_lit(&w->b, "null");
}

int jw_finish(struct jw *w)
{
	cpreg_buf_lit(&w->b, "\n");
	flush(w, 0);
	if (!w->err && fflush(w->out) != 0)
		w->err = -errno;
	free(w->b.p);
	w->b = (struct cpreg_buf){ 0 };
	return w->err;
}

int jw_finish_text(struct jw *w, char **ret)
{
	cpreg_buf_lit(&w->b, "\n");
	return cpreg_buf_finish(&w->b, ret);
}

void jw_raw(struct jw *w, const char *key, const char *json)
{
	lead(w, key);
	cpreg_buf_str(&w->b, json);
}

void jw_uint(struct jw *w, const char *key, uint64_t v)
{
	lead(w, key);
	cpreg_buf_u64(&w->b, v);
}

void jw_hex(struct jw *w, const char *key, uint64_t v)
{
	unsigned digits = 1;

	while (digits < 16 && v >> (4 * digits))
		digits++;
	lead(w, key);
	cpreg_buf_lit(&w->b, "\"0x");
	cpreg_buf_hex(&w->b, v, digits);
	cpreg_buf_lit(&w->b, "\"");
}
