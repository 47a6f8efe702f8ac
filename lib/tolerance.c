/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Migration tolerances, with the semantics of QEMU's "cpreg migration
 * tolerances" series (v10), and the policies that pick them.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <json.h>

#include "cpreg-internal.h"

struct cpreg_tolerance_set {
	int refcount;
	struct cpreg_tolerance *t;  /* ascending id, at most one per id */
	size_t n;
};

static const char *const tol_names[] = {
	[CPREG_TOL_NOT_ON_BOTH_ENDS] = "NotOnBothEnds",
	[CPREG_TOL_ONLY_SRC_TEST_VALUE] = "OnlySrcTestValue",
	[CPREG_TOL_DIFF_IN_MASK] = "DiffInMask",
	[CPREG_TOL_FIELD_LT] = "FieldLT",
	[CPREG_TOL_FIELD_GT] = "FieldGT",
};

const char *cpreg_tol_type_name(enum cpreg_tol_type type)
{
	return (unsigned)type < ARRAY_SIZE(tol_names) ? tol_names[type] : NULL;
}

int cpreg_tol_type_from_name(const char *name)
{
	for (unsigned i = 1; i < ARRAY_SIZE(tol_names); i++)
		if (strcmp(tol_names[i], name) == 0)
			return (int)i;
	return -ENOENT;
}

struct cpreg_tolerance_set *cpreg_tolerance_set_new(void)
{
	struct cpreg_tolerance_set *s = calloc(1, sizeof(*s));

	if (s)
		s->refcount = 1;
	return s;
}

struct cpreg_tolerance_set *cpreg_tolerance_set_ref(struct cpreg_tolerance_set *set)
{
	if (set)
		cpreg_ref_inc(&set->refcount);
	return set;
}

struct cpreg_tolerance_set *cpreg_tolerance_set_unref(struct cpreg_tolerance_set *set)
{
	if (!set || cpreg_ref_dec(&set->refcount) > 0)
		return NULL;
	free(set->t);
	free(set);
	return NULL;
}

