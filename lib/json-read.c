/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reading "cpreg-inventory/1" (docs/inventory.md): json-c parses, every
 * field is checked, and the first problem is named by its JSON path.  The
 * registers and writable masks of a canonical document come from the fast
 * scanner (json-fast.c) where it can read them; every other document, and
 * the exact error of a bad one, take the general path.
 */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <json.h>

#include "cpreg-internal.h"
#include "json-fast.h"
#include "json-rd.h"


/* ---- reader (helpers shared with passport.c: json-rd.h) ---- */

int rd_fail(struct rd *rd, int code, const char *fmt, ...)
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
void rd_at(struct rd *rd, const char *prefix, const char *key, long idx)
{
	rd->prefix = prefix;
	rd->key = key;
	rd->idx = idx;
	rd->sub = NULL;
}

const char *rd_type_name(json_object *o)
{
	return json_type_to_name(json_object_get_type(o));
}

int rd_int(struct rd *rd, json_object *o, int64_t min, int64_t max, int64_t *ret)
{
	int64_t v;

	if (!json_object_is_type(o, json_type_int))
		return rd_fail(rd, -EINVAL, "expected an integer, got %s", rd_type_name(o));
	errno = 0;
	v = json_object_get_int64(o);
	if (errno != 0 || v < min || v > max)
		return rd_fail(rd, -ERANGE, "%s is out of range [%" PRId64 ", %" PRId64 "]",
			    json_object_get_string(o), min, max);
	*ret = v;
	return 0;
}

int rd_str(struct rd *rd, json_object *o, size_t max, const char **ret)
{
	const char *s;

	if (!json_object_is_type(o, json_type_string))
		return rd_fail(rd, -EINVAL, "expected a string, got %s", rd_type_name(o));
	s = json_object_get_string(o);
	if (strlen(s) != (size_t)json_object_get_string_len(o))
		return rd_fail(rd, -EINVAL, "string contains a NUL character");
	if (strlen(s) > max)
		return rd_fail(rd, -E2BIG, "string longer than %zu characters", max);
	*ret = s;
	return 0;
}

int rd_hex(struct rd *rd, json_object *o, uint64_t *ret)
{
	const char *s;
	int r = rd_str(rd, o, 64, &s);

	if (r < 0) {
		if (r == -EINVAL && json_object_is_type(o, json_type_int))
			return rd_fail(rd, -EINVAL, "expected a hex string such as \"0x1f\", got a JSON number "
				    "(64-bit values travel as strings)");
		return r;
	}
	r = cpreg_parse_hex(s, ret);
	if (r == -ERANGE)
		return rd_fail(rd, r, "\"%s\" does not fit in 64 bits", s);
	if (r < 0)
		return rd_fail(rd, r, "\"%s\" is not a hex string such as \"0x1f\"", s);
	return 0;
}

