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


/* "host": the texts, the page size, each CPU's MIDR_EL1. */
static void put_host(struct cpreg_buf *f, const struct cpreg_inventory *inv)
{
	const char *sep;
	int64_t n;

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
}

/* "capabilities", after sep; the next separator. */
static const char *put_caps(struct cpreg_buf *f, const struct cpreg_inventory *inv, const char *sep)
{
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
	return sep;
}

/* "vcpu_features", "writable_masks", "sve_vector_lengths", after sep; the next separator. */
static const char *put_kvm_lists(struct cpreg_buf *f, const struct cpreg_inventory *inv, const char *sep)
{
	int64_t n;

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
	return sep;
}

/* "kvm": the API, the capabilities, the vCPU, the masks and lengths. */
static void put_kvm(struct cpreg_buf *f, const struct cpreg_inventory *inv)
{
	const char *sep;
	int64_t n;

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
	sep = put_caps(f, inv, sep);
	sep = put_kvm_lists(f, inv, sep);
	cpreg_buf_str(f, sep[0] == ',' ? "\n  },\n" : "},\n");
}

/* "probe": when and how long, when known. */
static void put_probe(struct cpreg_buf *f, const struct cpreg_inventory *inv)
{
	const char *sep;
	int64_t n;

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
}

/* "registers": one a line, in ascending id order. */
static void put_registers(struct cpreg_buf *f, const struct cpreg_inventory *inv)
{
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
}

int cpreg_inventory_to_json(const struct cpreg_inventory *inv, char **ret_text)
{
	char digest[CPREG_DIGEST_LEN];
	struct cpreg_buf out = { 0 }, *f = &out;

	if (!inv || !ret_text)
		return -EINVAL;
	cpreg_inventory_digest(inv, digest, sizeof(digest));
	cpreg_buf_printf(f, "{\n  \"schema\": \"%s\",\n  \"digest\": \"%s\",\n", CPREG_INVENTORY_SCHEMA, digest);
	if (inv->text[CPREG_TEXT_PROVENANCE]) {
		cpreg_buf_lit(f, "  \"provenance\": ");
		cpreg_buf_json(f, inv->text[CPREG_TEXT_PROVENANCE]);
		cpreg_buf_lit(f, ",\n");
	}

	put_host(f, inv);
	put_kvm(f, inv);
	put_probe(f, inv);
	put_registers(f, inv);
	return cpreg_buf_finish(f, ret_text);
}

