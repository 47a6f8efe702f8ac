/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A deterministic mutation run of tests/fuzz-parsers.c over the real
 * fixtures: byte flips, truncations, duplications and splices, each input
 * fed to the readers.  It asserts only what a user relies on: no crash, no
 * sanitizer report (the ASan/UBSan build runs it too), and that a mutation
 * the reader accepts round-trips.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpreg.h"
#include "fixture.h"
#include "tap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	rewind(f);
	buf = malloc(*len + 1);
	if (fread(buf, 1, *len, f) != *len) {
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	return buf;
}

int main(void)
{
	char **names = fixture_names(), path[512];
	static const char *const tokens[] = { "\"", "{", "}", "[", "]", ",", ":", "0x", "null", "true", "-1",
					      "\"0x6030000000140000\"", "1e999", "\\u0000", "\"value\": \"0x1\"",
					      /* near misses of the fast path's plain forms (registers, writable masks) */
					      "\"index\": 01", "\"index\": 1.5", "\"index\": 7", "\"mask\": \"0x1\"", "0x00000000000000001",
					      "\"writable_masks\": []", "\"kvm\": {}", "\"registers\": []", "\"i\\u0064\"" };
	unsigned runs = 0, accepted = 0;

	for (char **n = names; *n; n++) {
		size_t len;
		char *orig;

		snprintf(path, sizeof(path), "%s/tests/data/dumps/%s.json", TOP_SRCDIR, *n);
		orig = slurp(path, &len);
		if (!orig)
			continue;
		for (int i = 0; i < 400; i++) {
			size_t cap = len + 64, l = len;
			char *buf = malloc(cap);
			struct cpreg_inventory *inv = NULL;
			struct cpreg_error err;

			memcpy(buf, orig, len);
			for (int m = 0; m < 1 + (int)(next() % 4); m++) {
				size_t at = l ? next() % l : 0;

				switch (next() % 4) {
				case 0: /* flip a byte */
					if (l)
						buf[at] ^= (char)(1 << (next() % 8));
					break;
				case 1: /* truncate */
					l = at;
					break;
				case 2: { /* splice a token in */
					const char *t = tokens[next() % (sizeof(tokens) / sizeof(tokens[0]))];
					size_t tl = strlen(t);

					if (l + tl <= cap) {
						memmove(buf + at + tl, buf + at, l - at);
						memcpy(buf + at, t, tl);
						l += tl;
					}
					break;
				}
				case 3: /* delete a run */
					if (l) {
						size_t k = next() % 16;

						if (at + k > l)
							k = l - at;
						memmove(buf + at, buf + at + k, l - at - k);
						l -= k;
					}
					break;
				}
			}
			LLVMFuzzerTestOneInput((const uint8_t *)buf, l);
			if (cpreg_inventory_from_json(buf, l, &inv, &err) == 0) {
				char *out = NULL;
				struct cpreg_inventory *again = NULL;

				accepted++;
				if (cpreg_inventory_to_json(inv, &out) != 0 ||
				    cpreg_inventory_from_json(out, strlen(out), &again, &err) != 0) {
					tap_ok(0, "an accepted mutation of %s does not round-trip: %s", *n, err.message);
				}
				free(out);
				cpreg_inventory_unref(again);
				cpreg_inventory_unref(inv);
			}
			runs++;
			free(buf);
		}
		free(orig);
	}
	tap_ok(runs == 6000, "%u mutated inventories through the readers and the check, no crash", runs);
	tap_diag("%u of them were still valid and round-tripped", accepted);
	fixture_names_free(names);
	return tap_done();
}
