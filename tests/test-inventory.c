/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The inventory model: sorted unique ids, lookup, migration view, digest. */
#include "config.h"

#include "cpreg.h"
#include "fixture.h"
#include "tap.h"

static int add(struct cpreg_inventory *inv, uint64_t id, uint64_t value)
{
	struct cpreg_reg r = { .id = id, .value = value, .state = CPREG_VALUE };

	return cpreg_inventory_add(inv, &r);
}

int main(void)
{
	struct cpreg_inventory *inv = cpreg_inventory_new(), *a, *b;
	char d1[CPREG_DIGEST_LEN], d2[CPREG_DIGEST_LEN];
	struct cpreg_reg wide = { .id = UINT64_C(0x6040000000100054), .state = CPREG_WIDE };
	const struct cpreg_reg *r;

	tap_ok(add(inv, CPREG_PSCI_VERSION, 0x10001) == 0, "add PSCI_VERSION");
	tap_ok(add(inv, CPREG_MIDR_EL1, 0x410fd0c0) == 0, "add MIDR_EL1");
	tap_ok(add(inv, UINT64_C(0x6030000000100040), 0) == 0, "add PC");
	tap_ok(add(inv, CPREG_MIDR_EL1, 1) == -EEXIST, "a duplicate id is -EEXIST");
	tap_ok(add(inv, UINT64_C(0x6020000000110000), UINT64_C(0x100000000)) == -ERANGE,
	       "a value wider than a 32-bit register is -ERANGE");
	tap_ok(add(inv, UINT64_C(0x1234), 0) == -EINVAL, "a malformed id is -EINVAL");
	tap_ok(cpreg_inventory_add(inv, &wide) == 0, "a 128-bit register is listed without value");
	wide.state = CPREG_VALUE;
	wide.id = UINT64_C(0x6040000000100058);
	tap_ok(cpreg_inventory_add(inv, &wide) == -EINVAL, "a 128-bit register cannot carry a 64-bit value");
	tap_ok(cpreg_inventory_count(inv) == 4, "four registers");
	tap_ok(cpreg_inventory_at(inv, 0)->id < cpreg_inventory_at(inv, 1)->id &&
	       cpreg_inventory_at(inv, 1)->id < cpreg_inventory_at(inv, 2)->id &&
	       cpreg_inventory_at(inv, 2)->id < cpreg_inventory_at(inv, 3)->id, "kept in ascending order");
	r = cpreg_inventory_find(inv, CPREG_MIDR_EL1);
	tap_ok(r && r->value == 0x410fd0c0, "lookup by id");
	tap_ok(!cpreg_inventory_find(inv, CPREG_TIMER_CNT), "lookup of an absent id is NULL");
	tap_ok(cpreg_inventory_migration_count(inv) == 2, "migration view: MIDR and PSCI, not PC or V0");
	cpreg_inventory_unref(inv);
	tap_ok(cpreg_inventory_unref(NULL) == NULL, "unref takes NULL");

	/* Digest: counters' values and non-migrated registers do not count; anything else does. */
	a = fixture("neoverse-n1_linux-6.12");
	b = fixture("neoverse-n1_linux-6.12");
	cpreg_inventory_digest(a, d1, sizeof(d1));
	cpreg_inventory_digest(b, d2, sizeof(d2));
	tap_eq_str(d1, d2, "one fixture read twice gives one digest");
	tap_ok(strncmp(d1, "sha256:", 7) == 0 && strlen(d1) == 71, "digest is sha256:<64 hex>");
	{
		/* Rebuild b with different counter values and a different PC. */
		struct cpreg_inventory *c = cpreg_inventory_new();

		for (size_t i = 0; i < cpreg_inventory_count(a); i++) {
			struct cpreg_reg x = *cpreg_inventory_at(a, i);

			if (cpreg_id_is_counter(x.id))
				x.value += 12345;
			if (x.id == UINT64_C(0x6030000000100040))
				x.value = 0x40000000;
			cpreg_inventory_add(c, &x);
		}
		cpreg_inventory_digest(c, d2, sizeof(d2));
		tap_eq_str(d2, d1, "counters and core registers do not change the digest");
		cpreg_inventory_unref(c);
		c = cpreg_inventory_new();
		for (size_t i = 0; i < cpreg_inventory_count(a); i++) {
			struct cpreg_reg x = *cpreg_inventory_at(a, i);

			if (x.id == CPREG_PSCI_VERSION)
				x.value = 0x10003;
			cpreg_inventory_add(c, &x);
		}
		cpreg_inventory_digest(c, d2, sizeof(d2));
		tap_ok(strcmp(d1, d2) != 0, "a different PSCI version changes the digest");
		cpreg_inventory_unref(c);
	}
	cpreg_inventory_unref(b);
	b = fixture("cortex-a57_linux-6.12");
	cpreg_inventory_digest(b, d2, sizeof(d2));
	tap_ok(strcmp(d1, d2) != 0, "neoverse-n1 and cortex-a57 on 6.12 differ");
	/* BRIEF section 6: counts with a PSCI+PMU vCPU, no SVE. */
	tap_ok(cpreg_inventory_count(a) == 333, "neoverse-n1 on 6.12 lists 333 registers (BRIEF 6)");
	cpreg_inventory_unref(a);
	cpreg_inventory_unref(b);

	/*
	 * The VM's options.  Checked against real KVM by tests/vm/vm-probe.sh: a
	 * max host probed with pmu/sve/pauth off equals this adjustment.
	 */
	{
		struct cpreg_inventory *m = fixture("max_linux-6.12");
		struct cpreg_vm_options o = { .disable = 1u << CPREG_FEAT_SVE | 1u << CPREG_FEAT_PTRAUTH_ADDRESS };
		int64_t feat = 0;

		tap_ok(cpreg_inventory_apply_vm_options(m, &o) == 0, "apply sve=off,pauth=off to max");
		cpreg_inventory_get_number(m, CPREG_NUM_VCPU_FEATURES, &feat);
		tap_ok(feat == (1 << CPREG_FEAT_PSCI_0_2 | 1 << CPREG_FEAT_PMU_V3), "  vCPU features: psci-0.2 pmu-v3 left");
		tap_ok(!cpreg_inventory_find(m, CPREG_SYSREG(3, 0, 2, 1, 0)) && !cpreg_inventory_find(m, CPREG_SYSREG(3, 0, 1, 2, 0)) &&
		       !cpreg_inventory_find(m, CPREG_SVE_VLS) && !cpreg_inventory_sve_vls(m),
		       "  APIAKEYLO_EL1, ZCR_EL1 and the vector lengths are gone");
		tap_ok(cpreg_inventory_find(m, UINT64_C(0x6040000000100054)) != NULL, "  the V registers are listed again");
		tap_ok((cpreg_inventory_find(m, CPREG_SYSREG(3, 0, 0, 4, 0))->value >> 32 & 0xf) == 0 &&
		       cpreg_inventory_find(m, CPREG_SYSREG(3, 0, 0, 4, 4))->value == 0 &&
		       (cpreg_inventory_find(m, CPREG_SYSREG(3, 0, 0, 6, 1))->value & 0xff000ff0) == 0,
		       "  ID_AA64PFR0_EL1.SVE, ID_AA64ZFR0_EL1 and the pointer-auth fields read 0");
		cpreg_inventory_unref(m);

		/* The probed fixtures carry the vector lengths (the converted dumps do not). */
		{
			char path[512];
			struct cpreg_error err = { 0 };
			uint64_t before;

			snprintf(path, sizeof(path), "%s/tests/data/probed/a64fx_linux-6.12.json", TOP_SRCDIR);
			m = NULL;
			if (cpreg_inventory_load(path, &m, &err) < 0 || !cpreg_inventory_sve_vls(m)) {
				tap_ok(0, "probed a64fx fixture with vector lengths (%s)", err.message);
			} else {
				before = cpreg_inventory_sve_vls(m)[0];
				o = (struct cpreg_vm_options){ .sve_max_vq = 2 };
				cpreg_inventory_apply_vm_options(m, &o);
				tap_ok(before > 3 && cpreg_inventory_sve_vls(m)[0] == (before & 3) &&
				       cpreg_inventory_sve_vls(m)[1] == 0,
				       "sve-max-vq=2 keeps only the 128- and 256-bit vector lengths (a64fx offers 0x%" PRIx64 ")",
				       before);
			}
			cpreg_inventory_unref(m);
		}
	}
	return tap_done();
}
