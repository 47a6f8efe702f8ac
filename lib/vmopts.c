/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The VM's options: the one table of what a VM sets beyond its two hosts
 * (QEMU -cpu host properties with KVM, BRIEF section 9), and everything
 * that reads or writes them.  Each option has its key, the vCPU feature it
 * turns off, its spellings (QEMU's -cpu property, the query parameter and
 * JSON key, the libvirt form), QEMU's bounds for its value, and its effect
 * on an inventory.  cpregd's query parameters and --peer-vm-options,
 * cpregctl's options, the fleet documents, the domain XML reader, the
 * remedies and the check all come here, so that one option means one
 * thing everywhere.
 */
#include "config.h"

#include <stdio.h>

#include "cpreg-internal.h"
#include "jsonw.h"

#define PAUTH_BITS (1u << CPREG_FEAT_PTRAUTH_ADDRESS | 1u << CPREG_FEAT_PTRAUTH_GENERIC)

/*
 * The table.  A switch turns a vCPU feature off ("pmu=off"); pointer
 * authentication's two KVM features go as one, as QEMU's "pauth" property
 * turns both.  sve-max-vq is QEMU's 1..16 (vector lengths up to 2048
 * bits); kvm-psci-version exists from QEMU 11.1.
 */
static const struct cpreg_vm_option table[] = {
	/* In the order of enum cpreg_vm_option_row. */
	{ .key = "pmu", .qemu = "pmu", .kind = CPREG_VMOPT_SWITCH, .features = 1u << CPREG_FEAT_PMU_V3,
	  .libvirt = "<features><pmu state='off'/></features>" },
	{ .key = "sve", .qemu = "sve", .kind = CPREG_VMOPT_SWITCH, .features = 1u << CPREG_FEAT_SVE,
	  .libvirt = "<cpu><feature policy='disable' name='sve'/></cpu>" },
	{ .key = "pauth", .qemu = "pauth", .kind = CPREG_VMOPT_SWITCH, .features = PAUTH_BITS, .libvirt = "" },
	{ .key = "sve_max_vq", .qemu = "sve-max-vq", .kind = CPREG_VMOPT_VQ, .min = 1, .max = 16,
	  .libvirt = "<cpu><feature policy='require' name='sveNNN'/></cpu>" },
	{ .key = "psci", .json = "psci_version", .qemu = "kvm-psci-version", .kind = CPREG_VMOPT_PSCI, .libvirt = "" },
};

size_t cpreg_vm_option_count(void)
{
	return ARRAY_SIZE(table);
}

const struct cpreg_vm_option *cpreg_vm_option_at(size_t i)
{
	return i < ARRAY_SIZE(table) ? &table[i] : NULL;
}

const struct cpreg_vm_option *cpreg_vm_option_find(const char *qemu)
{
	for (size_t i = 0; qemu && i < ARRAY_SIZE(table); i++)
		if (strcmp(qemu, table[i].qemu) == 0)
			return &table[i];
	return NULL;
}

const struct cpreg_vm_option *cpreg_vm_option_by_key(const char *key)
{
	for (size_t i = 0; key && i < ARRAY_SIZE(table); i++)
		if (strcmp(key, table[i].key) == 0)
			return &table[i];
	return NULL;
}

const struct cpreg_vm_option *cpreg_vm_option_for_feature(unsigned bit)
{
	for (size_t i = 0; i < ARRAY_SIZE(table); i++)
		if (table[i].kind == CPREG_VMOPT_SWITCH && bit < 32 && (table[i].features & (1u << bit)))
			return &table[i];
	return NULL;
}

uint32_t cpreg_vm_disable_bits(uint32_t disable)
{
	uint32_t out = disable;

	/* A bit of an option that turns several features off turns them all off. */
	for (size_t i = 0; i < ARRAY_SIZE(table); i++)
		if (table[i].kind == CPREG_VMOPT_SWITCH && (disable & table[i].features))
			out |= table[i].features;
	return out;
}

int cpreg_parse_psci_version(const char *text, uint32_t *ret)
{
	unsigned major, minor;
	int n = -1;

	if (!text || sscanf(text, "%u.%u%n", &major, &minor, &n) != 2 || n < 0 || text[n] != '\0' ||
	    major > 0xffff || minor > 0xffff)
		return -EINVAL;
	*ret = major << 16 | minor;
	return 0;
}

/* The list of spellings an error names: "pmu, sve, pauth, sve-max-vq, kvm-psci-version". */
static void list_names(char *buf, size_t len, bool qemu)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
		off = cpreg_put(buf, len, off, i ? ", " : "");
		off = cpreg_put(buf, len, off, qemu ? table[i].qemu : table[i].key);
	}
}

