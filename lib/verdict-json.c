/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The verdict's JSON form, cpreg-verdict/1 (docs/verdict.md): written
 * with the library's buffer and escaper, read back typed with json-c
 * (verdict.h).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "verdict.h"

static void put_side(struct cpreg_buf *f, const char *key, const struct side *s)
{
	cpreg_buf_printf(f, "  \"%s\": {\"digest\": \"%s\", \"hostname\": ", key, s->digest);
	cpreg_buf_json(f, s->hostname);
	cpreg_buf_lit(f, ", \"kernel\": ");
	cpreg_buf_json(f, s->kernel);
	cpreg_buf_lit(f, ", \"qemu_version\": ");
	cpreg_buf_json(f, s->qemu);
	cpreg_buf_printf(f, ", \"migrated_registers\": %zu},\n", s->migrated);
}

/* "0x" and 16 hex digits, quoted. */
static void put_hex(struct cpreg_buf *f, uint64_t v)
{
	cpreg_buf_lit(f, "\"0x");
	cpreg_buf_hex(f, v, 16);
	cpreg_buf_lit(f, "\"");
}

/*
 * Written by hand, not through a json-c tree: one finding per line (a
 * verdict of 17,000 findings stays readable and diffable), and no object
 * per key and value on the path every check takes.  What keeps it honest:
 * cpreg_verdict_from_json reads it back through json-c's strict parser,
 * test-check round-trips every fixture pair's verdict byte for byte, the
 * parsers fuzz target does the same for whatever it accepts, and
 * test-schemas validates it against docs/schemas/cpreg-verdict-1.
 */
/* Finding i's remedies, into the open array. */
static void put_remedies(struct cpreg_buf *f, const struct cpreg_verdict *v, size_t i)
{
	struct cpreg_remedy rem[4];
	size_t nr;

	nr = cpreg_verdict_remedies(v, i, rem, ARRAY_SIZE(rem));
	for (size_t k = 0; k < nr; k++) {
		cpreg_buf_str(f, k ? ", {\"kind\": \"" : "{\"kind\": \"");
		cpreg_buf_str(f, cpreg_remedy_kind_name(rem[k].kind));
		cpreg_buf_lit(f, "\"");
		if (rem[k].kind == CPREG_REMEDY_VM_OPTION) {
			cpreg_buf_lit(f, ", \"qemu\": ");
			cpreg_buf_json(f, rem[k].qemu);
			cpreg_buf_lit(f, ", \"libvirt\": ");
			cpreg_buf_json(f, rem[k].libvirt[0] ? rem[k].libvirt : NULL);
		}
		if (rem[k].kind == CPREG_REMEDY_QEMU || rem[k].kind == CPREG_REMEDY_KERNEL) {
			cpreg_buf_lit(f, ", \"min_version\": ");
			cpreg_buf_json(f, rem[k].min_version[0] ? rem[k].min_version : NULL);
		}
		cpreg_buf_lit(f, ", \"text\": ");
		cpreg_buf_json(f, rem[k].text);
		cpreg_buf_lit(f, "}");
	}
}