int rd_want(struct rd *rd, json_object *o, json_type t)
{
	if (!json_object_is_type(o, t))
		return rd_fail(rd, -EINVAL, "expected %s, got %s", json_type_to_name(t), rd_type_name(o));
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

	rd_at(rd, "", "host", 0);
	if ((r = rd_want(rd, host, json_type_object)) < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
		const char *s;

		if (!json_object_object_get_ex(host, texts[i].key, &o))
			continue;
		rd_at(rd, "host", texts[i].key, 0);
		if ((r = rd_str(rd, o, texts[i].max, &s)) < 0)
			return r;
		if ((r = cpreg_inventory_set_text(inv, texts[i].t, s)) < 0)
			return rd_fail(rd, r, "cannot store");
	}
	if (json_object_object_get_ex(host, "page_size", &o)) {
		int64_t v;

		rd_at(rd, "host", "page_size", 0);
		if ((r = rd_int(rd, o, 1, INT64_C(1) << 30, &v)) < 0)
			return r;
		cpreg_inventory_set_number(inv, CPREG_NUM_PAGE_SIZE, v);
	}
	if (json_object_object_get_ex(host, "cpus", &o)) {
		rd_at(rd, "host", "cpus", 0);
		if ((r = rd_want(rd, o, json_type_array)) < 0)
			return r;
		if (json_object_array_length(o) > CPREG_MAX_CPUS)
			return rd_fail(rd, -E2BIG, "more than %d CPUs", CPREG_MAX_CPUS);
		for (size_t i = 0; i < json_object_array_length(o); i++) {
			json_object *c = json_object_array_get_idx(o, i), *f;
			int64_t cpu;
			uint64_t midr;

			rd_at(rd, "host.cpus", NULL, (long)i);
			if ((r = rd_want(rd, c, json_type_object)) < 0)
				return r;
			rd->sub = "cpu";
			if (!json_object_object_get_ex(c, "cpu", &f))
				return rd_fail(rd, -EINVAL, "missing");
			if ((r = rd_int(rd, f, 0, 65535, &cpu)) < 0)
				return r;
			rd->sub = "midr";
			if (!json_object_object_get_ex(c, "midr", &f))
				return rd_fail(rd, -EINVAL, "missing");
			if ((r = rd_hex(rd, f, &midr)) < 0)
				return r;
			if ((r = cpreg_inventory_add_cpu_midr(inv, (unsigned)cpu, midr)) < 0)
				return rd_fail(rd, r, "cannot store");
		}
	}
	return 0;
}

/* kvm.capabilities: by name; a newer writer's capability is ignored. */
static int read_caps(struct rd *rd, json_object *o, struct cpreg_inventory *inv)
{
	int r;

	rd_at(rd, "kvm", "capabilities", 0);
	if ((r = rd_want(rd, o, json_type_object)) < 0)
		return r;
	json_object_object_foreach(o, key, val) {
		int cap = cpreg_cap_from_name(key);
		int64_t v;

		if (cap < 0)
			continue; /* a newer writer's capability: ignored, as documented */
		rd_at(rd, "kvm.capabilities", key, 0);
		if ((r = rd_int(rd, val, INT32_MIN, INT32_MAX, &v)) < 0)
			return r;
		cpreg_inventory_set_cap(inv, cap, v);
	}
	return 0;
}

/* A vCPU feature list (at path, for errors): names, each once, into *bits. */
int rd_features(struct rd *rd, json_object *o, const char *path, uint32_t *bits)
{
	int r;

	*bits = 0;
	rd_at(rd, "", path, 0);
	if ((r = rd_want(rd, o, json_type_array)) < 0)
		return r;
	for (size_t i = 0; i < json_object_array_length(o); i++) {
		const char *s;
		int b;

		rd_at(rd, path, NULL, (long)i);
		if ((r = rd_str(rd, json_object_array_get_idx(o, i), 32, &s)) < 0)
			return r;
		b = cpreg_feature_from_name(s);
		if (b < 0)
			return rd_fail(rd, -EINVAL, "unknown vCPU feature \"%s\"", s);
		if (*bits & (1u << b))
			return rd_fail(rd, -EINVAL, "vCPU feature \"%s\" listed twice", s);
		*bits |= 1u << b;
	}
	return 0;
}

/* kvm.vcpu_features: the scratch vCPU's features by name, each once. */
static int read_features(struct rd *rd, json_object *o, struct cpreg_inventory *inv)
{
	uint32_t bits;
	int r = rd_features(rd, o, "kvm.vcpu_features", &bits);

	if (r >= 0)
		cpreg_inventory_set_number(inv, CPREG_NUM_VCPU_FEATURES, bits);
	return r;
}

