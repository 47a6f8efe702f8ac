/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The inventory: sorted unique register set plus the context it was read in. */
#include "config.h"

#include <endian.h>
#include <inttypes.h>
#include <stdio.h>
#include <strings.h>

#include <nettle/sha2.h>

#include "cpreg-internal.h"

static const struct { int cap; const char *name; } caps[] = {
	{ CPREG_CAP_NR_VCPUS, "NR_VCPUS" },
	{ CPREG_CAP_MAX_VCPUS, "MAX_VCPUS" },
	{ CPREG_CAP_ONE_REG, "ONE_REG" },
	{ CPREG_CAP_ARM_EL1_32BIT, "ARM_EL1_32BIT" },
	{ CPREG_CAP_ARM_PSCI_0_2, "ARM_PSCI_0_2" },
	{ CPREG_CAP_ARM_PMU_V3, "ARM_PMU_V3" },
	{ CPREG_CAP_ARM_VM_IPA_SIZE, "ARM_VM_IPA_SIZE" },
	{ CPREG_CAP_ARM_SVE, "ARM_SVE" },
	{ CPREG_CAP_ARM_PTRAUTH_ADDRESS, "ARM_PTRAUTH_ADDRESS" },
	{ CPREG_CAP_ARM_PTRAUTH_GENERIC, "ARM_PTRAUTH_GENERIC" },
	{ CPREG_CAP_ARM_MTE, "ARM_MTE" },
	{ CPREG_CAP_ARM_SUPPORTED_REG_MASK_RANGES, "ARM_SUPPORTED_REG_MASK_RANGES" },
	{ CPREG_CAP_ARM_WRITABLE_IMP_ID_REGS, "ARM_WRITABLE_IMP_ID_REGS" },
	{ CPREG_CAP_ARM_EL2, "ARM_EL2" },
};
_Static_assert(ARRAY_SIZE(caps) <= CPREG_MAX_CAPS, "capability table too large");

size_t cpreg_cap_count(void) { return ARRAY_SIZE(caps); }

int cpreg_cap_at(size_t i, const char **ret_name)
{
	if (i >= ARRAY_SIZE(caps))
		return -ERANGE;
	if (ret_name)
		*ret_name = caps[i].name;
	return caps[i].cap;
}

int cpreg_cap_index(int cap)
{
	for (size_t i = 0; i < ARRAY_SIZE(caps); i++)
		if (caps[i].cap == cap)
			return (int)i;
	return -ENOENT;
}

int cpreg_cap_from_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(caps); i++)
		if (strcmp(caps[i].name, name) == 0)
			return caps[i].cap;
	return -ENOENT;
}

static const char *const features[] = {
	[CPREG_FEAT_EL1_32BIT] = "el1-32bit",
	[CPREG_FEAT_PSCI_0_2] = "psci-0.2",
	[CPREG_FEAT_PMU_V3] = "pmu-v3",
	[CPREG_FEAT_SVE] = "sve",
	[CPREG_FEAT_PTRAUTH_ADDRESS] = "ptrauth-address",
	[CPREG_FEAT_PTRAUTH_GENERIC] = "ptrauth-generic",
};

const char *cpreg_feature_name(unsigned bit)
{
	return bit < ARRAY_SIZE(features) ? features[bit] : NULL;
}

int cpreg_feature_from_name(const char *name)
{
	for (unsigned i = 0; i < ARRAY_SIZE(features); i++)
		if (features[i] && strcmp(features[i], name) == 0)
			return (int)i;
	return -ENOENT;
}

struct cpreg_inventory *cpreg_inventory_new(void)
{
	struct cpreg_inventory *inv = calloc(1, sizeof(*inv));

	if (inv)
		inv->refcount = 1;
	return inv;
}

struct cpreg_inventory *cpreg_inventory_ref(struct cpreg_inventory *inv)
{
	if (inv)
		cpreg_ref_inc(&inv->refcount);
	return inv;
}

