/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmstate-cpregs [--passport PASSPORT.json] STREAM
 *
 * What QEMU actually sent: the cpreg index and value arrays of the "cpu"
 * device section of a saved migration stream (HMP migrate "exec:cat >
 * FILE"), as JSON; with --passport, compared with that passport (the same
 * register list, and every value the passport carries equal to the
 * stream's), exit 0 when they agree and 1 when not.  Exit 2: not a stream
 * this reader understands, with the reason.
 *
 * The stream format (QEMU migration/savevm.c, vmstate.c): "QEVM", version
 * 3, then sections; a device's state is a SECTION_FULL (0x04) header
 * (be32 section id, its name as a length byte and bytes, be32 instance id,
 * be32 version), the fields, subsections (0x05, name, be32 version,
 * fields...), and a footer (0x7e, be32 section id).  A device section is
 * not self-describing, but QEMU ends the stream with a JSON description of
 * every device it wrote (0x06, be32 length, JSON: devices[] with each
 * field's size and array length, and the subsections): the fields are
 * walked by that description.  The RAM sections before the devices are not
 * parsed: the "cpu" header is looked for, and a candidate is taken only
 * when the walk by the description ends exactly on its footer.
 *
 * A test tool (tests/vm/vm-migrate.sh, tests/test-vmstate.sh), not installed.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "cpreg.h"

#define VM_SECTION_FULL 0x04
#define VM_SUBSECTION 0x05
#define VM_VMDESCRIPTION 0x06
#define VM_SECTION_FOOTER 0x7e

struct stream {
	const uint8_t *b;
	size_t len;
};

/* Where the cpreg arrays are, once a section walk found them. */
struct cpregs {
	size_t len_at, idx_at, val_at;
	long n;
	bool seen;
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static const char *str_of(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) ?
		json_object_get_string(v) : NULL;
}

static int64_t int_of(json_object *o, const char *key, int64_t dflt)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_int) ?
		json_object_get_int64(v) : dflt;
}

/* The JSON description at the end: 0x06, be32 length, exactly the rest of the stream. */
static json_object *vmdesc(const struct stream *s)
{
	for (size_t p = s->len >= 6 ? s->len - 6 : 0; p > 0; p--) {
		if (s->b[p] != VM_VMDESCRIPTION || (size_t)be32(s->b + p + 1) != s->len - p - 5 || s->b[p + 5] != '{')
			continue;
		json_tokener *tok = json_tokener_new();
		json_object *o = tok ? json_tokener_parse_ex(tok, (const char *)s->b + p + 5, (int)(s->len - p - 5)) : NULL;

		json_tokener_free(tok);
		return o;
	}
	return NULL;
}

/*
 * Walk one vmstate (fields, then subsections) from *at by its description;
 * false when the bytes do not fit it.  Each field's "size" is the bytes
 * written for one element (all of it for a struct, nested subsections
 * included), "array_len" the elements of a compressed array.
 */
static bool walk(const struct stream *s, json_object *desc, size_t *at, struct cpregs *c, bool top)
{
	json_object *fields, *subs;

	if (json_object_object_get_ex(desc, "fields", &fields))
		for (size_t i = 0; i < json_object_array_length(fields); i++) {
			json_object *f = json_object_array_get_idx(fields, i);
			const char *name = str_of(f, "name");
			int64_t size = int_of(f, "size", -1), n = int_of(f, "array_len", 1);

			if (size < 0 || n < 0 || (uint64_t)size * (uint64_t)n > s->len - *at)
				return false;
			if (top && name && strcmp(name, "cpreg_vmstate_array_len") == 0 && size == 4)
				c->len_at = *at;
			if (top && name && strcmp(name, "cpreg_vmstate_indexes") == 0 && size == 8) {
				c->idx_at = *at;
				c->n = (long)n;
			}
			if (top && name && strcmp(name, "cpreg_vmstate_values") == 0 && size == 8 && n == c->n) {
				c->val_at = *at;
				c->seen = true;
			}
			*at += (size_t)(size * n);
		}
	if (json_object_object_get_ex(desc, "subsections", &subs))
		for (size_t i = 0; i < json_object_array_length(subs); i++) {
			json_object *sub = json_object_array_get_idx(subs, i);
			const char *name = str_of(sub, "vmsd_name");
			size_t nl = name ? strlen(name) : 0;

			if (!name || s->len - *at < 2 + nl + 4 || s->b[*at] != VM_SUBSECTION || s->b[*at + 1] != nl ||
			    memcmp(s->b + *at + 2, name, nl) != 0)
				return false;
			*at += 2 + nl + 4;
			if (!walk(s, sub, at, c, false))
				return false;
		}
	return true;
}

/* The cpu section: its header, then a walk that ends on its footer. */
static int find_cpu(const struct stream *s, json_object *desc, struct cpregs *ret)
{
	int64_t version = int_of(desc, "version", -1);
	static const uint8_t name[] = { 3, 'c', 'p', 'u', 0, 0, 0, 0 };

	for (size_t p = 0; p + 1 + 4 + sizeof(name) + 4 <= s->len; p++) {
		struct cpregs c = { 0 };
		uint32_t sid;
		size_t at;

		if (s->b[p] != VM_SECTION_FULL || memcmp(s->b + p + 5, name, sizeof(name)) != 0 ||
		    (int64_t)be32(s->b + p + 5 + sizeof(name)) != version)
			continue;
		sid = be32(s->b + p + 1);
		at = p + 5 + sizeof(name) + 4;
		if (!walk(s, desc, &at, &c, true) || s->len - at < 5 || s->b[at] != VM_SECTION_FOOTER ||
		    be32(s->b + at + 1) != sid || !c.seen)
			continue;
		if ((long)be32(s->b + c.len_at) != c.n)
			return -EBADMSG;
		*ret = c;
		return 0;
	}
	return -ENOENT;
}