/* kvm.writable_masks: index and mask, each index once. */
static int read_masks(struct rd *rd, json_object *o, struct cpreg_inventory *inv)
{
	int r;

	uint64_t masks[CPREG_WRITABLE_MASKS] = { 0 };

	rd_at(rd, "kvm", "writable_masks", 0);
	if ((r = rd_want(rd, o, json_type_array)) < 0)
		return r;
	for (size_t i = 0; i < json_object_array_length(o); i++) {
		json_object *m = json_object_array_get_idx(o, i), *f;
		int64_t idx;
		uint64_t mask;

		rd_at(rd, "kvm.writable_masks", NULL, (long)i);
		if ((r = rd_want(rd, m, json_type_object)) < 0)
			return r;
		rd->sub = "index";
		if (!json_object_object_get_ex(m, "index", &f))
			return rd_fail(rd, -EINVAL, "missing");
		if ((r = rd_int(rd, f, 0, CPREG_WRITABLE_MASKS - 1, &idx)) < 0)
			return r;
		if (masks[idx])
			return rd_fail(rd, -EINVAL, "index %" PRId64 " listed twice", idx);
		rd->sub = "mask";
		if (!json_object_object_get_ex(m, "mask", &f))
			return rd_fail(rd, -EINVAL, "missing");
		if ((r = rd_hex(rd, f, &mask)) < 0)
			return r;
		masks[idx] = mask;
	}
	cpreg_inventory_set_writable_masks(inv, masks);
	return 0;
}

/* SVE vector lengths (at path, for errors): eight hex words. */
int rd_vls(struct rd *rd, json_object *o, const char *path, uint64_t vls[8])
{
	int r;

	rd_at(rd, "", path, 0);
	if ((r = rd_want(rd, o, json_type_array)) < 0)
		return r;
	if (json_object_array_length(o) != 8)
		return rd_fail(rd, -EINVAL, "expected 8 words, got %zu", json_object_array_length(o));
	for (size_t i = 0; i < 8; i++) {
		rd_at(rd, path, NULL, (long)i);
		if ((r = rd_hex(rd, json_object_array_get_idx(o, i), &vls[i])) < 0)
			return r;
	}
	return 0;
}

/* kvm.sve_vector_lengths: eight words. */
static int read_vls(struct rd *rd, json_object *o, struct cpreg_inventory *inv)
{
	uint64_t vls[8];
	int r = rd_vls(rd, o, "kvm.sve_vector_lengths", vls);

	if (r >= 0)
		cpreg_inventory_set_sve_vls(inv, vls);
	return r;
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

	rd_at(rd, "", "kvm", 0);
	if ((r = rd_want(rd, kvm, json_type_object)) < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(nums); i++) {
		int64_t v;

		if (!json_object_object_get_ex(kvm, nums[i].key, &o))
			continue;
		rd_at(rd, "kvm", nums[i].key, 0);
		if ((r = rd_int(rd, o, 0, nums[i].max, &v)) < 0)
			return r;
		cpreg_inventory_set_number(inv, nums[i].num, v);
	}
	if (json_object_object_get_ex(kvm, "capabilities", &o) && (r = read_caps(rd, o, inv)) < 0)
		return r;
	if (json_object_object_get_ex(kvm, "vcpu_features", &o) && (r = read_features(rd, o, inv)) < 0)
		return r;
	if (json_object_object_get_ex(kvm, "writable_masks", &o) && (r = read_masks(rd, o, inv)) < 0)
		return r;
	if (json_object_object_get_ex(kvm, "sve_vector_lengths", &o) && (r = read_vls(rd, o, inv)) < 0)
		return r;
	return 0;
}

