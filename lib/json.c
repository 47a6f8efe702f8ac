/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * "cpreg-inventory/1", the JSON form of an inventory (docs/inventory.md).
 *
 * The writer is our own rather than json-c's serializer so that the layout
 * (one register per line, fixed key order, hex widths by register size) is
 * canonical and does not move with json-c versions: a document read and
 * written again is byte-identical.  The reader uses json-c and checks every
 * field, naming the JSON path of the first problem.
 */
#include "config.h"

#include <ctype.h>

#include <inttypes.h>
#include <stdio.h>
#include <json.h>

#include "cpreg-internal.h"

/* A value as its register's width in hex digits (8 for 32 bits), quoted. */
static void put_value(struct cpreg_buf *f, uint64_t id, uint64_t v)
{
	unsigned bytes = CPREG_ID_BYTES(id);

	cpreg_buf_lit(f, "\"0x");
	cpreg_buf_hex(f, v, bytes < 8 ? bytes * 2 : 16);
	cpreg_buf_lit(f, "\"");
}

static const char *errno_name(int e)
{
	const char *n = strerrorname_np(e);

	return n ? n : "EIO";
}

static int errno_from_name(const char *name)
{
	for (int e = 1; e < 4096; e++) {
		const char *n = strerrorname_np(e);

		if (n && strcmp(n, name) == 0)
			return e;
	}
	return -ENOENT;
}

