/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Register names: every id KVM listed in the real dumps has a name, and names parse back. */
#include "config.h"

#include "cpreg.h"
#include "cpreg-internal.h"
#include "fixture.h"
#include "tap.h"

struct known { uint64_t id; const char *name; };

/* Ids from BRIEF section 3 and the KVM UAPI header, with the names users expect. */
static const struct known known[] = {
	{ UINT64_C(0x603000000013c000), "MIDR_EL1" },
	{ UINT64_C(0x603000000013c020), "ID_AA64PFR0_EL1" },
	{ UINT64_C(0x603000000013d801), "CTR_EL0" },
	{ UINT64_C(0x603000000013c801), "CLIDR_EL1" },
	{ UINT64_C(0x603000000013df1a), "CNTVCT_EL0" },     /* KVM_REG_ARM_TIMER_CNT, ABI swap */
	{ UINT64_C(0x603000000013df02), "CNTV_CVAL_EL0" },  /* KVM_REG_ARM_TIMER_CVAL, ABI swap */
	{ UINT64_C(0x603000000013df01), "CNTPCT_EL0" },
	{ UINT64_C(0x603000000013df11), "CNTP_CTL_EL0" },
	{ UINT64_C(0x603000000013df12), "CNTP_CVAL_EL0" },
	{ UINT64_C(0x603000000013c103), "TCR2_EL1" },
	{ UINT64_C(0x603000000013c512), "PIRE0_EL1" },
	{ UINT64_C(0x603000000013c513), "PIR_EL1" },
	{ UINT64_C(0x6030000000100040), "PC" },
	{ UINT64_C(0x6030000000100000), "X0" },
	{ UINT64_C(0x603000000010003c), "X30" },
	{ UINT64_C(0x603000000010003e), "SP" },
	{ UINT64_C(0x6030000000100042), "PSTATE" },
	{ UINT64_C(0x6040000000100054), "V0" },
	{ UINT64_C(0x60400000001000d0), "V31" },
	{ UINT64_C(0x60200000001000d4), "FPSR" },
	{ UINT64_C(0x60200000001000d5), "FPCR" },
	{ UINT64_C(0x6020000000110000), "CCSIDR_EL1[0]" },
	{ UINT64_C(0x602000000011000d), "CCSIDR_EL1[13]" },
	{ UINT64_C(0x6030000000140000), "PSCI_VERSION" },
	{ UINT64_C(0x6030000000140003), "SMCCC_ARCH_WORKAROUND_3" },
	{ UINT64_C(0x6030000000160003), "VENDOR_HYP_BMAP_2" },
	{ UINT64_C(0x606000000015ffff), "SVE_VLS" },
	{ UINT64_C(0x6080000000150000), "Z0" },
	{ UINT64_C(0x6050000000150400), "P0" },
	{ UINT64_C(0x6050000000150600), "FFR" },
	{ UINT64_C(0x6030000000138004), "DBGBVR0_EL1" },
	{ UINT64_C(0x603000000013807f), "DBGWCR15_EL1" },
	{ UINT64_C(0x603000000013df40), "PMEVCNTR0_EL0" },
	{ UINT64_C(0x603000000013df7e), "PMEVTYPER30_EL0" },
	{ UINT64_C(0x603000000013df7f), "PMCCFILTR_EL0" },
	/* Named in the kernel's get-reg-list.c blessed lists (FEAT_SCTLR2, FEAT_S1POE, GCS), new silicon lists them. */
	{ UINT64_C(0x603000000013c083), "SCTLR2_EL1" },     /* (3, 0, 1, 0, 3) */
	{ UINT64_C(0x603000000013dd14), "POR_EL0" },        /* (3, 3, 10, 2, 4) */
	{ UINT64_C(0x603000000013c514), "POR_EL1" },        /* (3, 0, 10, 2, 4) */
	{ UINT64_C(0x603000000013c128), "GCSCR_EL1" },      /* (3, 0, 2, 5, 0) */
	{ UINT64_C(0x603000000013d929), "GCSPR_EL0" },      /* (3, 3, 2, 5, 1) */
};