static int read_all(const char *path, struct stream *s)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 1 << 20, n = 0;
	uint8_t *b = malloc(cap);

	if (!f || !b) {
		free(b);
		if (f)
			fclose(f);
		return -errno;
	}
	for (;;) {
		size_t got = fread(b + n, 1, cap - n, f);

		n += got;
		if (n < cap)
			break;
		if (cap >= ((size_t)1 << 33) || !(b = realloc(b, cap *= 2))) {
			fclose(f);
			return -E2BIG;
		}
	}
	fclose(f);
	s->b = b;
	s->len = n;
	return 0;
}

/* The passport against the stream: one line per difference, the summary last; 0 when they agree. */
static int compare(const struct stream *s, const struct cpregs *c, const struct cpreg_passport *p)
{
	size_t i = 0, j = 0, np = cpreg_passport_count(p), carried = 0, bad = 0;
	char name[48];

	while (i < np || j < (size_t)c->n) {
		uint64_t pid = 0, pv = 0, sid = j < (size_t)c->n ? be64(s->b + c->idx_at + 8 * j) : UINT64_MAX;
		bool has;

		if (i < np)
			cpreg_passport_reg_at(p, i, &pid, &pv, &has);
		else
			pid = UINT64_MAX;
		if (pid < sid) {
			cpreg_id_name(pid, name, sizeof(name));
			printf("only in the passport: 0x%016" PRIx64 " %s\n", pid, name);
			bad++, i++;
		} else if (sid < pid) {
			cpreg_id_name(sid, name, sizeof(name));
			printf("only in the stream: 0x%016" PRIx64 " %s\n", sid, name);
			bad++, j++;
		} else {
			uint64_t sv = be64(s->b + c->val_at + 8 * j);

			carried += has;
			if (has && pv != sv) {
				cpreg_id_name(pid, name, sizeof(name));
				printf("value differs: 0x%016" PRIx64 " %s: passport 0x%" PRIx64 ", stream 0x%" PRIx64 "\n",
				       pid, name, pv, sv);
				bad++;
			}
			i++, j++;
		}
	}
	printf("%ld registers in the stream, %zu in the passport, %zu carried values compared, %zu differences\n", c->n,
	       np, carried, bad);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = { { "passport", required_argument, NULL, 'p' }, { 0 } };
	const char *passport = NULL;
	struct stream s = { 0 };
	struct cpregs c = { 0 };
	json_object *desc = NULL, *devs;
	int opt, r;

	while ((opt = getopt_long(argc, argv, "p:", longopts, NULL)) != -1)
		if (opt == 'p')
			passport = optarg;
		else
			return 2;
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: vmstate-cpregs [--passport PASSPORT.json] STREAM\n");
		return 2;
	}
	if ((r = read_all(argv[optind], &s)) < 0) {
		fprintf(stderr, "%s: %s\n", argv[optind], strerror(-r));
		return 2;
	}
	if (s.len < 8 || memcmp(s.b, "QEVM", 4) != 0 || be32(s.b + 4) != 3) {
		fprintf(stderr, "%s: not a QEMU migration stream (no \"QEVM\" version 3 header)\n", argv[optind]);
		free((void *)s.b);
		return 2;
	}
	if (!(desc = vmdesc(&s)) || !json_object_object_get_ex(desc, "devices", &devs)) {
		fprintf(stderr, "%s: no device description at the end of the stream (QEMU writes one unless "
			"the machine suppresses it)\n", argv[optind]);
		json_object_put(desc);
		free((void *)s.b);
		return 2;
	}
	r = -ENOENT;
	for (size_t i = 0; r == -ENOENT && i < json_object_array_length(devs); i++) {
		json_object *d = json_object_array_get_idx(devs, i);

		if (str_of(d, "name") && strcmp(str_of(d, "name"), "cpu") == 0 && int_of(d, "instance_id", -1) == 0)
			r = find_cpu(&s, d, &c);
	}
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", argv[optind], r == -EBADMSG ? "cpreg_vmstate_array_len does not match the "
			"description's array length" : "no cpu section that its description walks to its footer");
		json_object_put(desc);
		free((void *)s.b);
		return 2;
	}
	if (passport) {
		struct cpreg_passport *p = NULL;
		struct cpreg_error err = { 0 };

		if (cpreg_passport_load(passport, &p, &err) < 0) {
			fprintf(stderr, "%s: %s\n", err.where, err.message);
			json_object_put(desc);
			free((void *)s.b);
			return 2;
		}
		r = compare(&s, &c, p);
		cpreg_passport_unref(p);
		json_object_put(desc);
		free((void *)s.b);
		return r;
	}
	printf("{\"registers\": [");
	for (long j = 0; j < c.n; j++)
		printf("%s\n  {\"id\": \"0x%016" PRIx64 "\", \"value\": \"0x%016" PRIx64 "\"}", j ? "," : "",
		       be64(s.b + c.idx_at + 8 * j), be64(s.b + c.val_at + 8 * j));
	printf("\n]}\n");
	json_object_put(desc);
	free((void *)s.b);
	return 0;
}