/* Finding i, one line. */
static void put_finding(struct cpreg_buf *f, const struct cpreg_verdict *v, size_t i)
{
	const struct cpreg_finding *x = &v->f[i];

	if (i)
		cpreg_buf_lit(f, ",");
	cpreg_buf_lit(f, "\n    {\"id\": ");
	if (x->kind == CPREG_FIND_COUNT_EXCEEDED || (x->kind == CPREG_FIND_VCPU_FEATURE && !x->id))
		cpreg_buf_lit(f, "null");
	else
		put_hex(f, x->id);
	cpreg_buf_lit(f, ", \"name\": ");
	cpreg_buf_json(f, x->name);
	cpreg_buf_lit(f, ", \"kind\": \"");
	cpreg_buf_str(f, cpreg_finding_kind_name(x->kind));
	cpreg_buf_lit(f, "\", \"outcome\": \"");
	cpreg_buf_str(f, cpreg_outcome_name(x->outcome));
	cpreg_buf_lit(f, "\", \"tolerance\": ");
	cpreg_buf_json(f, x->tolerance);
	cpreg_buf_lit(f, ", \"rule\": ");
	cpreg_buf_json(f, x->rule ? cpreg_kernel_rule_name(x->rule) : NULL);
	if (x->kind == CPREG_FIND_COUNT_EXCEEDED) {
		cpreg_buf_lit(f, ", \"source_count\": ");
		cpreg_buf_u64(f, x->source_value);
		cpreg_buf_lit(f, ", \"destination_count\": ");
		cpreg_buf_u64(f, x->destination_value);
	} else {
		cpreg_buf_lit(f, ", \"source_value\": ");
		if (x->has_source)
			put_hex(f, x->source_value);
		else
			cpreg_buf_lit(f, "null");
		cpreg_buf_lit(f, ", \"destination_value\": ");
		if (x->has_destination)
			put_hex(f, x->destination_value);
		else
			cpreg_buf_lit(f, "null");
	}
	cpreg_buf_lit(f, ", \"message\": ");
	cpreg_buf_json(f, x->message);
	cpreg_buf_lit(f, ", \"reason\": \"");
	cpreg_buf_str(f, cpreg_reason_name(cpreg_finding_reason(x)));
	cpreg_buf_lit(f, "\", \"remedies\": [");
	put_remedies(f, v, i);
	cpreg_buf_lit(f, "]}");
}

/* "trial": what the live trial did, or why it did not run, or null; then whether one is advised. */
static void put_trial(struct cpreg_buf *f, const struct cpreg_verdict *v)
{
	if (v->trial) {
		char sum[256];

		cpreg_verdict_trial_summary(v, sum, sizeof(sum));
		cpreg_buf_printf(f, ",\n  \"trial\": {\"ran\": true, \"duration_ms\": %" PRId64 ", \"written\": %zu, "
				 "\"accepted\": %zu, \"rejected\": %zu, \"unknown_to_kvm\": %zu, \"summary\": ",
				 v->trial_ms, v->trial_written, v->trial_accepted, v->trial_rejected, v->trial_unknown);
		cpreg_buf_json(f, sum);
		cpreg_buf_lit(f, ", \"contradictions\": [");
		for (size_t i = 0; i < v->n_contra; i++) {
			char name[48];

			cpreg_id_name(v->contra[i].id, name, sizeof(name));
			cpreg_buf_printf(f, "%s\n    {\"id\": \"0x%016" PRIx64 "\", \"name\": \"%s\", \"static\": \"%s\", "
					 "\"trial\": \"%s\"}", i ? "," : "", v->contra[i].id, name,
					 cpreg_outcome_name(v->contra[i].static_outcome),
					 cpreg_outcome_name(v->contra[i].trial_outcome));
		}
		cpreg_buf_str(f, v->n_contra ? "\n  ]}" : "]}");
	} else if (v->trial_error) {
		cpreg_buf_lit(f, ",\n  \"trial\": {\"ran\": false, \"summary\": ");
		cpreg_buf_json(f, v->trial_error);
		cpreg_buf_lit(f, "}");
	} else {
		cpreg_buf_lit(f, ",\n  \"trial\": null");
	}
	if (!v->trial) {
		size_t adv = cpreg_verdict_trial_advised(v);

		unsigned major, minor;

		cpreg_buf_printf(f, ",\n  \"trial_advised\": %s", adv ? "true" : "false");
		if (cpreg_verdict_rules_nearest(v, &major, &minor))
			cpreg_buf_printf(f, ",\n  \"trial_advised_reason\": \"needs a trial: the kernel model has no rules of the "
					 "destination's kernel, so it judged by Linux %u.%u's, the nearest older it has; its "
					 "cpregd's live trial answers exactly\"", major, minor);
		else if (adv)
			cpreg_buf_printf(f, ",\n  \"trial_advised_reason\": \"%zu value%s judged by rules only the destination "
					 "kernel applies exactly (writable ID fields, cache geometry): its cpregd's live trial "
					 "confirms them\"", adv, adv == 1 ? "" : "s");
	}
}