static size_t tol_lower_bound(const struct cpreg_tolerance_set *set, uint64_t id)
{
	size_t lo = 0, hi = set->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (set->t[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int cpreg_tolerance_set_add(struct cpreg_tolerance_set *set, const struct cpreg_tolerance *tol, bool replace)
{
	size_t pos;
	struct cpreg_tolerance *n;

	if (!set || !tol || !cpreg_tol_type_name(tol->type) || !cpreg_id_valid(tol->id))
		return -EINVAL;
	pos = tol_lower_bound(set, tol->id);
	if (pos < set->n && set->t[pos].id == tol->id) {
		if (!replace)
			return -EEXIST;
		set->t[pos] = *tol;
		return 0;
	}
	n = reallocarray(set->t, set->n + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	set->t = n;
	memmove(&set->t[pos + 1], &set->t[pos], (set->n - pos) * sizeof(*n));
	set->t[pos] = *tol;
	set->n++;
	return 0;
}

size_t cpreg_tolerance_set_count(const struct cpreg_tolerance_set *set)
{
	return set ? set->n : 0;
}

const struct cpreg_tolerance *cpreg_tolerance_set_at(const struct cpreg_tolerance_set *set, size_t i)
{
	return set && i < set->n ? &set->t[i] : NULL;
}

const struct cpreg_tolerance *cpreg_tolerance_find(const struct cpreg_tolerance_set *set, uint64_t id)
{
	size_t pos;

	if (!set)
		return NULL;
	pos = tol_lower_bound(set, id);
	return pos < set->n && set->t[pos].id == id ? &set->t[pos] : NULL;
}

/*
 * QEMU's matcher, to the letter (BRIEF section 2): the stored type must be
 * the asked one; OnlySrcTestValue passes on a masked match and otherwise
 * falls through to the diff test; fields are compared in place, unshifted.
 */
bool cpreg_tolerance_match(const struct cpreg_tolerance_set *set, uint64_t id,
			   uint64_t incoming, uint64_t local, enum cpreg_tol_type type)
{
	const struct cpreg_tolerance *t = cpreg_tolerance_find(set, id);
	uint64_t diff;

	if (!t || t->type != type)
		return false;
	if (type == CPREG_TOL_NOT_ON_BOTH_ENDS)
		return true;
	if (type == CPREG_TOL_ONLY_SRC_TEST_VALUE && (incoming & t->mask) == t->value)
		return true;
	diff = incoming ^ local;
	if (diff & ~t->mask)
		return false;
	switch (type) {
	case CPREG_TOL_DIFF_IN_MASK:
		return true;
	case CPREG_TOL_FIELD_LT:
		return (incoming & t->mask) < t->value;
	case CPREG_TOL_FIELD_GT:
		return (incoming & t->mask) > t->value;
	default:
		return false;
	}
}

/* ---- policies ---- */

struct cpreg_policy {
	int refcount;
	char *name;
	enum cpreg_policy_kind kind;
	struct cpreg_tolerance_set *tols;
};

/*
 * What QEMU 11.1 registers for KVM "-cpu host" and "max" (BRIEF section 2):
 * TCR2/PIRE0/PIR were listed unconditionally before Linux 6.13, so they may
 * be on one end only; VENDOR_HYP_BMAP_2 is new in 6.15 and may go backwards
 * only while the source value is 0.
 */
static const struct cpreg_tolerance qemu_11_1[] = {
	{ UINT64_C(0x603000000013c103), 0, 0, CPREG_TOL_NOT_ON_BOTH_ENDS },  /* TCR2_EL1 */
	{ UINT64_C(0x603000000013c512), 0, 0, CPREG_TOL_NOT_ON_BOTH_ENDS },  /* PIRE0_EL1 */
	{ UINT64_C(0x603000000013c513), 0, 0, CPREG_TOL_NOT_ON_BOTH_ENDS },  /* PIR_EL1 */
	{ UINT64_C(0x6030000000160003), UINT64_MAX, 0, CPREG_TOL_ONLY_SRC_TEST_VALUE }, /* VENDOR_HYP_BMAP_2 */
};

bool cpreg_builtin_11_1_lists(uint64_t id)
{
	for (size_t i = 0; i < ARRAY_SIZE(qemu_11_1); i++)
		if (qemu_11_1[i].id == id)
			return true;
	return false;
}

static int policy_new(const char *name, enum cpreg_policy_kind kind, struct cpreg_policy **ret)
{
	struct cpreg_policy *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->refcount = 1;
	p->kind = kind;
	p->name = strdup(name);
	p->tols = cpreg_tolerance_set_new();
	if (!p->name || !p->tols) {
		cpreg_policy_unref(p);
		return -ENOMEM;
	}
	*ret = p;
	return 0;
}

int cpreg_policy_new_builtin(const char *name, struct cpreg_policy **ret)
{
	struct cpreg_policy *p;
	int r;

	if (!name || !ret)
		return -EINVAL;
	if (strcmp(name, "qemu-legacy") == 0)
		return policy_new(name, CPREG_POLICY_QEMU_LEGACY, ret);
	if (strcmp(name, "qemu-11.1") != 0)
		return -ENOENT;
	r = policy_new(name, CPREG_POLICY_QEMU_TOLERANT, &p);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(qemu_11_1); i++) {
		r = cpreg_tolerance_set_add(p->tols, &qemu_11_1[i], false);
		if (r < 0) {
			cpreg_policy_unref(p);
			return r;
		}
	}
	*ret = p;
	return 0;
}

const char *cpreg_policy_for_qemu_version(const char *version)
{
	unsigned major, minor;

	if (!version || sscanf(version, "%u.%u", &major, &minor) != 2)
		return NULL;
	return major > 11 || (major == 11 && minor >= 1) ? "qemu-11.1" : "qemu-legacy";
}

struct cpreg_policy *cpreg_policy_ref(struct cpreg_policy *p)
{
	if (p)
		cpreg_ref_inc(&p->refcount);
	return p;
}

struct cpreg_policy *cpreg_policy_unref(struct cpreg_policy *p)
{
	if (!p || cpreg_ref_dec(&p->refcount) > 0)
		return NULL;
	cpreg_tolerance_set_unref(p->tols);
	free(p->name);
	free(p);
	return NULL;
}

const char *cpreg_policy_name(const struct cpreg_policy *p) { return p ? p->name : NULL; }
enum cpreg_policy_kind cpreg_policy_kind(const struct cpreg_policy *p) { return p ? p->kind : 0; }
const struct cpreg_tolerance_set *cpreg_policy_tolerances(const struct cpreg_policy *p) { return p ? p->tols : NULL; }

#define POLICY_SCHEMA "cpreg-policy/1"

static int pol_fail(struct cpreg_error *err, int code, const char *origin, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int pol_fail(struct cpreg_error *err, int code, const char *origin, const char *path, const char *fmt, ...)
{
	char where[256], msg[300];
	va_list ap;

	snprintf(where, sizeof(where), "%s%s%s", origin, *path ? ":" : "", path);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cpreg_err(err, code, where, "%s", msg);
}

static int pol_hex(json_object *o, uint64_t *ret)
{
	if (!json_object_is_type(o, json_type_string))
		return -EINVAL;
	return cpreg_parse_hex(json_object_get_string(o), ret);
}

/* Tolerance i of a policy file into tol, its path named in any error. */
static int read_tolerance(json_object *t, size_t i, const char *origin, struct cpreg_tolerance *tol,
			  struct cpreg_error *err)
{
	json_object *o;
	char path[64];
	int type;

	if (!json_object_is_type(t, json_type_object)) {
		snprintf(path, sizeof(path), "tolerances[%zu]", i);
		return pol_fail(err, -EINVAL, origin, path, "expected an object");
	}
	snprintf(path, sizeof(path), "tolerances[%zu].register", i);
	if (!json_object_object_get_ex(t, "register", &o) || !json_object_is_type(o, json_type_string))
		return pol_fail(err, -EINVAL, origin, path, "expected a register name or hex id");
	if (cpreg_id_parse(json_object_get_string(o), &tol->id) < 0)
		return pol_fail(err, -EINVAL, origin, path, "unknown register \"%s\"", json_object_get_string(o));
	snprintf(path, sizeof(path), "tolerances[%zu].type", i);
	if (!json_object_object_get_ex(t, "type", &o) || !json_object_is_type(o, json_type_string) ||
	    (type = cpreg_tol_type_from_name(json_object_get_string(o))) < 0)
		return pol_fail(err, -EINVAL, origin, path,
				"expected one of NotOnBothEnds, OnlySrcTestValue, DiffInMask, FieldLT, FieldGT");
	tol->type = type;
	snprintf(path, sizeof(path), "tolerances[%zu].mask", i);
	if (json_object_object_get_ex(t, "mask", &o) && pol_hex(o, &tol->mask) < 0)
		return pol_fail(err, -EINVAL, origin, path, "expected a hex string such as \"0xf0\"");
	snprintf(path, sizeof(path), "tolerances[%zu].value", i);
	if (json_object_object_get_ex(t, "value", &o) && pol_hex(o, &tol->value) < 0)
		return pol_fail(err, -EINVAL, origin, path, "expected a hex string such as \"0x10\"");
	return 0;
}

/* "tolerances": each one's own, one per id in the file; a file entry replaces the base's. */
static int read_tolerances(json_object *root, const char *origin, struct cpreg_policy *p, struct cpreg_error *err)
{
	struct cpreg_tolerance_set *seen = NULL;
	json_object *list;
	char path[64];
	int r = 0;

	if (!json_object_object_get_ex(root, "tolerances", &list))
		return 0;
	if (!json_object_is_type(list, json_type_array))
		return pol_fail(err, -EINVAL, origin, "tolerances", "expected an array");
	seen = cpreg_tolerance_set_new();
	if (!seen)
		return pol_fail(err, -ENOMEM, origin, "", "out of memory");
	for (size_t i = 0; i < json_object_array_length(list) && r == 0; i++) {
		json_object *t = json_object_array_get_idx(list, i);
		struct cpreg_tolerance tol = { 0 };

		if ((r = read_tolerance(t, i, origin, &tol, err)) < 0)
			break;
		snprintf(path, sizeof(path), "tolerances[%zu].register", i);
		if (cpreg_tolerance_set_add(seen, &tol, false) == -EEXIST)
			r = pol_fail(err, -EEXIST, origin, path, "a second tolerance for \"%s\"",
				     json_object_get_string(json_object_object_get(t, "register")));
		else if ((r = cpreg_tolerance_set_add(p->tols, &tol, true)) < 0)
			r = pol_fail(err, r, origin, path, "%s", strerror(-r));
	}
	cpreg_tolerance_set_unref(seen);
	return r;
}

/* "schema", "base" and "name": the built-in policy the file starts from, renamed. */
static int read_base(json_object *root, const char *origin, struct cpreg_policy **ret, struct cpreg_error *err)
{
	const char *base = "qemu-11.1", *name = NULL;
	json_object *o;
	char *n;
	int r;

	if (!json_object_is_type(root, json_type_object))
		return pol_fail(err, -EINVAL, origin, "", "expected an object");
	if (!json_object_object_get_ex(root, "schema", &o) || !json_object_is_type(o, json_type_string) ||
	    strcmp(json_object_get_string(o), POLICY_SCHEMA) != 0)
		return pol_fail(err, -EPROTONOSUPPORT, origin, "schema", "expected \"%s\"", POLICY_SCHEMA);
	if (json_object_object_get_ex(root, "base", &o)) {
		if (!json_object_is_type(o, json_type_string))
			return pol_fail(err, -EINVAL, origin, "base", "expected a string");
		base = json_object_get_string(o);
	}
	if (json_object_object_get_ex(root, "name", &o)) {
		if (!json_object_is_type(o, json_type_string) || json_object_get_string_len(o) == 0 ||
		    json_object_get_string_len(o) > 64)
			return pol_fail(err, -EINVAL, origin, "name", "expected a string of 1 to 64 characters");
		name = json_object_get_string(o);
	}
	r = cpreg_policy_new_builtin(base, ret);
	if (r == -ENOENT)
		return pol_fail(err, -EINVAL, origin, "base", "unknown policy \"%s\" (qemu-legacy, qemu-11.1)", base);
	if (r < 0)
		return pol_fail(err, r, origin, "", "%s", strerror(-r));
	if (!name)
		return 0;
	n = strdup(name);
	if (!n) {
		*ret = cpreg_policy_unref(*ret);
		return pol_fail(err, -ENOMEM, origin, "", "out of memory");
	}
	free((*ret)->name);
	(*ret)->name = n;
	return 0;
}

int cpreg_policy_from_json(const char *text, size_t len, const char *origin,
			   struct cpreg_policy **ret, struct cpreg_error *err)
{
	json_object *root = NULL;
	struct cpreg_policy *p = NULL;
	int r;

	if (!origin)
		origin = "policy";
	r = cpreg_json_parse(text, len, &root, err);
	if (r < 0) {
		cpreg_err_prefix(err, origin);
		return r;
	}
	r = read_base(root, origin, &p, err);
	if (r >= 0)
		r = read_tolerances(root, origin, p, err);
	if (r >= 0) {
		*ret = TAKE_PTR(p);
		r = 0;
	}
	cpreg_policy_unref(p);
	json_object_put(root);
	return r;
}

int cpreg_policy_load(const char *path, struct cpreg_policy **ret, struct cpreg_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	r = cpreg_read_file(path, 1u << 20, &text, &len, err);
	if (r < 0)
		return r;
	return cpreg_policy_from_json(text, len, path, ret, err);
}
