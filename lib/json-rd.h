/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The strict JSON readers' helpers (lib/json-read.c): json-c parses, each
 * field is checked, and the first problem is named by its JSON path.  The
 * inventory and the passport read their documents with them, so both name
 * a wrong field the same way.
 */
#pragma once

#include <stdint.h>
#include <json.h>

#include "cpreg-internal.h"

struct rd {
	struct cpreg_error *err;
	/*
	 * Where the next error is: "prefix.key" or "prefix[idx]", then ".sub"
	 * when sub is set.  Kept as pointers and formatted only when an error
	 * is reported: a document of 350 registers would otherwise format
	 * 1,400 paths that nobody reads.  The strings are literals or keys of
	 * the parsed document, which outlives every report.
	 */
	const char *prefix, *key, *sub;
	long idx;
};

/* Report the problem at the current path into rd->err; returns code. */
int rd_fail(struct rd *rd, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The next error is at "prefix.key", or at "prefix[idx]" when key is NULL. */
void rd_at(struct rd *rd, const char *prefix, const char *key, long idx);
const char *rd_type_name(json_object *o);
int rd_int(struct rd *rd, json_object *o, int64_t min, int64_t max, int64_t *ret);
int rd_str(struct rd *rd, json_object *o, size_t max, const char **ret);
/* A "0x..." string: 64-bit values travel as strings. */
int rd_hex(struct rd *rd, json_object *o, uint64_t *ret);
int rd_want(struct rd *rd, json_object *o, json_type t);
/* The readers' shared lists, at path (for errors): vCPU feature names (each once), SVE's eight words. */
int rd_features(struct rd *rd, json_object *o, const char *path, uint32_t *bits);
int rd_vls(struct rd *rd, json_object *o, const char *path, uint64_t vls[8]);