int cpreg_verdict_to_json(const struct cpreg_verdict *v, char **ret_text)
{
	struct cpreg_buf b = { 0 }, *f = &b;
	size_t counts[ARRAY_SIZE(outcome_names)] = { 0 };

	if (!v || !ret_text)
		return -EINVAL;
	verdict_fill_texts(v);
	for (size_t i = 0; i < v->n; i++)
		counts[v->f[i].outcome]++;
	cpreg_buf_printf(f, "{\n  \"schema\": \"cpreg-verdict/1\",\n  \"result\": \"%s\",\n  \"compatible\": %s,\n",
			 cpreg_result_name(v->result), v->result == CPREG_COMPATIBLE ? "true" : "false");
	cpreg_buf_lit(f, "  \"policy\": ");
	cpreg_buf_json(f, v->policy);
	cpreg_buf_lit(f, ",\n  \"policy_reason\": ");
	cpreg_buf_json(f, v->policy_reason);
	cpreg_buf_lit(f, ",\n");
	put_side(f, "source", &v->src);
	put_side(f, "destination", &v->dst);
	if (v->dst_source) {
		cpreg_buf_lit(f, "  \"destination_state\": {\"inventory_source\": ");
		cpreg_buf_json(f, v->dst_source);
		if (v->dst_age >= 0)
			cpreg_buf_printf(f, ", \"inventory_age_seconds\": %" PRId64, v->dst_age);
		else
			cpreg_buf_lit(f, ", \"inventory_age_seconds\": null");
		cpreg_buf_lit(f, ", \"warning\": ");
		cpreg_buf_json(f, v->dst_warning);
		cpreg_buf_lit(f, "},\n");
	}
	cpreg_buf_printf(f, "  \"counts\": {\"fail\": %zu, \"unknown\": %zu, \"tolerated\": %zu, \"ok\": %zu},\n",
			 counts[CPREG_OUT_FAIL], counts[CPREG_OUT_UNKNOWN], counts[CPREG_OUT_TOLERATED], counts[CPREG_OUT_OK]);
	cpreg_buf_lit(f, "  \"findings\": [");
	for (size_t i = 0; i < v->n; i++)
		put_finding(f, v, i);
	cpreg_buf_str(f, v->n ? "\n  ]" : "]");
	put_trial(f, v);
	if (v->passport_after) {
		_cleanup_free_ char *p = NULL;

		if (cpreg_passport_to_json(v->passport_after, &p) < 0) {
			cpreg_buf_finish(f, ret_text);
			free(*ret_text);
			*ret_text = NULL;
			return -ENOMEM;
		}
		p[strcspn(p, "\0") - 1] = '\0';  /* its final newline */
		cpreg_buf_lit(f, ",\n  \"passport_after\": ");
		cpreg_buf_str(f, p);
	}
	cpreg_buf_lit(f, "\n}\n");
	return cpreg_buf_finish(f, ret_text);
}

/*
 * ---- the typed verdict, read back ----
 * cpreg-verdict/1 as cpreg_verdict_to_json writes it, from the library or
 * the daemon: every field typed and checked (the enums by their names, ids
 * and values as hex strings, the counts and "compatible" against the
 * findings), so that callers decide from the verdict, never from its bytes.
 * Writing what was read gives the same document.
 */
struct vrd {
	struct cpreg_error *err;
	char path[96];
};

