/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Convert a "cpreg-dump v1" text file (shared/data/reg-dumps: real register
 * dumps read from KVM on emulated hosts) into a cpreg-inventory/1 fixture.
 *
 * Usage: dump2json DUMP [PROVENANCE-NAME] > fixture.json
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpreg.h"

static int die(const char *path, unsigned line, const char *what)
{
	fprintf(stderr, "dump2json: %s:%u: %s\n", path, line, what);
	return 2;
}

int main(int argc, char **argv)
{
	struct cpreg_inventory *inv;
	uint64_t masks[CPREG_WRITABLE_MASKS] = { 0 };
	bool have_masks = false;
	char line[512], emulated[256] = "", prov[512], *json;
	unsigned lineno = 0;
	FILE *f;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: dump2json DUMP [PROVENANCE-NAME]\n");
		return 2;
	}
	f = fopen(argv[1], "re");
	if (!f) {
		fprintf(stderr, "dump2json: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	inv = cpreg_inventory_new();
	if (!inv)
		return die(argv[1], 0, "out of memory");
	cpreg_inventory_set_text(inv, CPREG_TEXT_MACHINE, "aarch64");
	while (fgets(line, sizeof(line), f)) {
		char key[64], val[256];
		unsigned idx;
		uint64_t id, value;

		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#') {
			if (lineno == 1 && strcmp(line, "# cpreg-dump v1") != 0)
				return die(argv[1], lineno, "not a cpreg-dump v1 file");
			if (sscanf(line, "# emulated-host: %255[^\n]", emulated) == 1)
				continue;
			if (sscanf(line, "# kernel: %255s", val) == 1) {
				cpreg_inventory_set_text(inv, CPREG_TEXT_KERNEL, val);
			} else if (sscanf(line, "# kvm-api-version: %" SCNu64, &value) == 1) {
				cpreg_inventory_set_number(inv, CPREG_NUM_API_VERSION, (int64_t)value);
			} else if (sscanf(line, "# preferred-target: %" SCNu64, &value) == 1) {
				cpreg_inventory_set_number(inv, CPREG_NUM_PREFERRED_TARGET, (int64_t)value);
			} else if (sscanf(line, "# cap %63[^:]: %" SCNu64, key, &value) == 2) {
				int cap = cpreg_cap_from_name(key);

				if (cap < 0)
					return die(argv[1], lineno, "unknown capability");
				cpreg_inventory_set_cap(inv, cap, (int64_t)value);
				if (cap == CPREG_CAP_ARM_VM_IPA_SIZE)  /* QEMU asks for the host's maximum */
					cpreg_inventory_set_number(inv, CPREG_NUM_IPA_SIZE, (int64_t)value);
				if (cap == CPREG_CAP_ARM_SUPPORTED_REG_MASK_RANGES && (value & 1))
					have_masks = true;
			} else if (sscanf(line, "# writable-mask %u 0x%" SCNx64, &idx, &value) == 2) {
				if (idx >= CPREG_WRITABLE_MASKS)
					return die(argv[1], lineno, "mask index out of range");
				masks[idx] = value;
			} else if (strncmp(line, "# vcpu-features:", 16) == 0) {
				int64_t bits = 0;

				for (char *tok = strtok(line + 16, " "); tok; tok = strtok(NULL, " ")) {
					int b;

					if (strcmp(tok, "ptrauth") == 0) {
						bits |= 1 << CPREG_FEAT_PTRAUTH_ADDRESS | 1 << CPREG_FEAT_PTRAUTH_GENERIC;
						continue;
					}
					b = cpreg_feature_from_name(tok);
					if (b < 0)
						return die(argv[1], lineno, "unknown vCPU feature");
					bits |= INT64_C(1) << b;
				}
				cpreg_inventory_set_number(inv, CPREG_NUM_VCPU_FEATURES, bits);
			}
			continue;
		}
		if (sscanf(line, "0x%" SCNx64 " %255s", &id, val) != 2)
			return die(argv[1], lineno, "expected \"ID VALUE\"");
		{
			struct cpreg_reg reg = { .id = id };
			int r;

			if (strcmp(val, "-") == 0) {
				reg.state = CPREG_WIDE;
			} else if (sscanf(val, "0x%" SCNx64, &reg.value) == 1) {
				reg.state = CPREG_VALUE;
			} else {
				return die(argv[1], lineno, "bad value");
			}
			r = cpreg_inventory_add(inv, &reg);
			if (r < 0)
				return die(argv[1], lineno, strerror(-r));
		}
	}
	fclose(f);
	if (have_masks)
		cpreg_inventory_set_writable_masks(inv, masks);
	snprintf(prov, sizeof(prov), "shared/data/reg-dumps/%s: real KVM, %s",
		 argc == 3 ? argv[2] : argv[1], emulated[0] ? emulated : "emulated host");
	cpreg_inventory_set_text(inv, CPREG_TEXT_PROVENANCE, prov);
	if (cpreg_inventory_to_json(inv, &json) < 0)
		return die(argv[1], 0, "cannot write JSON");
	fputs(json, stdout);
	free(json);
	cpreg_inventory_unref(inv);
	return 0;
}
