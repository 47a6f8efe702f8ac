/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cpreg-inventory/1: canonical round trip on the real fixtures, strict reader errors by path. */
#include "config.h"

#include <errno.h>

#include <json.h>

#include "cpreg.h"
#include "cpreg-internal.h"
#include "fixture.h"
#include "tap.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf;
	long len;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = malloc(len + 1);
	if (fread(buf, 1, len, f) != (size_t)len) {
		free(buf);
		fclose(f);
		return NULL;
	}
	buf[len] = '\0';
	fclose(f);
	return buf;
}

#define REG0 "{\"id\": \"0x603000000013c000\", \"value\": \"0x410fd0c0\"}"
#define HEAD "{\"schema\": \"cpreg-inventory/1\", "

struct bad { const char *doc; int code; const char *where; const char *msg; };

static const struct bad bad[] = {
	{ "{\"schema\": \"cpreg-inventory/1\", \"registers\": [", -EINVAL, "", "ends early" },
	{ "{\"schema\": \"cpreg-inventory/1\"} xx", -EINVAL, "", "malformed JSON at line 1, column 33" },
	{ "{\"schema\": \"cpreg-inventory/1\",\n \"registers\": [],}", -EINVAL, "", "malformed JSON at line 2, column" },
	{ "[1, 2]", -EINVAL, "", "expected object" },
	/* Invalid UTF-8 in a string (a lone continuation byte) is refused, not echoed into verdicts. */
	{ "{\"schema\": \"cpreg-inventory/1\", \"hostname\": \"a\x80" "b\", \"registers\": []}", -EINVAL, "",
	  "malformed JSON at line 1, column" },
	{ "{\"registers\": []}", -EINVAL, "schema", "missing" },
	{ "{\"schema\": \"cpreg-inventory/2\", \"registers\": []}", -EPROTONOSUPPORT, "schema", "unknown schema" },
	{ HEAD "\"registers\": {}}", -EINVAL, "registers", "expected array" },
	{ "{\"schema\": \"cpreg-inventory/1\"}", -EINVAL, "registers", "missing" },
	{ HEAD "\"registers\": [" REG0 ", " REG0 "]}", -EEXIST, "registers[1].id", "duplicate" },
	{ HEAD "\"registers\": [{\"id\": \"0x603000000013c000\", \"value\": \"0xzz\"}]}", -EINVAL,
	  "registers[0].value", "not a hex string" },
	{ HEAD "\"registers\": [{\"id\": \"0x603000000013c000\", \"value\": 12}]}", -EINVAL,
	  "registers[0].value", "JSON number" },
	{ HEAD "\"registers\": [{\"id\": \"0x6020000000110000\", \"value\": \"0x100000000\"}]}", -ERANGE,
	  "registers[0].value", "wider than the register's 32 bits" },
	{ HEAD "\"registers\": [{\"id\": \"0x603000000013c000\", \"value\": \"0x10000000000000000\"}]}", -ERANGE,
	  "registers[0].value", "does not fit in 64 bits" },
	{ HEAD "\"registers\": [{\"id\": \"0x1234\", \"value\": \"0x0\"}]}", -EINVAL,
	  "registers[0].id", "not an arm64 KVM register id" },
	{ HEAD "\"registers\": [{\"id\": \"0x603000000013c000\"}]}", -EINVAL, "registers[0]", "exactly one of" },
	{ HEAD "\"registers\": [{\"id\": \"0x6040000000100054\", \"value\": \"0x0\"}]}", -EINVAL,
	  "registers[0].value", "128 bits wide" },
	{ HEAD "\"registers\": [{\"id\": \"0x603000000013c000\", \"error\": \"EWHAT\"}]}", -EINVAL,
	  "registers[0].error", "errno name" },
	{ HEAD "\"kvm\": {\"vcpu_features\": [\"pmu-v3\", \"warp-drive\"]}, \"registers\": []}", -EINVAL,
	  "kvm.vcpu_features[1]", "unknown vCPU feature" },
	{ HEAD "\"kvm\": {\"ipa_size\": 99}, \"registers\": []}", -ERANGE, "kvm.ipa_size", "out of range" },
	{ HEAD "\"kvm\": {\"writable_masks\": [{\"index\": 192, \"mask\": \"0x1\"}]}, \"registers\": []}", -ERANGE,
	  "kvm.writable_masks[0].index", "out of range" },
	{ HEAD "\"kvm\": {\"sve_vector_lengths\": [\"0x1\"]}, \"registers\": []}", -EINVAL,
	  "kvm.sve_vector_lengths", "expected 8 words" },
	{ HEAD "\"host\": {\"cpus\": [{\"cpu\": 0}]}, \"registers\": []}", -EINVAL, "host.cpus[0].midr", "missing" },
	{ HEAD "\"host\": {\"page_size\": \"4096\"}, \"registers\": []}", -EINVAL, "host.page_size", "expected an integer" },
	{ HEAD "\"digest\": \"sha256:00\", \"registers\": []}", -EBADMSG, "digest", "does not match" },
};