static int vfail(struct vrd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int vfail(struct vrd *r, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cpreg_err(r->err, -EINVAL, r->path, "%s", msg);
}

/* obj[key] of the given type; optional: absent is fine (NULL); nullable: JSON null is fine (NULL). */
static int vget(struct vrd *r, json_object *obj, const char *prefix, const char *key, json_type t, bool optional,
		bool nullable, json_object **ret)
{
	json_object *o = NULL;

	snprintf(r->path, sizeof(r->path), "%s%s%s", prefix, *prefix ? "." : "", key);
	*ret = NULL;
	if (!json_object_object_get_ex(obj, key, &o))
		return optional ? 0 : vfail(r, "missing");
	if (!o)
		return nullable ? 0 : vfail(r, "expected %s, got null", json_type_to_name(t));
	if (!json_object_is_type(o, t))
		return vfail(r, "expected %s, got %s", json_type_to_name(t), json_type_to_name(json_object_get_type(o)));
	*ret = o;
	return 0;
}

static int vstr(struct vrd *r, json_object *obj, const char *prefix, const char *key, bool nullable, size_t max,
		const char **ret)
{
	json_object *o;
	int e = vget(r, obj, prefix, key, json_type_string, false, nullable, &o);

	*ret = NULL;
	if (e < 0 || !o)
		return e;
	if ((size_t)json_object_get_string_len(o) > max || strlen(json_object_get_string(o)) != (size_t)json_object_get_string_len(o))
		return vfail(r, "a string of at most %zu characters without NUL expected", max);
	*ret = json_object_get_string(o);
	return 0;
}

static int vcount(struct vrd *r, json_object *obj, const char *prefix, const char *key, uint64_t *ret)
{
	json_object *o;
	int e = vget(r, obj, prefix, key, json_type_int, false, false, &o);

	if (e < 0)
		return e;
	errno = 0;
	if (json_object_get_int64(o) < 0 || errno)
		return vfail(r, "expected a count, got %s", json_object_get_string(o));
	*ret = (uint64_t)json_object_get_int64(o);
	return 0;
}

static int vhex(struct vrd *r, json_object *obj, const char *prefix, const char *key, bool nullable, bool *has,
		uint64_t *ret)
{
	const char *s;
	int e = vstr(r, obj, prefix, key, nullable, 24, &s);

	if (has)
		*has = s != NULL;
	if (e < 0 || !s)
		return e;
	if (cpreg_parse_hex(s, ret) < 0)
		return vfail(r, "\"%s\" is not a hex string such as \"0x1f\"", s);
	return 0;
}

static int vname(struct vrd *r, const char *s, const char *const *names, size_t n, int *ret)
{
	for (size_t i = 0; i < n; i++)
		if (names[i] && strcmp(s, names[i]) == 0) {
			*ret = (int)i;
			return 0;
		}
	return vfail(r, "\"%s\" is not one of the documented values", s);
}

static int vside(struct vrd *r, json_object *root, const char *key, struct side *side)
{
	json_object *o;
	const char *s;
	uint64_t n;
	int e;

	if ((e = vget(r, root, "", key, json_type_object, false, false, &o)) < 0)
		return e;
	if ((e = vstr(r, o, key, "digest", false, CPREG_DIGEST_LEN - 1, &s)) < 0)
		return e;
	snprintf(side->digest, sizeof(side->digest), "%s", s);
	if ((e = vstr(r, o, key, "hostname", true, 255, &s)) < 0 || (s && !(side->hostname = strdup(s))))
		return e < 0 ? e : -ENOMEM;
	if ((e = vstr(r, o, key, "kernel", true, 255, &s)) < 0 || (s && !(side->kernel = strdup(s))))
		return e < 0 ? e : -ENOMEM;
	if ((e = vstr(r, o, key, "qemu_version", true, 255, &s)) < 0 || (s && !(side->qemu = strdup(s))))
		return e < 0 ? e : -ENOMEM;
	if ((e = vcount(r, o, key, "migrated_registers", &n)) < 0)
		return e;
	side->migrated = (size_t)n;
	return 0;
}

static int vfinding(struct vrd *r, json_object *o, size_t i, struct cpreg_finding *f)
{
	char at[32];
	const char *s;
	int e, k = 0;
	bool has_id, rule_known = true;

	snprintf(at, sizeof(at), "findings[%zu]", i);
	snprintf(r->path, sizeof(r->path), "%s", at);
	if (!json_object_is_type(o, json_type_object))
		return vfail(r, "expected an object");
	if ((e = vstr(r, o, at, "kind", false, 32, &s)) < 0 || (e = vname(r, s, kind_names, ARRAY_SIZE(kind_names), &k)) < 0)
		return e;
	f->kind = k;
	if ((e = vstr(r, o, at, "outcome", false, 32, &s)) < 0 ||
	    (e = vname(r, s, outcome_names, ARRAY_SIZE(outcome_names), &k)) < 0)
		return e;
	f->outcome = k;
	if ((e = vhex(r, o, at, "id", true, &has_id, &f->id)) < 0)
		return e;
	if (!has_id && f->kind != CPREG_FIND_COUNT_EXCEEDED && f->kind != CPREG_FIND_VCPU_FEATURE)
		return vfail(r, "null only for count-exceeded and vcpu-feature findings");
	if (has_id && !cpreg_id_valid(f->id))
		return vfail(r, "0x%016" PRIx64 " is not an arm64 KVM register id", f->id);
	if ((e = vstr(r, o, at, "name", true, sizeof(f->name) - 1, &s)) < 0)
		return e;
	snprintf(f->name, sizeof(f->name), "%s", s ? s : "");
	if ((e = vstr(r, o, at, "tolerance", true, 64, &s)) < 0)
		return e;
	if (s && strcmp(s, legacy_tail) == 0)
		f->tolerance = legacy_tail;
	else if (s && (k = cpreg_tol_type_from_name(s)) > 0)
		f->tolerance = cpreg_tol_type_name(k);
	else if (s)
		return vfail(r, "\"%s\" is not a tolerance type", s);
	if ((e = vstr(r, o, at, "rule", true, 64, &s)) < 0)
		return e;
	if (s) {
		/* A rule this reader does not know (a newer writer's) reads as none: docs/verdict.md, Versions. */
		for (k = CPREG_RULE_ANY; cpreg_kernel_rule_name(k) && strcmp(s, cpreg_kernel_rule_name(k)) != 0; k++)
			;
		f->rule = cpreg_kernel_rule_name(k) ? k : 0;
		rule_known = f->rule != 0;
	}
	if (f->kind == CPREG_FIND_COUNT_EXCEEDED) {
		if ((e = vcount(r, o, at, "source_count", &f->source_value)) < 0 ||
		    (e = vcount(r, o, at, "destination_count", &f->destination_value)) < 0)
			return e;
		f->has_source = f->has_destination = true;
		snprintf(f->name, sizeof(f->name), "cpreg_vmstate_array_len");
	} else if ((e = vhex(r, o, at, "source_value", true, &f->has_source, &f->source_value)) < 0 ||
		   (e = vhex(r, o, at, "destination_value", true, &f->has_destination, &f->destination_value)) < 0) {
		return e;
	}
	if ((e = vstr(r, o, at, "message", false, CPREG_MESSAGE_MAX, &s)) < 0)
		return e;
	if (!(f->message = strdup(s)))
		return vfail(r, "out of memory");
	/* reason and remedies are derived: the reason must be what the finding makes it (remedies are rewritten). */
	if ((e = vstr(r, o, at, "reason", false, 64, &s)) < 0)
		return e;
	for (k = 1; k < CPREG_REASON_COUNT && strcmp(s, reason_names[k]) != 0; k++)
		;
	/* A reason this reader knows must be the one the finding makes; a newer one is taken as given. */
	if (k < CPREG_REASON_COUNT && rule_known && strcmp(s, cpreg_reason_name(cpreg_finding_reason(f))) != 0)
		return vfail(r, "\"%s\", but the finding's kind, rule and outcome make it \"%s\"", s,
			     cpreg_reason_name(cpreg_finding_reason(f)));
	return 0;
}

static int vtrial(struct vrd *r, json_object *root, struct cpreg_verdict *v)
{
	json_object *t, *o, *list;
	const char *s;
	uint64_t n;
	int e;

	if ((e = vget(r, root, "", "trial", json_type_object, false, true, &t)) < 0 || !t)
		return e;
	if ((e = vget(r, t, "trial", "ran", json_type_boolean, false, false, &o)) < 0)
		return e;
	if (!json_object_get_boolean(o)) {
		if ((e = vstr(r, t, "trial", "summary", false, 1024, &s)) < 0)
			return e;
		return (v->trial_error = strdup(s)) ? 0 : -ENOMEM;
	}
	v->trial = true;
	if ((e = vcount(r, t, "trial", "duration_ms", &n)) < 0)
		return e;
	v->trial_ms = (int64_t)n;
	if ((e = vcount(r, t, "trial", "written", &n)) < 0)
		return e;
	v->trial_written = (size_t)n;
	if ((e = vcount(r, t, "trial", "accepted", &n)) < 0)
		return e;
	v->trial_accepted = (size_t)n;
	if ((e = vcount(r, t, "trial", "rejected", &n)) < 0)
		return e;
	v->trial_rejected = (size_t)n;
	if ((e = vcount(r, t, "trial", "unknown_to_kvm", &n)) < 0)
		return e;
	v->trial_unknown = (size_t)n;
	if ((e = vget(r, t, "trial", "contradictions", json_type_array, false, false, &list)) < 0)
		return e;
	v->n_contra = json_object_array_length(list);
	if (v->n_contra > 65536)
		return vfail(r, "more than 65536 contradictions");
	if (v->n_contra && !(v->contra = calloc(v->n_contra, sizeof(*v->contra))))
		return -ENOMEM;
	for (size_t i = 0; i < v->n_contra; i++) {
		json_object *c = json_object_array_get_idx(list, i);
		char at[48];
		int k = 0;

		snprintf(at, sizeof(at), "trial.contradictions[%zu]", i);
		snprintf(r->path, sizeof(r->path), "%s", at);
		if (!json_object_is_type(c, json_type_object))
			return vfail(r, "expected an object");
		if ((e = vhex(r, c, at, "id", false, NULL, &v->contra[i].id)) < 0)
			return e;
		if ((e = vstr(r, c, at, "static", false, 32, &s)) < 0 ||
		    (e = vname(r, s, outcome_names, ARRAY_SIZE(outcome_names), &k)) < 0)
			return e;
		v->contra[i].static_outcome = k;
		if ((e = vstr(r, c, at, "trial", false, 32, &s)) < 0 ||
		    (e = vname(r, s, outcome_names, ARRAY_SIZE(outcome_names), &k)) < 0)
			return e;
		v->contra[i].trial_outcome = k;
	}
	return 0;
}

/* "schema", "result", "policy", "policy_reason", the two sides and "destination_state". */
static int vhead(struct vrd *r, json_object *root, struct cpreg_verdict *v)
{
	json_object *o, *age;
	const char *s, *src = NULL, *warn = NULL;
	int e, k = 0;

	if ((e = vstr(r, root, "", "schema", false, 64, &s)) < 0)
		return e;
	if (strcmp(s, "cpreg-verdict/1") != 0)
		return cpreg_err(r->err, -EPROTONOSUPPORT, "schema", "unknown schema \"%s\"; this reader takes "
				 "\"cpreg-verdict/1\"", s);
	if ((e = vstr(r, root, "", "result", false, 32, &s)) < 0 ||
	    (e = vname(r, s, result_names, ARRAY_SIZE(result_names), &k)) < 0)
		return e;
	v->result = k;
	if ((e = vstr(r, root, "", "policy", false, 128, &s)) < 0 || !(v->policy = strdup(s)) ||
	    (e = vstr(r, root, "", "policy_reason", false, 256, &s)) < 0 || !(v->policy_reason = strdup(s)))
		return e < 0 ? e : cpreg_err(r->err, -ENOMEM, "", "out of memory");
	if ((e = vside(r, root, "source", &v->src)) < 0 || (e = vside(r, root, "destination", &v->dst)) < 0)
		return e;
	if ((e = vget(r, root, "", "destination_state", json_type_object, true, false, &o)) < 0 || !o)
		return e;
	v->dst_age = -1;
	if ((e = vstr(r, o, "destination_state", "inventory_source", false, 32, &src)) < 0 ||
	    (e = vstr(r, o, "destination_state", "warning", true, 1024, &warn)) < 0 ||
	    (e = vget(r, o, "destination_state", "inventory_age_seconds", json_type_int, false, true, &age)) < 0)
		return e;
	if (cpreg_verdict_set_destination_state(v, src, age ? json_object_get_int64(age) : -1, warn) < 0)
		return cpreg_err(r->err, -ENOMEM, "", "out of memory");
	return 0;
}

/* "passport_after": a whole cpreg-passport/1, read by its own reader (errors under "passport_after."). */
static int vpassport(struct vrd *r, json_object *root, struct cpreg_verdict *v)
{
	json_object *o;
	int e;

	if ((e = vget(r, root, "", "passport_after", json_type_object, true, false, &o)) < 0 || !o)
		return e;
	if ((e = cpreg_passport_from_tree(o, &v->passport_after, r->err)) < 0) {
		if (r->err) {
			char where[sizeof(r->err->where) + 16];

			snprintf(where, sizeof(where), "passport_after%s%s", r->err->where[0] ? "." : "", r->err->where);
			snprintf(r->err->where, sizeof(r->err->where), "%.*s", (int)sizeof(r->err->where) - 1, where);
		}
		return e;
	}
	if (v->result != CPREG_COMPATIBLE) {
		snprintf(r->path, sizeof(r->path), "passport_after");
		return vfail(r, "a passport after a hop that is \"%s\"", cpreg_result_name(v->result));
	}
	return 0;
}

/* "findings", counted by outcome into counts. */
static int vfindings(struct vrd *r, json_object *root, struct cpreg_verdict *v, size_t *counts)
{
	json_object *list;
	int e;

	if ((e = vget(r, root, "", "findings", json_type_array, false, false, &list)) < 0)
		return e;
	if (json_object_array_length(list) > 1 << 20)
		return vfail(r, "more than %d findings", 1 << 20);
	v->n = v->cap = json_object_array_length(list);
	if (v->n && !(v->f = calloc(v->n, sizeof(*v->f))))
		return cpreg_err(r->err, -ENOMEM, "", "out of memory");
	for (size_t i = 0; i < v->n; i++) {
		if ((e = vfinding(r, json_object_array_get_idx(list, i), i, &v->f[i])) < 0)
			return e;
		counts[v->f[i].outcome]++;
	}
	return 0;
}

/* What is derived must agree with what it derives from: the counts, the result, "compatible". */
static int vderived(struct vrd *r, json_object *root, struct cpreg_verdict *v, const size_t *counts)
{
	enum cpreg_result stated = v->result;
	json_object *o;
	uint64_t n;
	int e;

	if ((e = vget(r, root, "", "counts", json_type_object, false, false, &o)) < 0)
		return e;
	for (int k = 1; k < (int)ARRAY_SIZE(outcome_names); k++) {
		if ((e = vcount(r, o, "counts", outcome_names[k], &n)) < 0)
			return e;
		if (n != counts[k])
			return vfail(r, "%" PRIu64 ", but %zu findings have that outcome", n, counts[k]);
	}
	verdict_recompute(v);
	if (v->result != stated) {
		snprintf(r->path, sizeof(r->path), "result");
		return vfail(r, "\"%s\", but the findings make it \"%s\"", cpreg_result_name(stated),
			     cpreg_result_name(v->result));
	}
	if ((e = vget(r, root, "", "compatible", json_type_boolean, false, false, &o)) < 0)
		return e;
	if (json_object_get_boolean(o) != (v->result == CPREG_COMPATIBLE))
		return vfail(r, "%s, but the result is \"%s\"", json_object_get_boolean(o) ? "true" : "false",
			     cpreg_result_name(v->result));
	return 0;
}

int cpreg_verdict_from_json(const char *text, size_t len, struct cpreg_verdict **ret, struct cpreg_error *err)
{
	struct vrd r = { .err = err };
	json_object *root = NULL;
	struct cpreg_verdict *v = NULL;
	size_t counts[ARRAY_SIZE(outcome_names)] = { 0 };
	int e;

	if (!text || !ret)
		return cpreg_err(err, -EINVAL, "", "no document");
	if ((e = cpreg_json_parse(text, len, &root, err)) < 0)
		return e;
	v = calloc(1, sizeof(*v));
	if (!v) {
		json_object_put(root);
		return cpreg_err(err, -ENOMEM, "", "out of memory");
	}
	v->refcount = 1;
	pthread_mutex_init(&v->texts_lock, NULL);
	if (!json_object_is_type(root, json_type_object))
		e = vfail(&r, "expected an object");
	else if ((e = vhead(&r, root, v)) >= 0 && (e = vfindings(&r, root, v, counts)) >= 0 &&
		 (e = vtrial(&r, root, v)) >= 0 && (e = vderived(&r, root, v, counts)) >= 0)
		e = vpassport(&r, root, v);
	if (e >= 0) {
		*ret = TAKE_PTR(v);
		e = 0;
	}
	cpreg_verdict_unref(v);
	json_object_put(root);
	return e;
}