int cpreg_vm_option_names(bool qemu, char *buf, size_t len)
{
	if (!buf || !len)
		return -EINVAL;
	list_names(buf, len, qemu);
	return 0;
}

int cpreg_vm_option_set(struct cpreg_vm_options *vm, const struct cpreg_vm_option *o, const char *value,
			struct cpreg_error *err)
{
	const char *name = o ? o->qemu : "";
	char *end;

	if (!vm || !o)
		return cpreg_err(err, -EINVAL, "vm-options", "no option given");
	switch (o->kind) {
	case CPREG_VMOPT_SWITCH:
		if (value && strcmp(value, "off") == 0)
			vm->disable |= o->features;
		else if (value && strcmp(value, "on") == 0)
			vm->disable &= ~o->features;
		else
			return cpreg_err(err, -EINVAL, name, "expected on or off, got \"%s\"", value ? value : "");
		return 0;
	case CPREG_VMOPT_VQ: {
		unsigned long vq = value ? strtoul(value, &end, 10) : 0;

		if (!value || !*value || *end || *value == '-' || vq < o->min || vq > o->max)
			return cpreg_err(err, -EINVAL, name, "expected %u to %u (vector lengths up to 128*N bits), got \"%s\"",
					 o->min, o->max, value ? value : "");
		vm->sve_max_vq = (unsigned)vq;
		return 0;
	}
	case CPREG_VMOPT_PSCI:
		if (cpreg_parse_psci_version(value, &vm->psci_version) < 0 || !vm->psci_version)
			return cpreg_err(err, -EINVAL, name, "expected a PSCI version such as 1.1, got \"%s\"",
					 value ? value : "");
		return 0;
	}
	return cpreg_err(err, -EINVAL, name, "not a VM option");
}

/*
 * The options as an operator writes them after QEMU's "-cpu" ("host,"
 * optional), so one string means the same on a command line, in a
 * configuration file, in cpregd's settings and in a domain's
 * <qemu:commandline>.  err->where is "vm-options"; the message names the
 * option.
 */
int cpreg_vm_options_parse(const char *text, struct cpreg_vm_options *ret, struct cpreg_error *err)
{
	struct cpreg_vm_options vm = { 0 };
	const char *p = text;

	if (!text || !ret)
		return cpreg_err(err, -EINVAL, "vm-options", "no options given");
	while (*p) {
		size_t n = strcspn(p, ","), k = strcspn(p, "=");
		char item[64];
		const char *val;
		struct cpreg_error e = { 0 };
		int r;

		if (n == 0 || n >= sizeof(item))
			return cpreg_err(err, -EINVAL, "vm-options", "empty or overlong item at offset %zu", (size_t)(p - text));
		memcpy(item, p, n);
		item[n] = '\0';
		val = k < n ? item + k + 1 : NULL;
		if (k < n)
			item[k] = '\0';
		if (!val && strcmp(item, "host") == 0 && p == text) {
			/* "host," may lead, as after -cpu */
		} else if (!cpreg_vm_option_find(item)) {
			return cpreg_err(err, -EINVAL, "vm-options", "unknown option \"%s\" (pmu=off, sve=off, pauth=off, "
					 "sve-max-vq=N, kvm-psci-version=X.Y)", item);
		} else if ((r = cpreg_vm_option_set(&vm, cpreg_vm_option_find(item), val, &e)) < 0) {
			return cpreg_err(err, r, "vm-options", "%s: %s", item, e.message);
		}
		p += n + (p[n] == ',');
	}
	*ret = vm;
	return 0;
}

int cpreg_vm_options_parse_disable(const char *text, uint32_t *ret, struct cpreg_error *err)
{
	struct cpreg_vm_options vm;
	int r = cpreg_vm_options_parse(text, &vm, err);

	if (r < 0)
		return r;
	if (vm.psci_version || vm.sve_max_vq)
		return cpreg_err(err, -EINVAL, "vm-options", "only vCPU features can be turned off here (pmu=off, sve=off, "
				 "pauth=off), not \"%s\"", text);
	*ret = vm.disable;
	return 0;
}

/* "name=value" of option o as vm has it, or "" when vm leaves it at QEMU's default. */
static size_t put_value(const struct cpreg_vm_option *o, const struct cpreg_vm_options *vm, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	switch (o->kind) {
	case CPREG_VMOPT_SWITCH:
		/* The first feature bit stands for the option (pauth: address and generic together). */
		if (vm->disable & (o->features & -o->features))
			off = cpreg_put(buf, len, 0, "off");
		break;
	case CPREG_VMOPT_VQ:
		if (vm->sve_max_vq)
			off = cpreg_put_i64(buf, len, 0, vm->sve_max_vq);
		break;
	case CPREG_VMOPT_PSCI:
		if (vm->psci_version) {
			off = cpreg_put_i64(buf, len, 0, vm->psci_version >> 16);
			off = cpreg_put(buf, len, off, ".");
			off = cpreg_put_i64(buf, len, off, vm->psci_version & 0xffff);
		}
		break;
	}
	return off;
}