int main(void)
{
	char **names = fixture_names(), path[512];
	size_t nfix = 0;

	for (char **n = names; *n; n++, nfix++) {
		struct cpreg_inventory *inv = NULL, *again = NULL;
		struct cpreg_error err = { 0 };
		char *text, *out = NULL, *out2 = NULL;

		snprintf(path, sizeof(path), "%s/tests/data/dumps/%s.json", TOP_SRCDIR, *n);
		text = slurp(path);
		tap_ok(text && cpreg_inventory_from_json(text, strlen(text), &inv, &err) == 0,
		       "%s reads (%s %s)", *n, err.where, err.message);
		tap_ok(inv && cpreg_inventory_to_json(inv, &out) == 0 && strcmp(out, text) == 0,
		       "%s: written again, byte-identical", *n);
		tap_ok(out && cpreg_inventory_from_json(out, strlen(out), &again, &err) == 0 &&
		       cpreg_inventory_to_json(again, &out2) == 0 && strcmp(out, out2) == 0,
		       "%s: second round trip stable", *n);
		free(text);
		free(out);
		free(out2);
		cpreg_inventory_unref(inv);
		cpreg_inventory_unref(again);
	}
	tap_ok(nfix == 15, "15 fixtures, one per dump in shared/data/reg-dumps");

	/*
	 * tests/data/probed holds cpregd's own probe of the same emulated hosts
	 * (tests/vm/regen-fixtures.sh): it must read, round-trip, and show QEMU
	 * the same registers and values as the independently recorded dump.
	 */
	for (char **n = names; *n; n++) {
		struct cpreg_inventory *probed = NULL, *dump = fixture(*n);
		struct cpreg_error err = { 0 };
		char d1[CPREG_DIGEST_LEN], d2[CPREG_DIGEST_LEN], *text, *out = NULL;

		snprintf(path, sizeof(path), "%s/tests/data/probed/%s.json", TOP_SRCDIR, *n);
		text = slurp(path);
		tap_ok(text && cpreg_inventory_from_json(text, strlen(text), &probed, &err) == 0 &&
		       cpreg_inventory_to_json(probed, &out) == 0 && strcmp(out, text) == 0,
		       "probed/%s reads and round-trips (%s)", *n, err.message);
		cpreg_inventory_digest(dump, d1, sizeof(d1));
		if (probed)
			cpreg_inventory_digest(probed, d2, sizeof(d2));
		tap_ok(probed && strcmp(d1, d2) == 0 && cpreg_inventory_count(probed) == cpreg_inventory_count(dump),
		       "probed/%s: same registers and values as the recorded dump", *n);
		free(text);
		free(out);
		cpreg_inventory_unref(probed);
		cpreg_inventory_unref(dump);
	}

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cpreg_inventory *inv = NULL;
		struct cpreg_error err = { 0 };
		int r = cpreg_inventory_from_json(bad[i].doc, strlen(bad[i].doc), &inv, &err);

		tap_ok(r == bad[i].code && !inv && strcmp(err.where, bad[i].where) == 0 &&
		       strstr(err.message, bad[i].msg), "bad document %zu: %s: %s", i, bad[i].where, bad[i].msg);
		if (r != bad[i].code || strcmp(err.where, bad[i].where) != 0 || !strstr(err.message, bad[i].msg))
			tap_diag("  got %d \"%s\": \"%s\"", r, err.where, err.message);
	}

	/*
	 * Strictness a reader relies on: what follows the document, and keys
	 * given twice (json-c would keep the last one silently, another tool
	 * the first: the two would read different inventories).
	 */
	{
		static const struct { const char *doc; size_t len; const char *msg; } strict[] = {
			{ "{\"schema\": \"cpreg-inventory/1\"}\0\0", 34, "trailing data at line 1, column 32" },
			{ "{\"schema\": \"x\", \"digest\": \"a\", \"digest\": \"b\"}", 0, "duplicate key \"digest\"" },
			{ "{\"a\": 1, \"\\u0061\": 2}", 0, "duplicate key \"a\"" },
			{ "{\"registers\": [{\"id\": \"0x1\", \"id\": \"0x2\"}]}", 0, "duplicate key \"id\" at line 1, column 30" },
		};
		for (size_t i = 0; i < sizeof(strict) / sizeof(strict[0]); i++) {
			struct cpreg_inventory *inv = NULL;
			struct cpreg_error err = { 0 };
			size_t len = strict[i].len ? strict[i].len : strlen(strict[i].doc);
			int r = cpreg_inventory_from_json(strict[i].doc, len, &inv, &err);

			tap_ok(r == -EINVAL && !inv && strstr(err.message, strict[i].msg), "strict JSON %zu: refused with \"%s\"",
			       i, err.message);
		}
		/* The same key in different objects, nested or side by side, is no duplicate. */
		{
			const char *doc = "{\"a\": {\"a\": 1, \"b\": {\"a\": 2}}, \"b\": [{\"a\": 1}, {\"a\": 2}]}";
			struct cpreg_inventory *inv = NULL;
			struct cpreg_error err = { 0 };

			cpreg_inventory_from_json(doc, strlen(doc), &inv, &err);
			tap_ok(!strstr(err.message, "duplicate"), "equal keys in different objects are fine (%s)", err.message);
		}
	}

	/* Unknown keys are ignored so that newer writers stay readable. */
	{
		const char *doc = HEAD "\"future\": {\"x\": 1}, \"kvm\": {\"capabilities\": {\"ARM_FUTURE\": 1}}, "
				  "\"registers\": [{\"id\": \"0x603000000013c000\", \"value\": \"0x1\", \"note\": \"hi\"}]}";
		struct cpreg_inventory *inv = NULL;
		struct cpreg_error err = { 0 };

		tap_ok(cpreg_inventory_from_json(doc, strlen(doc), &inv, &err) == 0 && cpreg_inventory_count(inv) == 1,
		       "unknown keys and capabilities are ignored (%s)", err.message);
		cpreg_inventory_unref(inv);
	}
	/* Ids and values are written as hex strings, sized by the register. */
	{
		struct cpreg_inventory *inv = cpreg_inventory_new();
		struct cpreg_reg r32 = { .id = UINT64_C(0x6020000000110000), .value = 0x7003e01a, .state = CPREG_VALUE };
		struct cpreg_reg bad_read = { .id = CPREG_MIDR_EL1, .state = CPREG_UNREADABLE, .read_errno = EPERM };
		char *out;

		cpreg_inventory_add(inv, &r32);
		cpreg_inventory_add(inv, &bad_read);
		cpreg_inventory_to_json(inv, &out);
		tap_ok(strstr(out, "\"id\": \"0x6020000000110000\", \"name\": \"CCSIDR_EL1[0]\", \"value\": \"0x7003e01a\"") != NULL,
		       "a 32-bit register's value has 8 hex digits");
		tap_ok(strstr(out, "\"name\": \"MIDR_EL1\", \"error\": \"EPERM\"") != NULL,
		       "an unreadable register is recorded with its errno");
		free(out);
		cpreg_inventory_unref(inv);
	}
	/*
	 * The reader's fast path parses 8 and 16 hex digits at a time.  Every
	 * byte value in every digit position of an id (16 digits), a 32-bit
	 * value (8) and a 64-bit value (16) must read exactly as the general
	 * path, the reference, reads it: the same result, error and value.
	 */
	{
		static const char *const forms[] = {
			HEAD "\"registers\": [{\"id\": \"0x603000000013c000\", \"value\": \"0x00000000410fd0c0\"}]}",
			HEAD "\"registers\": [{\"id\": \"0x6020000000110000\", \"value\": \"0x7003e01a\"}]}",
		};
		unsigned nbad = 0, runs = 0;

		for (size_t f = 0; f < ARRAY_SIZE(forms); f++)
			for (const char *d = strstr(forms[f], "0x"); d; d = strstr(d + 1, "0x"))
				for (size_t pos = 2; d[pos] != '"'; pos++)
					for (unsigned b = 1; b < 256; b++) {
						char *doc = strdup(forms[f]);
						struct cpreg_inventory *a = NULL, *g = NULL;
						struct cpreg_error ea = { 0 }, eg = { 0 };
						int ra, rg;

						doc[d - forms[f] + pos] = (char)b;
						ra = cpreg_inventory_from_json(doc, strlen(doc), &a, &ea);
						rg = cpreg_inventory_from_json_general(doc, strlen(doc), &g, &eg);
						runs++;
						if (ra != rg || (ra < 0 && strcmp(ea.message, eg.message) != 0) ||
						    (ra == 0 && (cpreg_inventory_at(a, 0)->id != cpreg_inventory_at(g, 0)->id ||
								 cpreg_inventory_at(a, 0)->value != cpreg_inventory_at(g, 0)->value))) {
							if (nbad++ < 5)
								tap_diag("byte 0x%02x at %zu of \"%s\": %d vs %d", b, pos, doc, ra, rg);
						}
						cpreg_inventory_unref(a);
						cpreg_inventory_unref(g);
						free(doc);
					}
		tap_ok(nbad == 0 && runs > 10000, "every byte in every hex digit reads as the general path reads it (%u documents)", runs);
	}
	/*
	 * The writers' JSON strings (cpreg_buf_json scans eight bytes at a
	 * time): every byte value at every offset of a 20-byte string, read
	 * back by json-c, gives the string again.
	 */
	{
		unsigned nbad = 0, runs = 0;

		for (unsigned b = 1; b < 256; b++)
			for (size_t pos = 0; pos < 20; pos++) {
				char in[21];
				struct cpreg_buf buf = { 0 };
				char *out = NULL;
				json_object *o;

				memset(in, 'a', 20);
				in[20] = '\0';
				in[pos] = (char)b;
				cpreg_buf_json(&buf, in);
				cpreg_buf_finish(&buf, &out);
				o = out ? json_tokener_parse(out) : NULL;
				runs++;
				/* A lone byte from 0x80 starts no UTF-8 character: it reads back as the text \xHH. */
				char want[32];

				if (b >= 0x80)
					snprintf(want, sizeof(want), "%.*s\\x%02x%s", (int)pos, in, b, in + pos + 1);
				else
					snprintf(want, sizeof(want), "%s", in);
				if (!o || !json_object_is_type(o, json_type_string) || strcmp(json_object_get_string(o), want) != 0)
					if (nbad++ < 5)
						tap_diag("byte 0x%02x at %zu: %s", b, pos, out ? out : "(none)");
				json_object_put(o);
				free(out);
			}
		tap_ok(nbad == 0, "every byte at every offset of a string is written as JSON that reads back the same, "
		       "a byte that starts no UTF-8 character as \\xHH (%u strings)", runs);
	}
	/* UTF-8: valid characters pass whole at every offset; overlong forms, surrogates and > U+10FFFF do not. */
	{
		static const struct { const char *seq, *back; } cases[] = {
			{ "\xc3\xa9", "\xc3\xa9" },                 /* e acute */
			{ "\xe2\x82\xac", "\xe2\x82\xac" },         /* euro sign */
			{ "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80" }, /* U+1F600 */
			{ "\xc0\xaf", "\\xc0\\xaf" },               /* overlong '/' */
			{ "\xed\xa0\x80", "\\xed\\xa0\\x80" },      /* a surrogate */
			{ "\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80" }, /* past U+10FFFF */
			{ "\xe2\x82", "\\xe2\\x82" },               /* cut short */
		};
		unsigned nbad = 0;

		for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
			for (size_t pos = 0; pos < 12; pos++) {
				char in[32], want[64];
				struct cpreg_buf buf = { 0 };
				char *out = NULL;
				json_object *o;

				snprintf(in, sizeof(in), "%.*s%s%s", (int)pos, "aaaaaaaaaaaa", cases[c].seq, "zzzzzzzzz");
				snprintf(want, sizeof(want), "%.*s%s%s", (int)pos, "aaaaaaaaaaaa", cases[c].back, "zzzzzzzzz");
				cpreg_buf_json(&buf, in);
				cpreg_buf_finish(&buf, &out);
				o = out ? json_tokener_parse(out) : NULL;
				if (!o || strcmp(json_object_get_string(o), want) != 0)
					if (nbad++ < 5)
						tap_diag("case %zu at %zu: %s", c, pos, out ? out : "(none)");
				json_object_put(o);
				free(out);
			}
		tap_ok(nbad == 0, "valid UTF-8 characters pass whole; overlong, surrogate, out-of-range and cut sequences are \\xHH");
	}
	/* A file that does not exist names the file. */
	{
		struct cpreg_inventory *inv = NULL;
		struct cpreg_error err = { 0 };

		tap_ok(cpreg_inventory_load("/nonexistent/x.json", &inv, &err) == -ENOENT &&
		       strcmp(err.where, "/nonexistent/x.json") == 0, "a missing file is named in the error");
	}
	fixture_names_free(names);
	return tap_done();
}