static int read_registers(struct rd *rd, json_object *regs, struct cpreg_inventory *inv)
{
	int r;

	rd_at(rd, "", "registers", 0);
	if ((r = rd_want(rd, regs, json_type_array)) < 0)
		return r;
	if (json_object_array_length(regs) > 65536)
		return rd_fail(rd, -E2BIG, "more than 65536 registers");
	for (size_t i = 0; i < json_object_array_length(regs); i++) {
		json_object *o = json_object_array_get_idx(regs, i), *f;
		struct cpreg_reg reg = { 0 };
		int present = 0;

		rd_at(rd, "registers", NULL, (long)i);
		if ((r = rd_want(rd, o, json_type_object)) < 0)
			return r;
		rd->sub = "id";
		if (!json_object_object_get_ex(o, "id", &f))
			return rd_fail(rd, -EINVAL, "missing");
		if ((r = rd_hex(rd, f, &reg.id)) < 0)
			return r;
		if (!cpreg_id_valid(reg.id))
			return rd_fail(rd, -EINVAL, "0x%016" PRIx64 " is not an arm64 KVM register id", reg.id);
		if (json_object_object_get_ex(o, "value", &f)) {
			rd->sub = "value";
			present++;
			if (CPREG_ID_BYTES(reg.id) > 8)
				return rd_fail(rd, -EINVAL, "register is %u bits wide and cannot carry a value",
					    CPREG_ID_BYTES(reg.id) * 8);
			if ((r = rd_hex(rd, f, &reg.value)) < 0)
				return r;
			if (CPREG_ID_BYTES(reg.id) < 8 && reg.value >> (CPREG_ID_BYTES(reg.id) * 8))
				return rd_fail(rd, -ERANGE, "0x%" PRIx64 " is wider than the register's %u bits",
					    reg.value, CPREG_ID_BYTES(reg.id) * 8);
			reg.state = CPREG_VALUE;
		}
		if (json_object_object_get_ex(o, "wide", &f)) {
			rd->sub = "wide";
			present++;
			if (!json_object_is_type(f, json_type_boolean) || !json_object_get_boolean(f))
				return rd_fail(rd, -EINVAL, "expected true");
			if (CPREG_ID_BYTES(reg.id) <= 8)
				return rd_fail(rd, -EINVAL, "register is only %u bits wide", CPREG_ID_BYTES(reg.id) * 8);
			reg.state = CPREG_WIDE;
		}
		if (json_object_object_get_ex(o, "error", &f)) {
			const char *s;

			rd->sub = "error";
			present++;
			if ((r = rd_str(rd, f, 32, &s)) < 0)
				return r;
			reg.read_errno = cpreg_errno_from_name(s);
			if (reg.read_errno < 0)
				return rd_fail(rd, -EINVAL, "\"%s\" is not an errno name such as \"EINVAL\"", s);
			reg.state = CPREG_UNREADABLE;
		}
		if (present != 1) {
			rd->sub = NULL;
			return rd_fail(rd, -EINVAL, "needs exactly one of \"value\", \"wide\" or \"error\"");
		}
		r = cpreg_inventory_add(inv, &reg);
		if (r == -EEXIST) {
			rd->sub = "id";
			return rd_fail(rd, r, "duplicate register 0x%016" PRIx64, reg.id);
		}
		if (r < 0)
			return rd_fail(rd, r, "cannot store: %s", strerror(-r));
	}
	return 0;
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
	if (len <= CPREG_JSON_MAX && json_fast_scan(text, len, &fr) == 1) {
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

/* "schema" (required, ours) and "provenance". */
static int read_schema(struct rd *rd, json_object *root, struct cpreg_inventory *inv)
{
	json_object *o;
	const char *s;
	int r;

	rd_at(rd, "", "schema", 0);
	if (!json_object_object_get_ex(root, "schema", &o))
		return rd_fail(rd, -EINVAL, "missing; expected \"%s\"", CPREG_INVENTORY_SCHEMA);
	if ((r = rd_str(rd, o, 64, &s)) < 0)
		return r;
	if (strcmp(s, CPREG_INVENTORY_SCHEMA) != 0)
		return rd_fail(rd, -EPROTONOSUPPORT, "unknown schema \"%s\"; this reader takes \"%s\"", s,
			    CPREG_INVENTORY_SCHEMA);
	if (json_object_object_get_ex(root, "provenance", &o)) {
		rd_at(rd, "", "provenance", 0);
		if ((r = rd_str(rd, o, 1024, &s)) < 0)
			return r;
		cpreg_inventory_set_text(inv, CPREG_TEXT_PROVENANCE, s);
	}
	return 0;
}

/* "probe": when and how long. */
static int read_probe(struct rd *rd, json_object *o, struct cpreg_inventory *inv)
{
	json_object *f;
	const char *s;
	int64_t v;
	int r;

	rd_at(rd, "", "probe", 0);
	if ((r = rd_want(rd, o, json_type_object)) < 0)
		return r;
	if (json_object_object_get_ex(o, "time", &f)) {
		rd_at(rd, "probe", "time", 0);
		if ((r = rd_str(rd, f, 64, &s)) < 0)
			return r;
		cpreg_inventory_set_text(inv, CPREG_TEXT_PROBE_TIME, s);
	}
	if (json_object_object_get_ex(o, "duration_ms", &f)) {
		rd_at(rd, "probe", "duration_ms", 0);
		if ((r = rd_int(rd, f, 0, INT32_MAX, &v)) < 0)
			return r;
		cpreg_inventory_set_number(inv, CPREG_NUM_PROBE_MS, v);
	}
	return 0;
}

/*
 * The fast path's registers and masks, where the reduced document has []:
 * in ascending order (as every writer writes them) the array becomes the
 * inventory's; otherwise each is added, and any refusal (a duplicate)
 * goes the general way.
 */
static int take_fast(struct fast_regs *fr, struct cpreg_inventory *inv)
{
	int r;

	if (fr->has_masks)
		cpreg_inventory_set_writable_masks(inv, fr->masks);
	if (fr->ascending && inv->n_regs == 0) {
		free(inv->regs);
		inv->regs = TAKE_PTR(fr->regs);
		inv->n_regs = fr->n;
		inv->cap_regs = fr->cap;
		inv->digest_ok = false;
		return 0;
	}
	for (size_t i = 0; i < fr->n; i++)
		if ((r = cpreg_inventory_add(inv, &fr->regs[i])) < 0)
			return r;
	return 0;
}

/* "digest", when given, must be the registers' own. */
static int check_digest(struct rd *rd, json_object *root, struct cpreg_inventory *inv)
{
	char digest[CPREG_DIGEST_LEN];
	json_object *o;
	const char *s;
	int r;

	if (!json_object_object_get_ex(root, "digest", &o))
		return 0;
	rd_at(rd, "", "digest", 0);
	if ((r = rd_str(rd, o, 80, &s)) < 0)
		return r;
	cpreg_inventory_seal(inv);
	cpreg_inventory_digest(inv, digest, sizeof(digest));
	if (strcmp(s, digest) != 0)
		return rd_fail(rd, -EBADMSG, "\"%s\" does not match the registers (they give \"%s\")", s, digest);
	return 0;
}

/* The document's members in their order of dependence; 0 or the first problem. */
static int read_members(struct rd *rd, json_object *root, struct fast_regs *fr, struct cpreg_inventory *inv)
{
	json_object *o;
	int r;

	if ((r = rd_want(rd, root, json_type_object)) < 0 || (r = read_schema(rd, root, inv)) < 0)
		return r;
	if (json_object_object_get_ex(root, "host", &o) && (r = read_host(rd, o, inv)) < 0)
		return r;
	if (json_object_object_get_ex(root, "kvm", &o) && (r = read_kvm(rd, o, inv)) < 0)
		return r;
	if (json_object_object_get_ex(root, "probe", &o) && (r = read_probe(rd, o, inv)) < 0)
		return r;
	rd_at(rd, "", "registers", 0);
	if (!json_object_object_get_ex(root, "registers", &o))
		return rd_fail(rd, -EINVAL, "missing");
	if ((r = read_registers(rd, o, inv)) < 0 || (fr && (r = take_fast(fr, inv)) < 0))
		return r;
	return check_digest(rd, root, inv);
}

static int from_json(const char *text, size_t len, struct fast_regs *fr, struct cpreg_inventory **ret_inv,
		     struct cpreg_error *err)
{
	struct rd rd = { .err = err, .prefix = "", .key = "" };  /* the whole document */
	json_object *root = NULL;
	struct cpreg_inventory *inv = NULL;
	int r;

	r = cpreg_json_parse(text, len, &root, err);
	if (r < 0)
		return r;
	inv = cpreg_inventory_new();
	r = inv ? read_members(&rd, root, fr, inv) : cpreg_err(err, -ENOMEM, "", "out of memory");
	if (r >= 0) {
		cpreg_inventory_seal(inv);
		*ret_inv = TAKE_PTR(inv);
		r = 0;
	}
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