int main(void)
{
	char **names = fixture_names(), buf[64];
	size_t total = 0, unnamed = 0, roundtrip_bad = 0;
	uint64_t id;

	/* cpreg_fields_of hands out each register's fields as one run of the table. */
	tap_ok(cpreg_fields_grouped(), "each register's ID fields stand together in the field table");
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		cpreg_id_name(known[i].id, buf, sizeof(buf));
		tap_eq_str(buf, known[i].name, "0x%016" PRIx64 " is %s", known[i].id, known[i].name);
		tap_ok(cpreg_id_parse(known[i].name, &id) == 0 && id == known[i].id, "%s parses back", known[i].name);
	}

	/* Every id of every real dump has a name, and the name parses back to it. */
	for (char **n = names; *n; n++) {
		struct cpreg_inventory *inv = fixture(*n);

		for (size_t i = 0; i < cpreg_inventory_count(inv); i++) {
			uint64_t rid = cpreg_inventory_at(inv, i)->id;

			total++;
			cpreg_id_name(rid, buf, sizeof(buf));
			if (!cpreg_id_has_name(rid)) {
				unnamed++;
				tap_diag("%s: 0x%016" PRIx64 " falls back to %s", *n, rid, buf);
			}
			if (cpreg_id_parse(buf, &id) < 0 || id != rid) {
				roundtrip_bad++;
				tap_diag("%s: %s does not parse back to 0x%016" PRIx64, *n, buf, rid);
			}
		}
		cpreg_inventory_unref(inv);
	}
	tap_ok(total > 5000, "fixtures hold %zu register ids", total);
	tap_ok(unnamed == 0, "no id of any fixture falls back to the generic form (%zu do)", unnamed);
	tap_ok(roundtrip_bad == 0, "every name parses back to its id (%zu do not)", roundtrip_bad);

	/* The generic form, both ways. */
	tap_ok(cpreg_id_parse("S3_0_C2_C0_3", &id) == 0 && id == UINT64_C(0x603000000013c103),
	       "S3_0_C2_C0_3 parses to TCR2_EL1's id");
	tap_ok(cpreg_id_parse("s3_7_c15_c15_7", &id) == 0 && id == CPREG_SYSREG(3, 7, 15, 15, 7),
	       "generic form is case-insensitive");
	cpreg_id_name(CPREG_SYSREG(3, 7, 15, 15, 7), buf, sizeof(buf));
	tap_eq_str(buf, "S3_7_C15_C15_7", "an unknown sysreg prints in the generic form");
	tap_ok(!cpreg_id_has_name(CPREG_SYSREG(3, 7, 15, 15, 7)), "and is reported as unnamed");
	tap_ok(cpreg_id_parse("S3_8_C0_C0_0", &id) == -ERANGE, "op1 8 is out of range");
	tap_ok(cpreg_id_parse("S3_0_C0_C0", &id) == -EINVAL, "a truncated generic form is refused");
	tap_ok(cpreg_id_parse("NO_SUCH_REG", &id) == -ENOENT, "an unknown name is -ENOENT");
	tap_ok(cpreg_id_parse("0x603000000013c000", &id) == 0 && id == CPREG_MIDR_EL1, "hex ids parse");
	tap_ok(cpreg_id_parse("0x1234", &id) == -EINVAL, "a hex number that is no arm64 id is refused");
	tap_ok(cpreg_id_parse("midr_el1", &id) == 0 && id == CPREG_MIDR_EL1, "names are case-insensitive");

	/* Writable-mask index (Documentation/virt/kvm/api.rst). */
	tap_ok(cpreg_writable_mask_index(UINT64_C(0x603000000013c020)) == 32, "ID_AA64PFR0_EL1 has mask index 32");
	tap_ok(cpreg_writable_mask_index(UINT64_C(0x603000000013d801)) == 129, "CTR_EL0 has mask index 129");
	tap_ok(cpreg_writable_mask_index(UINT64_C(0x603000000013c801)) == 65, "CLIDR_EL1 has mask index 65");
	tap_ok(cpreg_writable_mask_index(UINT64_C(0x603000000013c080)) < 0, "SCTLR_EL1 has no mask");

	tap_ok(cpreg_id_migrates(CPREG_MIDR_EL1) && !cpreg_id_migrates(UINT64_C(0x6030000000100040)) &&
	       !cpreg_id_migrates(CPREG_SVE_VLS) && cpreg_id_migrates(CPREG_PSCI_VERSION),
	       "QEMU migrates all groups but core and SVE");
	fixture_names_free(names);
	/* The words' appenders cut as snprintf does and always end the text (lib/cpreg-internal.h). */
	{
		char b[8], w[40];
		size_t off = cpreg_put(b, sizeof(b), 0, "abc");

		off = cpreg_put(b, sizeof(b), off, "defghij");
		tap_ok(off == 7 && strcmp(b, "abcdefg") == 0 && cpreg_put(b, sizeof(b), off, "x") == 7,
		       "cpreg_put: cut at the buffer's end, NUL-terminated, nothing past it (\"%s\")", b);
		off = cpreg_put_i64(w, sizeof(w), 0, INT64_MIN);
		off = cpreg_put(w, sizeof(w), off, " ");
		off = cpreg_put_i64(w, sizeof(w), off, 0);
		off = cpreg_put(w, sizeof(w), off, " ");
		cpreg_put_hex(w, sizeof(w), off, UINT64_MAX);
		tap_ok(strcmp(w, "-9223372036854775808 0 ffffffffffffffff") == 0,
		       "cpreg_put_i64 and cpreg_put_hex write what printf's %%lld and %%llx would (\"%s\")", w);
		cpreg_put_hex(b, sizeof(b), cpreg_put(b, sizeof(b), 0, "0x"), 0x603000000013c000u);
		tap_ok(strcmp(b, "0x60300") == 0, "  and are cut like the rest (\"%s\")", b);
	}
	return tap_done();
}