/* Join the options vm sets as NAME=VALUE with sep, names from the table's qemu or key spelling. */
static int join(const struct cpreg_vm_options *vm, bool qemu, const char *first, const char *sep, char *buf, size_t len)
{
	size_t off;

	if (!vm || !buf || !len)
		return -EINVAL;
	buf[0] = '\0';
	off = cpreg_put(buf, len, 0, first);
	for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
		char v[32];

		if (!put_value(&table[i], vm, v, sizeof(v)))
			continue;
		off = cpreg_put(buf, len, off, off ? sep : "");
		off = cpreg_put(buf, len, off, qemu ? table[i].qemu : table[i].key);
		off = cpreg_put(buf, len, off, "=");
		off = cpreg_put(buf, len, off, v);
	}
	return off + 1 < len ? (int)off : -ENOBUFS;
}

int cpreg_vm_options_qemu(const struct cpreg_vm_options *vm, char *buf, size_t len)
{
	return join(vm, true, "host", ",", buf, len);
}

int cpreg_vm_options_query(const struct cpreg_vm_options *vm, char *buf, size_t len)
{
	return join(vm, false, "", "&", buf, len);
}

int cpreg_vm_option_qemu_form(const struct cpreg_vm_option *o, const struct cpreg_vm_options *vm, char *buf, size_t len)
{
	char v[32];
	size_t off;

	if (!o || !vm || !buf || !len)
		return -EINVAL;
	put_value(o, vm, v, sizeof(v));
	off = cpreg_put(buf, len, 0, o->qemu);
	off = cpreg_put(buf, len, off, "=");
	off = cpreg_put(buf, len, off, v);
	return (int)off;
}

void cpreg_vm_options_json(struct jw *w, const char *key, const struct cpreg_vm_options *vm)
{
	char q[160];

	cpreg_vm_options_qemu(vm, q, sizeof(q));
	jw_object(w, key);
	jw_string(w, "qemu_cpu", q);
	for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
		const struct cpreg_vm_option *o = &table[i];
		const char *k = o->json ? o->json : o->key;
		char v[32];

		if (o->kind == CPREG_VMOPT_SWITCH)
			jw_bool(w, k, !(vm->disable & (o->features & -o->features)));
		else if (!put_value(o, vm, v, sizeof(v)))
			jw_null(w, k);
		else if (o->kind == CPREG_VMOPT_VQ)
			jw_int(w, k, vm->sve_max_vq);
		else
			jw_string(w, k, v);
	}
	jw_end_object(w);
}

/*
 * The libvirt domain XML that starts a VM with these options: the PMU as
 * <pmu state='off'/>, SVE and its lengths as CPU features (only the lengths
 * every host offers, common_vls); pointer auth and the PSCI version have no
 * libvirt element, so they go to QEMU as -global properties of the host CPU
 * type through <qemu:commandline>.
 */
int cpreg_vm_options_libvirt(const struct cpreg_vm_options *vm, const uint64_t *common_vls, char **ret)
{
	struct cpreg_buf b = { 0 };
	const struct cpreg_vm_option *pauth = &table[CPREG_VMOPT_PAUTH], *psci = &table[CPREG_VMOPT_PSCI_VERSION];
	bool no_pauth = vm->disable & (pauth->features & -pauth->features);
	bool qemu = vm->psci_version || no_pauth;

	cpreg_buf_printf(&b, "<domain type='kvm'%s>\n", qemu ? " xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'" : "");
	if (vm->disable & (1u << CPREG_FEAT_PMU_V3))
		cpreg_buf_lit(&b, "  <features>\n    <pmu state='off'/>\n  </features>\n");
	cpreg_buf_lit(&b, "  <cpu mode='host-passthrough' check='none' migratable='on'>\n");
	if (vm->disable & (1u << CPREG_FEAT_SVE)) {
		cpreg_buf_lit(&b, "    <feature policy='disable' name='sve'/>\n");
	} else if (vm->sve_max_vq && common_vls) {
		for (unsigned vq = 1; vq <= 16; vq++)
			if (common_vls[(vq - 1) / 64] >> ((vq - 1) % 64) & 1)
				cpreg_buf_printf(&b, "    <feature policy='%s' name='sve%u'/>\n",
						 vq <= vm->sve_max_vq ? "require" : "disable", vq * 128);
	}
	cpreg_buf_lit(&b, "  </cpu>\n");
	if (qemu) {
		char kv[48];

		cpreg_buf_lit(&b, "  <qemu:commandline>\n");
		if (no_pauth && cpreg_vm_option_qemu_form(pauth, vm, kv, sizeof(kv)) > 0)
			cpreg_buf_printf(&b, "    <qemu:arg value='-global'/>\n    <qemu:arg value='host-arm-cpu.%s'/>\n", kv);
		if (vm->psci_version && cpreg_vm_option_qemu_form(psci, vm, kv, sizeof(kv)) > 0)
			cpreg_buf_printf(&b, "    <qemu:arg value='-global'/>\n    <qemu:arg value='host-arm-cpu.%s'/>\n", kv);
		cpreg_buf_lit(&b, "  </qemu:commandline>\n");
	}
	cpreg_buf_lit(&b, "</domain>\n");
	return cpreg_buf_finish(&b, ret);
}