struct cpreg_inventory *cpreg_inventory_unref(struct cpreg_inventory *inv)
{
	if (!inv || cpreg_ref_dec(&inv->refcount) > 0)
		return NULL;
	for (int i = 0; i < _CPREG_TEXT_MAX; i++)
		free(inv->text[i]);
	free(inv->regs);
	free(inv->cpus);
	free(inv);
	return NULL;
}

int cpreg_inventory_copy(const struct cpreg_inventory *inv, struct cpreg_inventory **ret)
{
	struct cpreg_inventory *c;

	if (!inv || !ret)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	*c = *inv;
	c->refcount = 1;
	c->regs = NULL;
	c->cpus = NULL;
	c->cap_regs = c->n_regs;
	memset(c->text, 0, sizeof(c->text));
	if (inv->n_regs && !(c->regs = reallocarray(NULL, inv->n_regs, sizeof(*c->regs))))
		goto fail;
	if (inv->n_regs)
		memcpy(c->regs, inv->regs, inv->n_regs * sizeof(*c->regs));
	if (inv->n_cpus && !(c->cpus = reallocarray(NULL, inv->n_cpus, sizeof(*c->cpus))))
		goto fail;
	if (inv->n_cpus)
		memcpy(c->cpus, inv->cpus, inv->n_cpus * sizeof(*c->cpus));
	for (int i = 0; i < _CPREG_TEXT_MAX; i++)
		if (inv->text[i] && !(c->text[i] = strdup(inv->text[i])))
			goto fail;
	*ret = c;
	return 0;
fail:
	cpreg_inventory_unref(c);
	return -ENOMEM;
}