int cpreg_inventory_to_json(const struct cpreg_inventory *inv, char **ret_text)
{
	char digest[CPREG_DIGEST_LEN];
	struct cpreg_buf out = { 0 }, *f = &out;
	int64_t n;
	const char *sep;

	if (!inv || !ret_text)
		return -EINVAL;
	cpreg_inventory_digest(inv, digest, sizeof(digest));
	cpreg_buf_printf(f, "{\n  \"schema\": \"%s\",\n  \"digest\": \"%s\",\n", CPREG_INVENTORY_SCHEMA, digest);
	if (inv->text[CPREG_TEXT_PROVENANCE]) {
		cpreg_buf_lit(f, "  \"provenance\": ");
		cpreg_buf_json(f, inv->text[CPREG_TEXT_PROVENANCE]);
		cpreg_buf_lit(f, ",\n");
	}

	cpreg_buf_lit(f, "  \"host\": {");
	sep = "\n";
	static const struct { enum cpreg_text t; const char *key; } host_text[] = {
		{ CPREG_TEXT_HOSTNAME, "hostname" }, { CPREG_TEXT_KERNEL, "kernel" },
		{ CPREG_TEXT_MACHINE, "machine" }, { CPREG_TEXT_QEMU_VERSION, "qemu_version" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(host_text); i++)
		if (inv->text[host_text[i].t]) {
			cpreg_buf_printf(f, "%s    \"%s\": ", sep, host_text[i].key);
			cpreg_buf_json(f, inv->text[host_text[i].t]);
			sep = ",\n";
		}
	if (cpreg_inventory_get_number(inv, CPREG_NUM_PAGE_SIZE, &n) == 0) {
		cpreg_buf_printf(f, "%s    \"page_size\": %" PRId64, sep, n);
		sep = ",\n";
	}
	if (inv->n_cpus) {
		cpreg_buf_printf(f, "%s    \"cpus\": [", sep);
		for (size_t i = 0; i < inv->n_cpus; i++)
			cpreg_buf_printf(f, "%s\n      {\"cpu\": %u, \"midr\": \"0x%016" PRIx64 "\"}", i ? "," : "",
				inv->cpus[i].cpu, inv->cpus[i].midr);
		cpreg_buf_lit(f, "\n    ]");
		sep = ",\n";
	}
	cpreg_buf_str(f, sep[0] == ',' ? "\n  },\n" : "},\n");

	cpreg_buf_lit(f, "  \"kvm\": {");
	sep = "\n";
	static const struct { enum cpreg_number num; const char *key; } kvm_num[] = {
		{ CPREG_NUM_API_VERSION, "api_version" },
		{ CPREG_NUM_PREFERRED_TARGET, "preferred_target" },
		{ CPREG_NUM_IPA_SIZE, "ipa_size" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(kvm_num); i++)
		if (cpreg_inventory_get_number(inv, kvm_num[i].num, &n) == 0) {
			cpreg_buf_printf(f, "%s    \"%s\": %" PRId64, sep, kvm_num[i].key, n);
			sep = ",\n";
		}
	if (inv->caps_set) {
		const char *csep = "";

		cpreg_buf_printf(f, "%s    \"capabilities\": {", sep);
		for (size_t i = 0; i < cpreg_cap_count(); i++) {
			const char *name;

			cpreg_cap_at(i, &name);
			if (inv->caps_set & (1u << i)) {
				cpreg_buf_printf(f, "%s\n      \"%s\": %" PRId64, csep, name, inv->caps[i]);
				csep = ",";
			}
		}
		cpreg_buf_lit(f, "\n    }");
		sep = ",\n";
	}
	if (cpreg_inventory_get_number(inv, CPREG_NUM_VCPU_FEATURES, &n) == 0) {
		const char *fsep = "";

		cpreg_buf_printf(f, "%s    \"vcpu_features\": [", sep);
		for (unsigned b = 0; b < 32; b++)
			if (n & (INT64_C(1) << b) && cpreg_feature_name(b)) {
				cpreg_buf_printf(f, "%s\"%s\"", fsep, cpreg_feature_name(b));
				fsep = ", ";
			}
		cpreg_buf_lit(f, "]");
		sep = ",\n";
	}
	if (inv->has_masks) {
		const char *msep = "";

		cpreg_buf_printf(f, "%s    \"writable_masks\": [", sep);
		for (unsigned i = 0; i < CPREG_WRITABLE_MASKS; i++) {
			if (!inv->masks[i])
				continue;
			cpreg_buf_printf(f, "%s\n      {\"index\": %u, \"mask\": \"0x%016" PRIx64 "\"}", msep, i, inv->masks[i]);
			msep = ",";
		}
		cpreg_buf_str(f, msep[0] ? "\n    ]" : "]");
		sep = ",\n";
	}
	if (inv->has_vls) {
		cpreg_buf_printf(f, "%s    \"sve_vector_lengths\": [", sep);
		for (int i = 0; i < 8; i++)
			cpreg_buf_printf(f, "%s\"0x%016" PRIx64 "\"", i ? ", " : "", inv->vls[i]);
		cpreg_buf_lit(f, "]");
		sep = ",\n";
	}
	cpreg_buf_str(f, sep[0] == ',' ? "\n  },\n" : "},\n");

	if (inv->text[CPREG_TEXT_PROBE_TIME] || cpreg_inventory_get_number(inv, CPREG_NUM_PROBE_MS, &n) == 0) {
		cpreg_buf_lit(f, "  \"probe\": {");
		sep = "";
		if (inv->text[CPREG_TEXT_PROBE_TIME]) {
			cpreg_buf_lit(f, "\"time\": ");
			cpreg_buf_json(f, inv->text[CPREG_TEXT_PROBE_TIME]);
			sep = ", ";
		}
		if (cpreg_inventory_get_number(inv, CPREG_NUM_PROBE_MS, &n) == 0)
			cpreg_buf_printf(f, "%s\"duration_ms\": %" PRId64, sep, n);
		cpreg_buf_lit(f, "},\n");
	}

	cpreg_buf_lit(f, "  \"registers\": [");
	for (size_t i = 0; i < inv->n_regs; i++) {
		const struct cpreg_reg *r = &inv->regs[i];
		char name[64];

		cpreg_id_name(r->id, name, sizeof(name));
		cpreg_buf_str(f, i ? ",\n    {\"id\": \"0x" : "\n    {\"id\": \"0x");
		cpreg_buf_hex(f, r->id, 16);
		cpreg_buf_lit(f, "\", \"name\": \"");
		cpreg_buf_str(f, name);
		cpreg_buf_lit(f, "\", ");
		switch (r->state) {
		case CPREG_VALUE:
			cpreg_buf_lit(f, "\"value\": ");
			put_value(f, r->id, r->value);
			break;
		case CPREG_WIDE:
			cpreg_buf_lit(f, "\"wide\": true");
			break;
		case CPREG_UNREADABLE:
			cpreg_buf_lit(f, "\"error\": \"");
			cpreg_buf_str(f, errno_name(r->read_errno));
			cpreg_buf_lit(f, "\"");
			break;
		}
		cpreg_buf_lit(f, "}");
	}
	cpreg_buf_str(f, inv->n_regs ? "\n  ]\n}\n" : "]\n}\n");
	return cpreg_buf_finish(f, ret_text);
}

/* ---- reader ---- */

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

static int fail(struct rd *rd, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct rd *rd, int code, const char *fmt, ...)
{
	char msg[300], path[160];
	const char *p = rd->prefix ? rd->prefix : "";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (rd->key)
		snprintf(path, sizeof(path), "%s%s%s%s%s", p, *p ? "." : "", rd->key, rd->sub ? "." : "",
			 rd->sub ? rd->sub : "");
	else
		snprintf(path, sizeof(path), "%s[%ld]%s%s", p, rd->idx, rd->sub ? "." : "", rd->sub ? rd->sub : "");
	return cpreg_err(rd->err, code, path, "%s", msg);
}

/* The next error is at "prefix.key", or at "prefix[idx]" when key is NULL. */
static void at(struct rd *rd, const char *prefix, const char *key, long idx)
{
	rd->prefix = prefix;
	rd->key = key;
	rd->idx = idx;
	rd->sub = NULL;
}

static const char *type_name(json_object *o)
{
	return json_type_to_name(json_object_get_type(o));
}

static int get_int(struct rd *rd, json_object *o, int64_t min, int64_t max, int64_t *ret)
{
	int64_t v;

	if (!json_object_is_type(o, json_type_int))
		return fail(rd, -EINVAL, "expected an integer, got %s", type_name(o));
	errno = 0;
	v = json_object_get_int64(o);
	if (errno != 0 || v < min || v > max)
		return fail(rd, -ERANGE, "%s is out of range [%" PRId64 ", %" PRId64 "]",
			    json_object_get_string(o), min, max);
	*ret = v;
	return 0;
}

static int get_str(struct rd *rd, json_object *o, size_t max, const char **ret)
{
	const char *s;

	if (!json_object_is_type(o, json_type_string))
		return fail(rd, -EINVAL, "expected a string, got %s", type_name(o));
	s = json_object_get_string(o);
	if (strlen(s) != (size_t)json_object_get_string_len(o))
		return fail(rd, -EINVAL, "string contains a NUL character");
	if (strlen(s) > max)
		return fail(rd, -E2BIG, "string longer than %zu characters", max);
	*ret = s;
	return 0;
}

static int get_hex(struct rd *rd, json_object *o, uint64_t *ret)
{
	const char *s;
	int r = get_str(rd, o, 64, &s);

	if (r < 0) {
		if (r == -EINVAL && json_object_is_type(o, json_type_int))
			return fail(rd, -EINVAL, "expected a hex string such as \"0x1f\", got a JSON number "
				    "(64-bit values travel as strings)");
		return r;
	}
	r = cpreg_parse_hex(s, ret);
	if (r == -ERANGE)
		return fail(rd, r, "\"%s\" does not fit in 64 bits", s);
	if (r < 0)
		return fail(rd, r, "\"%s\" is not a hex string such as \"0x1f\"", s);
	return 0;
}

static int want_type(struct rd *rd, json_object *o, json_type t)
{
	if (!json_object_is_type(o, t))
		return fail(rd, -EINVAL, "expected %s, got %s", json_type_to_name(t), type_name(o));
	return 0;
}

static int read_host(struct rd *rd, json_object *host, struct cpreg_inventory *inv)
{
	static const struct { enum cpreg_text t; const char *key; size_t max; } texts[] = {
		{ CPREG_TEXT_HOSTNAME, "hostname", 255 }, { CPREG_TEXT_KERNEL, "kernel", 255 },
		{ CPREG_TEXT_MACHINE, "machine", 64 }, { CPREG_TEXT_QEMU_VERSION, "qemu_version", 64 },
	};
	json_object *o;
	int r;

	at(rd, "", "host", 0);
	if ((r = want_type(rd, host, json_type_object)) < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
		const char *s;

		if (!json_object_object_get_ex(host, texts[i].key, &o))
			continue;
		at(rd, "host", texts[i].key, 0);
		if ((r = get_str(rd, o, texts[i].max, &s)) < 0)
			return r;
		if ((r = cpreg_inventory_set_text(inv, texts[i].t, s)) < 0)
			return fail(rd, r, "cannot store");
	}
	if (json_object_object_get_ex(host, "page_size", &o)) {
		int64_t v;

		at(rd, "host", "page_size", 0);
		if ((r = get_int(rd, o, 1, INT64_C(1) << 30, &v)) < 0)
			return r;
		cpreg_inventory_set_number(inv, CPREG_NUM_PAGE_SIZE, v);
	}
	if (json_object_object_get_ex(host, "cpus", &o)) {
		at(rd, "host", "cpus", 0);
		if ((r = want_type(rd, o, json_type_array)) < 0)
			return r;
		if (json_object_array_length(o) > CPREG_MAX_CPUS)
			return fail(rd, -E2BIG, "more than %d CPUs", CPREG_MAX_CPUS);
		for (size_t i = 0; i < json_object_array_length(o); i++) {
			json_object *c = json_object_array_get_idx(o, i), *f;
			int64_t cpu;
			uint64_t midr;

			at(rd, "host.cpus", NULL, (long)i);
			if ((r = want_type(rd, c, json_type_object)) < 0)
				return r;
			rd->sub = "cpu";
			if (!json_object_object_get_ex(c, "cpu", &f))
				return fail(rd, -EINVAL, "missing");
			if ((r = get_int(rd, f, 0, 65535, &cpu)) < 0)
				return r;
			rd->sub = "midr";
			if (!json_object_object_get_ex(c, "midr", &f))
				return fail(rd, -EINVAL, "missing");
			if ((r = get_hex(rd, f, &midr)) < 0)
				return r;
			if ((r = cpreg_inventory_add_cpu_midr(inv, (unsigned)cpu, midr)) < 0)
				return fail(rd, r, "cannot store");
		}
	}
	return 0;
}

static int read_kvm(struct rd *rd, json_object *kvm, struct cpreg_inventory *inv)
{
	static const struct { enum cpreg_number num; const char *key; int64_t max; } nums[] = {
		{ CPREG_NUM_API_VERSION, "api_version", 1000 },
		{ CPREG_NUM_PREFERRED_TARGET, "preferred_target", 1000 },
		{ CPREG_NUM_IPA_SIZE, "ipa_size", 64 },
	};
	json_object *o;
	int r;

	at(rd, "", "kvm", 0);
	if ((r = want_type(rd, kvm, json_type_object)) < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(nums); i++) {
		int64_t v;

		if (!json_object_object_get_ex(kvm, nums[i].key, &o))
			continue;
		at(rd, "kvm", nums[i].key, 0);
		if ((r = get_int(rd, o, 0, nums[i].max, &v)) < 0)
			return r;
		cpreg_inventory_set_number(inv, nums[i].num, v);
	}
	if (json_object_object_get_ex(kvm, "capabilities", &o)) {
		at(rd, "kvm", "capabilities", 0);
		if ((r = want_type(rd, o, json_type_object)) < 0)
			return r;
		json_object_object_foreach(o, key, val) {
			int cap = cpreg_cap_from_name(key);
			int64_t v;

			if (cap < 0)
				continue; /* a newer writer's capability: ignored, as documented */
			at(rd, "kvm.capabilities", key, 0);
			if ((r = get_int(rd, val, INT32_MIN, INT32_MAX, &v)) < 0)
				return r;
			cpreg_inventory_set_cap(inv, cap, v);
		}
	}
	if (json_object_object_get_ex(kvm, "vcpu_features", &o)) {
		int64_t bits = 0;

		at(rd, "kvm", "vcpu_features", 0);
		if ((r = want_type(rd, o, json_type_array)) < 0)
			return r;
		for (size_t i = 0; i < json_object_array_length(o); i++) {
			const char *s;
			int b;

			at(rd, "kvm.vcpu_features", NULL, (long)i);
			if ((r = get_str(rd, json_object_array_get_idx(o, i), 32, &s)) < 0)
				return r;
			b = cpreg_feature_from_name(s);
			if (b < 0)
				return fail(rd, -EINVAL, "unknown vCPU feature \"%s\"", s);
			if (bits & (INT64_C(1) << b))
				return fail(rd, -EINVAL, "vCPU feature \"%s\" listed twice", s);
			bits |= INT64_C(1) << b;
		}
		cpreg_inventory_set_number(inv, CPREG_NUM_VCPU_FEATURES, bits);
	}
	if (json_object_object_get_ex(kvm, "writable_masks", &o)) {
		uint64_t masks[CPREG_WRITABLE_MASKS] = { 0 };

		at(rd, "kvm", "writable_masks", 0);
		if ((r = want_type(rd, o, json_type_array)) < 0)
			return r;
		for (size_t i = 0; i < json_object_array_length(o); i++) {
			json_object *m = json_object_array_get_idx(o, i), *f;
			int64_t idx;
			uint64_t mask;

			at(rd, "kvm.writable_masks", NULL, (long)i);
			if ((r = want_type(rd, m, json_type_object)) < 0)
				return r;
			rd->sub = "index";
			if (!json_object_object_get_ex(m, "index", &f))
				return fail(rd, -EINVAL, "missing");
			if ((r = get_int(rd, f, 0, CPREG_WRITABLE_MASKS - 1, &idx)) < 0)
				return r;
			if (masks[idx])
				return fail(rd, -EINVAL, "index %" PRId64 " listed twice", idx);
			rd->sub = "mask";
			if (!json_object_object_get_ex(m, "mask", &f))
				return fail(rd, -EINVAL, "missing");
			if ((r = get_hex(rd, f, &mask)) < 0)
				return r;
			masks[idx] = mask;
		}
		cpreg_inventory_set_writable_masks(inv, masks);
	}
	if (json_object_object_get_ex(kvm, "sve_vector_lengths", &o)) {
		uint64_t vls[8];

		at(rd, "kvm", "sve_vector_lengths", 0);
		if ((r = want_type(rd, o, json_type_array)) < 0)
			return r;
		if (json_object_array_length(o) != 8)
			return fail(rd, -EINVAL, "expected 8 words, got %zu", json_object_array_length(o));
		for (size_t i = 0; i < 8; i++) {
			at(rd, "kvm.sve_vector_lengths", NULL, (long)i);
			if ((r = get_hex(rd, json_object_array_get_idx(o, i), &vls[i])) < 0)
				return r;
		}
		cpreg_inventory_set_sve_vls(inv, vls);
	}
	return 0;
}

static int read_registers(struct rd *rd, json_object *regs, struct cpreg_inventory *inv)
{
	int r;

	at(rd, "", "registers", 0);
	if ((r = want_type(rd, regs, json_type_array)) < 0)
		return r;
	if (json_object_array_length(regs) > 65536)
		return fail(rd, -E2BIG, "more than 65536 registers");
	for (size_t i = 0; i < json_object_array_length(regs); i++) {
		json_object *o = json_object_array_get_idx(regs, i), *f;
		struct cpreg_reg reg = { 0 };
		int present = 0;

		at(rd, "registers", NULL, (long)i);
		if ((r = want_type(rd, o, json_type_object)) < 0)
			return r;
		rd->sub = "id";
		if (!json_object_object_get_ex(o, "id", &f))
			return fail(rd, -EINVAL, "missing");
		if ((r = get_hex(rd, f, &reg.id)) < 0)
			return r;
		if (!cpreg_id_valid(reg.id))
			return fail(rd, -EINVAL, "0x%016" PRIx64 " is not an arm64 KVM register id", reg.id);
		if (json_object_object_get_ex(o, "value", &f)) {
			rd->sub = "value";
			present++;
			if (CPREG_ID_BYTES(reg.id) > 8)
				return fail(rd, -EINVAL, "register is %u bits wide and cannot carry a value",
					    CPREG_ID_BYTES(reg.id) * 8);
			if ((r = get_hex(rd, f, &reg.value)) < 0)
				return r;
			if (CPREG_ID_BYTES(reg.id) < 8 && reg.value >> (CPREG_ID_BYTES(reg.id) * 8))
				return fail(rd, -ERANGE, "0x%" PRIx64 " is wider than the register's %u bits",
					    reg.value, CPREG_ID_BYTES(reg.id) * 8);
			reg.state = CPREG_VALUE;
		}
		if (json_object_object_get_ex(o, "wide", &f)) {
			rd->sub = "wide";
			present++;
			if (!json_object_is_type(f, json_type_boolean) || !json_object_get_boolean(f))
				return fail(rd, -EINVAL, "expected true");
			if (CPREG_ID_BYTES(reg.id) <= 8)
				return fail(rd, -EINVAL, "register is only %u bits wide", CPREG_ID_BYTES(reg.id) * 8);
			reg.state = CPREG_WIDE;
		}
		if (json_object_object_get_ex(o, "error", &f)) {
			const char *s;

			rd->sub = "error";
			present++;
			if ((r = get_str(rd, f, 32, &s)) < 0)
				return r;
			reg.read_errno = errno_from_name(s);
			if (reg.read_errno < 0)
				return fail(rd, -EINVAL, "\"%s\" is not an errno name such as \"EINVAL\"", s);
			reg.state = CPREG_UNREADABLE;
		}
		if (present != 1) {
			rd->sub = NULL;
			return fail(rd, -EINVAL, "needs exactly one of \"value\", \"wide\" or \"error\"");
		}
		r = cpreg_inventory_add(inv, &reg);
		if (r == -EEXIST) {
			rd->sub = "id";
			return fail(rd, r, "duplicate register 0x%016" PRIx64, reg.id);
		}
		if (r < 0)
			return fail(rd, r, "cannot store: %s", strerror(-r));
	}
	return 0;
}

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

/*
 * ---- the fast path for the registers array ----
 * The registers are nearly all of an inventory, and json-c spends most of
 * a check building and freeing an object per register, key and value.  A
 * document whose top-level "registers" is the plain form every writer
 * produces (objects of "id", a "name", and "value", "wide": true or
 * "error"; plain ASCII strings, no escapes) is read here straight into cpreg_reg records,
 * and json-c reads the rest of the document with that array replaced by
 * []: the same strictness for everything else.  Anything unusual in the
 * array, and any error anywhere, sends the whole document down the general
 * path, which names the error exactly as it always has; so this path only
 * ever accepts what the general one accepts, with the same result.
 */
static const char *skip_ws(const char *p, const char *e)
{
	static const bool ws[256] = { [' '] = true, ['\t'] = true, ['\n'] = true, ['\r'] = true };

	while (p < e && ws[(unsigned char)*p])
		p++;
	return p;
}

/* A string with no escapes and printable ASCII only; NULL for anything else. */
static const char *plain_string(const char *p, const char *e, const char **s, size_t *n)
{
	const char *q;

	if (p >= e || *p != '"')
		return NULL;
	q = ++p;
	/*
	 * Eight bytes at a time: each special byte (a quote, a backslash, below
	 * 0x20 or from 0x7f up) flagged in its top bit; the lowest flag is exact
	 * (a borrow or carry only runs on from a byte that is flagged itself),
	 * and it must be the closing quote.
	 */
	while (e - q >= 8) {
		const uint64_t ones = 0x0101010101010101u, high = ones * 0x80;
		uint64_t x, qt, bs, m;

		memcpy(&x, q, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		x = __builtin_bswap64(x);       /* the first character in the lowest byte */
#endif
		qt = x ^ ones * '"';
		bs = x ^ ones * '\\';
		m = (((qt - ones) & ~qt) | ((bs - ones) & ~bs) | ((x - ones * 0x20) & ~x) | (x + ones) | x) & high;
		if (m) {
			q += __builtin_ctzll(m) >> 3;
			if (*q != '"')
				return NULL;
			goto end;
		}
		q += 8;
	}
	for (; q < e && *q != '"'; q++)
		if (*q == '\\' || (unsigned char)*q < 0x20 || (unsigned char)*q >= 0x7f)
			return NULL;
	if (q >= e)
		return NULL;
end:
	*s = p;
	*n = (size_t)(q - p);
	return q + 1;
}

/* Past one JSON value (lexically: strings, nesting), or NULL. */
static const char *skip_value(const char *p, const char *e)
{
	int depth = 0;

	do {
		if (p >= e)
			return NULL;
		if (*p == '"') {
			for (p++; p < e && *p != '"'; p++)
				if (*p == '\\')
					p++;
			if (p >= e)
				return NULL;
			p++;
		} else if (*p == '{' || *p == '[') {
			if (++depth > 64)
				return NULL;
			p++;
		} else if (*p == '}' || *p == ']') {
			if (--depth < 0)
				return NULL;
			p++;
		} else if (depth == 0) {
			/* A literal or a number ends at a delimiter. */
			while (p < e && !strchr(",}] \t\r\n", *p))
				p++;
		} else {
			p++;
		}
	} while (depth > 0);
	return p;
}

/*
 * A "0x..." string of 1 to 16 hex digits, parsed where it stands; NULL for
 * anything else (longer forms with leading zeros are left to the general
 * path, which takes them).
 */
/*
 * Eight hex digits at s at once: their value, or -1 when a byte is not a
 * hex digit.  Every byte is checked for being a digit, A-F or a-f with the
 * usual SIMD-within-a-register range test (exact per byte, no carries
 * between bytes once the top bits are known clear), then the nibbles are
 * gathered pairwise.  Ids and values are 8 or 16 digits: most of a
 * document's digits go through here.
 */
static int64_t hex8(const char *s)
{
	const uint64_t ones = 0x0101010101010101u, high = ones * 0x80, low7 = ones * 0x7f;
	uint64_t x, m, dig, up, lo, v;

	memcpy(&x, s, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	x = __builtin_bswap64(x);       /* the first character in the lowest byte */
#endif
	if (x & high)
		return -1;
	m = x & low7;
	/* Bytes strictly between a and b (0 <= a, b <= 128), flagged in their top bit. */
#define BETWEEN(a, b) (((ones * (127 + (b)) - m) & ~x & (m + ones * (127 - (a)))) & high)
	dig = BETWEEN(0x2f, 0x3a);
	up = BETWEEN(0x40, 0x47);
	lo = BETWEEN(0x60, 0x67);
#undef BETWEEN
	if ((dig | up | lo) != high)
		return -1;
	v = (x & ones * 0x0f) + ((up | lo) >> 7) * 9;
	v = ((v & 0x00ff00ff00ff00ffu) << 4) | ((v >> 8) & 0x00ff00ff00ff00ffu);
	v = ((v & 0x0000ffff0000ffffu) << 8) | ((v >> 16) & 0x0000ffff0000ffffu);
	return (int64_t)(((v & 0xffffffffu) << 16) | (v >> 32));
}

/*
 * A "0x..." string of 1 to 16 hex digits, parsed where it stands; NULL for
 * anything else (longer forms with leading zeros are left to the general
 * path, which takes them).
 */
static const char *hex_string(const char *p, const char *e, uint64_t *ret)
{
	/* Each byte's digit value plus one, 0 for a byte that is not a hex digit. */
	static const uint8_t digit1[256] = {
		['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8,
		['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
		['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
	};
	const char *start, *lim;
	uint64_t v = 0;

	if (e - p < 5 || p[0] != '"' || p[1] != '0' || (p[2] | 0x20) != 'x')
		return NULL;
	start = p += 3;
	if (e - p > 16 && p[16] == '"') {
		int64_t a = hex8(p), b = hex8(p + 8);

		if (a < 0 || b < 0)
			return NULL;
		*ret = (uint64_t)a << 32 | (uint64_t)b;
		return p + 17;
	}
	if (e - p > 8 && p[8] == '"') {
		int64_t a = hex8(p);

		if (a < 0)
			return NULL;
		*ret = (uint64_t)a;
		return p + 9;
	}
	lim = e - p > 17 ? p + 17 : e;
	for (; p < lim; p++) {
		unsigned d = digit1[(unsigned char)*p] - 1u;

		if (d > 15)
			break;
		v = v << 4 | d;
	}
	if (p == start || p - start > 16 || p >= e || *p != '"')
		return NULL;
	*ret = v;
	return p + 1;
}

/* The key at p, one of the register object's: its bit, and p past its closing quote; 0 for any other. */
static unsigned reg_key(const char **pp, const char *e)
{
	const char *p = *pp;
	size_t left = (size_t)(e - p);

#define KEY(lit, bit) \
	if (left >= sizeof(lit) - 1 && memcmp(p, lit, sizeof(lit) - 1) == 0) { \
		*pp = p + sizeof(lit) - 1; \
		return bit; \
	}
	if (left < 4 || p[0] != '"')
		return 0;
	switch (p[1]) {
	case 'i': KEY("\"id\"", 1); break;
	case 'v': KEY("\"value\"", 2); break;
	case 'w': KEY("\"wide\"", 4); break;
	case 'e': KEY("\"error\"", 8); break;
	case 'n': KEY("\"name\"", 16); break;
	}
#undef KEY
	return 0;
}

/*
 * The form cpreg_inventory_to_json writes for a register with a value,
 * {"id": "0x<16 digits>", "name": "<plain>", "value": "0x<digits>"}, read
 * by comparing its fixed pieces whole: p is past the '{'; past the '}', or
 * NULL for anything else (read key by key then).
 */
static const char *canonical_register(const char *p, const char *e, struct cpreg_reg *reg)
{
	const char *v;
	size_t vn;
	int64_t a, b;

	if (e - p < 48 || memcmp(p, "\"id\": \"0x", 9) != 0 || p[25] != '"' || memcmp(p + 26, ", \"name\": ", 10) != 0)
		return NULL;
	if ((a = hex8(p + 9)) < 0 || (b = hex8(p + 17)) < 0)
		return NULL;
	if (!(p = plain_string(p + 36, e, &v, &vn)) || vn > 64 || e - p < 11 || memcmp(p, ", \"value\": ", 11) != 0 ||
	    !(p = hex_string(p + 11, e, &reg->value)) || p >= e || *p != '}')
		return NULL;
	reg->id = (uint64_t)a << 32 | (uint64_t)b;
	reg->state = CPREG_VALUE;
	return p;
}

/* One register object at p; NULL when it is not the plain form or not valid. */
static const char *fast_register(const char *p, const char *e, struct cpreg_reg *reg)
{
	unsigned seen = 0;
	const char *q;

	*reg = (struct cpreg_reg){ 0 };
	p = skip_ws(p, e);
	if (p >= e || *p++ != '{')
		return NULL;
	if ((q = canonical_register(p, e, reg))) {
		p = q;
		seen = 1 | 2 | 16;
		goto check;
	}
	*reg = (struct cpreg_reg){ 0 };
	for (;;) {
		const char *v;
		size_t vn;
		unsigned bit;

		p = skip_ws(p, e);
		if (!(bit = reg_key(&p, e)))
			return NULL;    /* another key, or one written with escapes */
		p = skip_ws(p, e);
		if (p >= e || *p++ != ':')
			return NULL;
		p = skip_ws(p, e);
		if (seen & bit)
			return NULL;    /* a duplicate key: the general path names it */
		seen |= bit;
		switch (bit) {
		case 1:
			if (!(p = hex_string(p, e, &reg->id)))
				return NULL;
			break;
		case 2:
			if (!(p = hex_string(p, e, &reg->value)))
				return NULL;
			reg->state = CPREG_VALUE;
			break;
		case 4:
			if (e - p < 4 || memcmp(p, "true", 4) != 0)
				return NULL;
			p += 4;
			reg->state = CPREG_WIDE;
			break;
		case 8: {
			char name[33];

			if (!(p = plain_string(p, e, &v, &vn)) || vn >= sizeof(name))
				return NULL;
			memcpy(name, v, vn);
			name[vn] = '\0';
			if ((reg->read_errno = errno_from_name(name)) < 0)
				return NULL;
			reg->state = CPREG_UNREADABLE;
			break;
		}
		default:        /* the name: written for people; readers go by the id */
			if (!(p = plain_string(p, e, &v, &vn)) || vn > 64)
				return NULL;
		}
		p = skip_ws(p, e);
		if (p < e && *p == ',') {
			p++;
			continue;
		}
		if (p < e && *p == '}')
			break;
		return NULL;
	}
check:
	/* The general path's rules: an id, exactly one of the three, a value that fits. */
	if (!(seen & 1) || ((seen & 14) != 2 && (seen & 14) != 4 && (seen & 14) != 8) || !cpreg_id_valid(reg->id))
		return NULL;
	if (reg->state == CPREG_VALUE &&
	    (CPREG_ID_BYTES(reg->id) > 8 || (CPREG_ID_BYTES(reg->id) < 8 && reg->value >> (CPREG_ID_BYTES(reg->id) * 8))))
		return NULL;
	if (reg->state == CPREG_WIDE && CPREG_ID_BYTES(reg->id) <= 8)
		return NULL;
	return p + 1;
}

struct fast_regs {
	struct cpreg_reg *regs;
	size_t n, cap;
	bool ascending;         /* every id above the one before: the array is the inventory's as it stands */
	bool has_masks;         /* kvm.writable_masks was read here */
	uint64_t masks[CPREG_WRITABLE_MASKS];
	char *reduced;          /* the document with those arrays replaced by [] */
	size_t reduced_len;
};

/* The registers array at p (its '['), into fr; past its ']', or NULL. */
static const char *fast_registers(const char *p, const char *e, struct fast_regs *fr)
{
	fr->ascending = true;
	p = skip_ws(p + 1, e);
	if (p < e && *p == ']')
		return p + 1;
	for (;;) {
		if (fr->n == fr->cap) {
			struct cpreg_reg *nr;

			if (fr->cap >= 65536)
				return NULL;
			fr->cap = fr->cap ? fr->cap * 2 : 512;
			if (!(nr = reallocarray(fr->regs, fr->cap, sizeof(*nr))))
				return NULL;    /* the general path meets the same shortage and says so */
			fr->regs = nr;
		}
		if (!(p = fast_register(p, e, &fr->regs[fr->n++])))
			return NULL;
		if (fr->n > 1 && fr->regs[fr->n - 1].id <= fr->regs[fr->n - 2].id)
			fr->ascending = false;
		p = skip_ws(p, e);
		if (p < e && *p == ',') {
			p++;
			continue;
		}
		return p < e && *p == ']' ? p + 1 : NULL;
	}
}

/*
 * kvm.writable_masks at p (its '['): objects of exactly "index" (a plain
 * JSON integer) and "mask" (hex), into fr->masks; past its ']', or NULL.
 * An index given twice with a nonzero mask before is the general path's
 * error, so it goes there.
 */
static const char *fast_masks(const char *p, const char *e, struct fast_regs *fr)
{
	p = skip_ws(p + 1, e);
	if (p < e && *p == ']')
		return p + 1;
	for (;;) {
		unsigned seen = 0;
		long idx = 0;
		uint64_t mask = 0;

		p = skip_ws(p, e);
		if (p >= e || *p++ != '{')
			return NULL;
		for (;;) {
			p = skip_ws(p, e);
			if (e - p >= 7 && memcmp(p, "\"index\"", 7) == 0 && !(seen & 1)) {
				seen |= 1;
				p = skip_ws(p + 7, e);
				if (p >= e || *p++ != ':')
					return NULL;
				p = skip_ws(p, e);
				if (p < e && *p == '0') {
					p++;
				} else {
					const char *d = p;

					for (; p < e && *p >= '0' && *p <= '9' && p - d < 4; p++)
						idx = idx * 10 + (*p - '0');
					if (p == d)
						return NULL;
				}
				/* A fraction, an exponent or more digits: not this plain form. */
				if (p >= e || (*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E')
					return NULL;
			} else if (e - p >= 6 && memcmp(p, "\"mask\"", 6) == 0 && !(seen & 2)) {
				seen |= 2;
				p = skip_ws(p + 6, e);
				if (p >= e || *p++ != ':')
					return NULL;
				if (!(p = hex_string(skip_ws(p, e), e, &mask)))
					return NULL;
			} else {
				return NULL;
			}
			p = skip_ws(p, e);
			if (p < e && *p == ',') {
				p++;
				continue;
			}
			if (p < e && *p == '}')
				break;
			return NULL;
		}
		p++;
		if (seen != 3 || idx >= CPREG_WRITABLE_MASKS || fr->masks[idx])
			return NULL;
		fr->masks[idx] = mask;
		p = skip_ws(p, e);
		if (p < e && *p == ',') {
			p++;
			continue;
		}
		return p < e && *p == ']' ? p + 1 : NULL;
	}
}

/* One member's key and colon at p: the key, and p at its value; NULL when not plain. */
static const char *member(const char *p, const char *e, const char **k, size_t *kn)
{
	p = skip_ws(p, e);
	if (!(p = plain_string(p, e, k, kn)))
		return NULL;
	p = skip_ws(p, e);
	if (p >= e || *p++ != ':')
		return NULL;
	return skip_ws(p, e);
}

/* After a member's value: 1 at ',' (p past it), 0 at '}' (p past it), -1 for anything else. */
static int next_member(const char **pp, const char *e)
{
	const char *p = skip_ws(*pp, e);

	if (p >= e || (*p != ',' && *p != '}'))
		return -1;
	*pp = p + 1;
	return *p == ',';
}

/* 1 when the fast path applies (fr filled), 0 when the general path must read it all, < 0 on ENOMEM. */
static int fast_scan(const char *text, size_t len, struct fast_regs *fr)
{
	const char *p = text, *e = text + len, *cut[2][2] = { { NULL, NULL }, { NULL, NULL } };
	bool regs = false, kvm = false;
	size_t ncut = 0, o = 0;
	int more;

	p = skip_ws(p, e);
	if (p >= e || *p++ != '{')
		return 0;
	do {
		const char *k;
		size_t kn;

		if (!(p = member(p, e, &k, &kn)))
			return 0;
		if (kn == 9 && memcmp(k, "registers", 9) == 0 && p < e && *p == '[') {
			if (regs)
				return 0;       /* a duplicate key: the general path names it */
			regs = true;
			cut[ncut][0] = p;
			if (!(p = fast_registers(p, e, fr)))
				return 0;
			cut[ncut++][1] = p;
		} else if (kn == 3 && memcmp(k, "kvm", 3) == 0 && p < e && *p == '{') {
			bool masks = false;

			if (kvm)
				return 0;
			kvm = true;
			p = skip_ws(p + 1, e);
			if (p < e && *p == '}') {
				p++;
			} else {
				do {
					if (!(p = member(p, e, &k, &kn)))
						return 0;
					if (kn == 14 && memcmp(k, "writable_masks", 14) == 0 && p < e && *p == '[') {
						if (masks)
							return 0;
						masks = fr->has_masks = true;
						cut[ncut][0] = p;
						if (!(p = fast_masks(p, e, fr)))
							return 0;
						cut[ncut++][1] = p;
					} else if (!(p = skip_value(p, e))) {
						return 0;
					}
				} while ((more = next_member(&p, e)) == 1);
				if (more < 0)
					return 0;
			}
		} else if (!(p = skip_value(p, e))) {
			return 0;
		}
	} while ((more = next_member(&p, e)) == 1);
	if (more < 0 || !regs)
		return 0;
	/* The reduced document: each cut array becomes [], in the order they stand. */
	if (ncut == 2 && cut[1][0] < cut[0][0]) {
		const char *t0 = cut[0][0], *t1 = cut[0][1];

		cut[0][0] = cut[1][0], cut[0][1] = cut[1][1];
		cut[1][0] = t0, cut[1][1] = t1;
	}
	fr->reduced_len = len;
	for (size_t i = 0; i < ncut; i++)
		fr->reduced_len -= (size_t)(cut[i][1] - cut[i][0]) - 2;
	if (!(fr->reduced = malloc(fr->reduced_len + 1)))
		return -ENOMEM;
	p = text;
	for (size_t i = 0; i < ncut; i++) {
		memcpy(fr->reduced + o, p, (size_t)(cut[i][0] - p));
		o += (size_t)(cut[i][0] - p);
		memcpy(fr->reduced + o, "[]", 2);
		o += 2;
		p = cut[i][1];
	}
	memcpy(fr->reduced + o, p, (size_t)(e - p));
	fr->reduced[fr->reduced_len] = '\0';
	return 1;
}

static int from_json(const char *text, size_t len, struct fast_regs *fr, struct cpreg_inventory **ret_inv,
		     struct cpreg_error *err);

int cpreg_inventory_from_json(const char *text, size_t len, struct cpreg_inventory **ret_inv,
			      struct cpreg_error *err)
{
	struct fast_regs fr = { 0 };
	int r;

	if (!text || !ret_inv)
		return cpreg_err(err, -EINVAL, "", "no document");
	if (len <= CPREG_JSON_MAX && fast_scan(text, len, &fr) == 1) {
		r = from_json(fr.reduced, fr.reduced_len, &fr, ret_inv, NULL);
		free(fr.regs);
		free(fr.reduced);
		if (r >= 0)
			return r;
	} else {
		free(fr.regs);
		free(fr.reduced);
	}
	/* The general path: every document, and the exact error for a bad one. */
	return from_json(text, len, NULL, ret_inv, err);
}

int cpreg_inventory_from_json_general(const char *text, size_t len, struct cpreg_inventory **ret_inv,
				      struct cpreg_error *err)
{
	if (!text || !ret_inv)
		return cpreg_err(err, -EINVAL, "", "no document");
	return from_json(text, len, NULL, ret_inv, err);
}

static int from_json(const char *text, size_t len, struct fast_regs *fr, struct cpreg_inventory **ret_inv,
		     struct cpreg_error *err)
{
	struct rd rd = { .err = err, .prefix = "", .key = "" };  /* the whole document */
	json_object *root = NULL, *o;
	struct cpreg_inventory *inv = NULL;
	const char *s;
	int r;

	r = cpreg_json_parse(text, len, &root, err);
	if (r < 0)
		return r;
	inv = cpreg_inventory_new();
	if (!inv) {
		r = cpreg_err(err, -ENOMEM, "", "out of memory");
		goto out;
	}
	if ((r = want_type(&rd, root, json_type_object)) < 0)
		goto out;
	at(&rd, "", "schema", 0);
	if (!json_object_object_get_ex(root, "schema", &o)) {
		r = fail(&rd, -EINVAL, "missing; expected \"%s\"", CPREG_INVENTORY_SCHEMA);
		goto out;
	}
	if ((r = get_str(&rd, o, 64, &s)) < 0)
		goto out;
	if (strcmp(s, CPREG_INVENTORY_SCHEMA) != 0) {
		r = fail(&rd, -EPROTONOSUPPORT, "unknown schema \"%s\"; this reader takes \"%s\"", s,
			 CPREG_INVENTORY_SCHEMA);
		goto out;
	}
	if (json_object_object_get_ex(root, "provenance", &o)) {
		at(&rd, "", "provenance", 0);
		if ((r = get_str(&rd, o, 1024, &s)) < 0)
			goto out;
		cpreg_inventory_set_text(inv, CPREG_TEXT_PROVENANCE, s);
	}
	if (json_object_object_get_ex(root, "host", &o) && (r = read_host(&rd, o, inv)) < 0)
		goto out;
	if (json_object_object_get_ex(root, "kvm", &o) && (r = read_kvm(&rd, o, inv)) < 0)
		goto out;
	if (json_object_object_get_ex(root, "probe", &o)) {
		json_object *f;

		at(&rd, "", "probe", 0);
		if ((r = want_type(&rd, o, json_type_object)) < 0)
			goto out;
		if (json_object_object_get_ex(o, "time", &f)) {
			at(&rd, "probe", "time", 0);
			if ((r = get_str(&rd, f, 64, &s)) < 0)
				goto out;
			cpreg_inventory_set_text(inv, CPREG_TEXT_PROBE_TIME, s);
		}
		if (json_object_object_get_ex(o, "duration_ms", &f)) {
			int64_t v;

			at(&rd, "probe", "duration_ms", 0);
			if ((r = get_int(&rd, f, 0, INT32_MAX, &v)) < 0)
				goto out;
			cpreg_inventory_set_number(inv, CPREG_NUM_PROBE_MS, v);
		}
	}
	at(&rd, "", "registers", 0);
	if (!json_object_object_get_ex(root, "registers", &o)) {
		r = fail(&rd, -EINVAL, "missing");
		goto out;
	}
	if ((r = read_registers(&rd, o, inv)) < 0)
		goto out;
	/* The fast path's writable masks, where the reduced document has []. */
	if (fr && fr->has_masks)
		cpreg_inventory_set_writable_masks(inv, fr->masks);
	/*
	 * The fast path's registers, where the reduced document has []: in
	 * ascending order (as every writer writes them) the array becomes the
	 * inventory's; otherwise each is added, and any refusal (a duplicate)
	 * goes the general way.
	 */
	if (fr && fr->ascending && inv->n_regs == 0) {
		free(inv->regs);
		inv->regs = TAKE_PTR(fr->regs);
		inv->n_regs = fr->n;
		inv->cap_regs = fr->cap;
		inv->digest_ok = false;
	} else {
		for (size_t i = 0; fr && i < fr->n; i++)
			if ((r = cpreg_inventory_add(inv, &fr->regs[i])) < 0)
				goto out;
	}
	if (json_object_object_get_ex(root, "digest", &o)) {
		char digest[CPREG_DIGEST_LEN];

		at(&rd, "", "digest", 0);
		if ((r = get_str(&rd, o, 80, &s)) < 0)
			goto out;
		cpreg_inventory_seal(inv);
		cpreg_inventory_digest(inv, digest, sizeof(digest));
		if (strcmp(s, digest) != 0) {
			r = fail(&rd, -EBADMSG, "\"%s\" does not match the registers (they give \"%s\")", s, digest);
			goto out;
		}
	}
	cpreg_inventory_seal(inv);
	*ret_inv = TAKE_PTR(inv);
	r = 0;
out:
	cpreg_inventory_unref(inv);
	json_object_put(root);
	return r;
}

int cpreg_inventory_load(const char *path, struct cpreg_inventory **ret_inv, struct cpreg_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	r = cpreg_read_file(path, CPREG_JSON_MAX, &text, &len, err);
	if (r < 0)
		return r;
	r = cpreg_inventory_from_json(text, len, ret_inv, err);
	if (r < 0)
		cpreg_err_prefix(err, path);
	return r;
}