/* ---- the options' effect on an inventory ---- */

uint32_t cpreg_inventory_features(const struct cpreg_inventory *inv)
{
	int64_t feat;

	/* An inventory from before the features were recorded: what "-cpu host" had then. */
	return cpreg_inventory_get_number(inv, CPREG_NUM_VCPU_FEATURES, &feat) == 0 ? (uint32_t)feat
											  : CPREG_DEFAULT_FEATURES;
}

static void clear_bits(struct cpreg_inventory *inv, uint64_t id, uint64_t bits)
{
	const struct cpreg_reg *r = cpreg_inventory_find(inv, id);

	if (r && r->state == CPREG_VALUE)
		cpreg_inventory_set_value(inv, id, r->value & ~bits);
}

/* A feature turned off: KVM lists none of its registers, and its ID fields read 0 (the kernel model's table). */
static void drop_feature(struct cpreg_inventory *inv, unsigned feat)
{
	const struct cpreg_feature_field *ff;
	size_t nff = cpreg_feature_fields(&ff);

	for (size_t i = cpreg_inventory_count(inv); i > 0; i--) {
		uint64_t id = cpreg_inventory_at(inv, i - 1)->id;

		if (cpreg_feature_owns(feat, id))
			cpreg_inventory_remove(inv, id);
	}
	for (size_t i = 0; i < nff; i++)
		if (ff[i].feature == feat)
			clear_bits(inv, ff[i].reg, ff[i].mask);
	if (feat == CPREG_FEAT_SVE) {
		/* Without SVE, KVM lists the FP/SIMD V registers where it listed Z. */
		for (unsigned v = 0; v < 32; v++) {
			struct cpreg_reg vr = { .id = UINT64_C(0x6040000000100054) + 4 * v, .state = CPREG_WIDE };

			cpreg_inventory_add(inv, &vr);
		}
		cpreg_inventory_set_sve_vls(inv, NULL);
	}
}

int cpreg_inventory_apply_vm_options(struct cpreg_inventory *inv, const struct cpreg_vm_options *o)
{
	int r;

	if (!inv || !o)
		return -EINVAL;
	if (o->psci_version) {
		/* QEMU 11.1 writes the pinned version into KVM_REG_ARM_PSCI_VERSION and migrates that. */
		r = cpreg_inventory_set_value(inv, CPREG_PSCI_VERSION, o->psci_version);
		if (r < 0)
			return r;
	}
	if (o->disable) {
		int64_t feat = 0;
		uint32_t off = cpreg_vm_disable_bits(o->disable);

		cpreg_inventory_get_number(inv, CPREG_NUM_VCPU_FEATURES, &feat);
		for (unsigned b = CPREG_FEAT_PMU_V3; b <= CPREG_FEAT_PTRAUTH_GENERIC; b++) {
			if (!(off & (1u << b)))
				continue;
			feat &= ~(INT64_C(1) << b);
			drop_feature(inv, b);
		}
		cpreg_inventory_set_number(inv, CPREG_NUM_VCPU_FEATURES, feat);
	}
	if (o->sve_max_vq && cpreg_inventory_sve_vls(inv)) {
		/* KVM_REG_ARM64_SVE_VLS: bit (vq - 1) of the 512-bit map for each vector length. */
		uint64_t vls[8];

		memcpy(vls, cpreg_inventory_sve_vls(inv), sizeof(vls));
		for (unsigned vq = o->sve_max_vq + 1; vq <= 512; vq++)
			vls[(vq - 1) / 64] &= ~(UINT64_C(1) << ((vq - 1) % 64));
		cpreg_inventory_set_sve_vls(inv, vls);
	}
	return 0;
}

struct cpreg_vm_options cpreg_vm_destination_options(const struct cpreg_vm_options *vm)
{
	/* The VM's vCPU options shape the destination's vCPU; its pinned PSCI version is the source's to migrate. */
	return vm ? (struct cpreg_vm_options){ .disable = vm->disable, .sve_max_vq = vm->sve_max_vq }
		  : (struct cpreg_vm_options){ 0 };
}