/* Index of the first register with id >= the given one. */
static size_t lower_bound(const struct cpreg_inventory *inv, uint64_t id)
{
	size_t lo = 0, hi = inv->n_regs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (inv->regs[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int cpreg_inventory_add(struct cpreg_inventory *inv, const struct cpreg_reg *reg)
{
	size_t pos;
	unsigned bytes;

	if (!inv || !reg || !cpreg_id_valid(reg->id))
		return -EINVAL;
	bytes = CPREG_ID_BYTES(reg->id);
	switch (reg->state) {
	case CPREG_VALUE:
		if (bytes > 8)
			return -EINVAL;
		if (bytes < 8 && reg->value >> (bytes * 8))
			return -ERANGE;
		break;
	case CPREG_WIDE:
		if (bytes <= 8)
			return -EINVAL;
		break;
	case CPREG_UNREADABLE:
		if (reg->read_errno <= 0)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	/* Readers and the probe add in ascending order: appending needs no search. */
	pos = inv->n_regs && inv->regs[inv->n_regs - 1].id < reg->id ? inv->n_regs : lower_bound(inv, reg->id);
	if (pos < inv->n_regs && inv->regs[pos].id == reg->id)
		return -EEXIST;
	if (inv->n_regs == inv->cap_regs) {
		size_t ncap = inv->cap_regs ? inv->cap_regs * 2 : 512;
		struct cpreg_reg *n = reallocarray(inv->regs, ncap, sizeof(*n));

		if (!n)
			return -ENOMEM;
		inv->regs = n;
		inv->cap_regs = ncap;
	}
	inv->digest_ok = false;
	memmove(&inv->regs[pos + 1], &inv->regs[pos], (inv->n_regs - pos) * sizeof(*inv->regs));
	inv->regs[pos] = *reg;
	if (reg->state != CPREG_VALUE)
		inv->regs[pos].value = 0;
	if (reg->state != CPREG_UNREADABLE)
		inv->regs[pos].read_errno = 0;
	inv->n_regs++;
	return 0;
}

int cpreg_inventory_remove(struct cpreg_inventory *inv, uint64_t id)
{
	size_t pos;

	if (!inv)
		return -EINVAL;
	pos = lower_bound(inv, id);
	if (pos >= inv->n_regs || inv->regs[pos].id != id)
		return -ENOENT;
	inv->digest_ok = false;
	memmove(&inv->regs[pos], &inv->regs[pos + 1], (inv->n_regs - pos - 1) * sizeof(*inv->regs));
	inv->n_regs--;
	return 0;
}

int cpreg_inventory_set_value(struct cpreg_inventory *inv, uint64_t id, uint64_t value)
{
	size_t pos;
	unsigned bytes = CPREG_ID_BYTES(id);

	if (!inv)
		return -EINVAL;
	pos = lower_bound(inv, id);
	if (pos >= inv->n_regs || inv->regs[pos].id != id)
		return -ENOENT;
	if (bytes > 8 || (bytes < 8 && value >> (bytes * 8)))
		return -ERANGE;
	inv->regs[pos].state = CPREG_VALUE;
	inv->regs[pos].value = value;
	inv->regs[pos].read_errno = 0;
	inv->digest_ok = false;
	return 0;
}

size_t cpreg_inventory_count(const struct cpreg_inventory *inv)
{
	return inv ? inv->n_regs : 0;
}

const struct cpreg_reg *cpreg_inventory_at(const struct cpreg_inventory *inv, size_t i)
{
	return inv && i < inv->n_regs ? &inv->regs[i] : NULL;
}

const struct cpreg_reg *cpreg_inventory_find(const struct cpreg_inventory *inv, uint64_t id)
{
	size_t pos;

	if (!inv)
		return NULL;
	pos = lower_bound(inv, id);
	return pos < inv->n_regs && inv->regs[pos].id == id ? &inv->regs[pos] : NULL;
}

size_t cpreg_inventory_migration_count(const struct cpreg_inventory *inv)
{
	size_t n = 0;

	if (inv && inv->digest_ok)
		return inv->migrated;
	for (size_t i = 0; inv && i < inv->n_regs; i++)
		n += cpreg_migrates(inv->regs[i].id);
	return n;
}

/*
 * The digest hashes, for each migrated id in ascending order, the id, a
 * state byte and the value (zero for counters, whose values are clock
 * readings, not host properties), all little endian.  Nothing else goes in:
 * two hosts with the same digest look identical to QEMU's cpreg migration.
 */
int cpreg_inventory_digest(const struct cpreg_inventory *inv, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	struct sha256_ctx s;
	uint8_t out[SHA256_DIGEST_SIZE], rec[240 * 17];
	size_t used = 0;

	if (!inv || len < CPREG_DIGEST_LEN)
		return -EINVAL;
	if (inv->digest_ok) {
		memcpy(buf, inv->digest, CPREG_DIGEST_LEN);
		return 0;
	}
	/*
	 * Nettle's SHA-256 uses the CPU's SHA instructions where it has them
	 * (ARMv8 crypto extensions, x86 SHA-NI): a sixth of the time of a
	 * portable loop.  Records go to it in runs of a few kilobytes, not 17
	 * bytes at a time.
	 */
	sha256_init(&s);
	sha256_update(&s, 14, (const uint8_t *)"cpreg-digest/1");
	for (size_t i = 0; i < inv->n_regs; i++) {
		const struct cpreg_reg *r = &inv->regs[i];
		uint8_t *p = rec + used;
		uint64_t v = cpreg_id_is_counter(r->id) ? 0 : r->value;

		if (!cpreg_migrates(r->id))
			continue;
		uint64_t le_id = htole64(r->id), le_v = htole64(v);

		memcpy(p, &le_id, 8);
		p[8] = (uint8_t)r->state;
		memcpy(p + 9, &le_v, 8);
		used += 17;
		if (used == sizeof(rec)) {
			sha256_update(&s, used, rec);
			used = 0;
		}
	}
	sha256_update(&s, used, rec);
	sha256_digest(&s, sizeof(out), out);
	memcpy(buf, "sha256:", 7);
	for (int i = 0; i < 32; i++) {
		buf[7 + 2 * i] = hex[out[i] >> 4];
		buf[8 + 2 * i] = hex[out[i] & 15];
	}
	buf[7 + 64] = '\0';
	return 0;
}

void cpreg_inventory_seal(struct cpreg_inventory *inv)
{
	if (inv && !inv->digest_ok && cpreg_inventory_digest(inv, inv->digest, sizeof(inv->digest)) == 0) {
		inv->migrated = cpreg_inventory_migration_count(inv);
		inv->digest_ok = true;
	}
}

int cpreg_inventory_set_text(struct cpreg_inventory *inv, enum cpreg_text what, const char *text)
{
	char *copy = NULL;

	if (!inv || what < 0 || what >= _CPREG_TEXT_MAX)
		return -EINVAL;
	if (text) {
		copy = strdup(text);
		if (!copy)
			return -ENOMEM;
	}
	free(inv->text[what]);
	inv->text[what] = copy;
	return 0;
}

const char *cpreg_inventory_get_text(const struct cpreg_inventory *inv, enum cpreg_text what)
{
	if (!inv || what < 0 || what >= _CPREG_TEXT_MAX)
		return NULL;
	return inv->text[what];
}

int cpreg_inventory_set_number(struct cpreg_inventory *inv, enum cpreg_number what, int64_t v)
{
	if (!inv || what < 0 || what >= _CPREG_NUM_MAX)
		return -EINVAL;
	inv->num[what] = v;
	inv->num_set |= 1u << what;
	return 0;
}

int cpreg_inventory_get_number(const struct cpreg_inventory *inv, enum cpreg_number what, int64_t *ret)
{
	if (!inv || what < 0 || what >= _CPREG_NUM_MAX)
		return -EINVAL;
	if (!(inv->num_set & (1u << what)))
		return -ENODATA;
	*ret = inv->num[what];
	return 0;
}

int cpreg_inventory_set_cap(struct cpreg_inventory *inv, int cap, int64_t value)
{
	int i = cpreg_cap_index(cap);

	if (!inv || i < 0)
		return -EINVAL;
	inv->caps[i] = value;
	inv->caps_set |= 1u << i;
	return 0;
}

int cpreg_inventory_get_cap(const struct cpreg_inventory *inv, int cap, int64_t *ret)
{
	int i = cpreg_cap_index(cap);

	if (!inv || i < 0)
		return -EINVAL;
	if (!(inv->caps_set & (1u << i)))
		return -ENODATA;
	*ret = inv->caps[i];
	return 0;
}

int cpreg_inventory_set_writable_masks(struct cpreg_inventory *inv, const uint64_t masks[CPREG_WRITABLE_MASKS])
{
	if (!inv)
		return -EINVAL;
	inv->has_masks = masks != NULL;
	if (masks)
		memcpy(inv->masks, masks, sizeof(inv->masks));
	else
		memset(inv->masks, 0, sizeof(inv->masks));
	return 0;
}

const uint64_t *cpreg_inventory_writable_masks(const struct cpreg_inventory *inv)
{
	return inv && inv->has_masks ? inv->masks : NULL;
}

int cpreg_inventory_set_sve_vls(struct cpreg_inventory *inv, const uint64_t vls[8])
{
	if (!inv)
		return -EINVAL;
	inv->has_vls = vls != NULL;
	if (vls)
		memcpy(inv->vls, vls, sizeof(inv->vls));
	return 0;
}

const uint64_t *cpreg_inventory_sve_vls(const struct cpreg_inventory *inv)
{
	return inv && inv->has_vls ? inv->vls : NULL;
}

int cpreg_inventory_add_cpu_midr(struct cpreg_inventory *inv, unsigned cpu, uint64_t midr)
{
	void *n;

	if (!inv || inv->n_cpus >= CPREG_MAX_CPUS)
		return -EINVAL;
	n = reallocarray(inv->cpus, inv->n_cpus + 1, sizeof(*inv->cpus));
	if (!n)
		return -ENOMEM;
	inv->cpus = n;
	inv->cpus[inv->n_cpus].cpu = cpu;
	inv->cpus[inv->n_cpus].midr = midr;
	inv->n_cpus++;
	return 0;
}

size_t cpreg_inventory_cpu_count(const struct cpreg_inventory *inv)
{
	return inv ? inv->n_cpus : 0;
}

int cpreg_inventory_cpu_at(const struct cpreg_inventory *inv, size_t i, unsigned *ret_cpu, uint64_t *ret_midr)
{
	if (!inv || i >= inv->n_cpus)
		return -ERANGE;
	if (ret_cpu)
		*ret_cpu = inv->cpus[i].cpu;
	if (ret_midr)
		*ret_midr = inv->cpus[i].midr;
	return 0;
}
