/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Facts of an inventory file as key=value lines, for the shell-level tests:
 * it is read with the library's strict reader, so a file that prints
 * anything at all is valid cpreg-inventory/1.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpreg.h"

int main(int argc, char **argv)
{
	struct cpreg_inventory *inv;
	struct cpreg_error err = { 0 };
	char digest[CPREG_DIGEST_LEN];
	size_t unreadable = 0, wide = 0;
	int64_t feat = 0;
	const char *k;

	struct cpreg_vm_options vmo = { 0 };
	bool ids = false;

	/* invinfo --migrated-ids FILE: the ids QEMU migrates, one a line (what a migration stream lists). */
	if (argc == 3 && strcmp(argv[1], "--migrated-ids") == 0) {
		ids = true;
		argv++;
		argc--;
	}
	/* invinfo [--disable-bits N] FILE: N, CPREG_FEAT_* bits the VM turns off (tests the adjustment). */
	if (argc == 4 && strcmp(argv[1], "--disable-bits") == 0) {
		vmo.disable = (uint32_t)strtoul(argv[2], NULL, 0);
		argv += 2;
		argc -= 2;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: invinfo [--disable-bits N | --migrated-ids] FILE\n");
		return 2;
	}
	if (cpreg_inventory_load(argv[1], &inv, &err) < 0) {
		fprintf(stderr, "invinfo: %s: %s\n", err.where, err.message);
		return 1;
	}
	if (vmo.disable)
		cpreg_inventory_apply_vm_options(inv, &vmo);
	for (size_t i = 0; ids && i < cpreg_inventory_count(inv); i++)
		if (cpreg_id_migrates(cpreg_inventory_at(inv, i)->id))
			printf("0x%016" PRIx64 "\n", cpreg_inventory_at(inv, i)->id);
	if (ids) {
		cpreg_inventory_unref(inv);
		return 0;
	}
	for (size_t i = 0; i < cpreg_inventory_count(inv); i++) {
		unreadable += cpreg_inventory_at(inv, i)->state == CPREG_UNREADABLE;
		wide += cpreg_inventory_at(inv, i)->state == CPREG_WIDE;
	}
	cpreg_inventory_digest(inv, digest, sizeof(digest));
	cpreg_inventory_get_number(inv, CPREG_NUM_VCPU_FEATURES, &feat);
	k = cpreg_inventory_get_text(inv, CPREG_TEXT_KERNEL);
	printf("count=%zu\nmigration=%zu\nunreadable=%zu\nwide=%zu\ndigest=%s\nkernel=%s\nfeatures=0x%" PRIx64 "\n",
	       cpreg_inventory_count(inv), cpreg_inventory_migration_count(inv), unreadable, wide, digest,
	       k ? k : "", (uint64_t)feat);
	printf("sve_vls=%s\nhostname=%s\n", cpreg_inventory_sve_vls(inv) ? "yes" : "no",
	       cpreg_inventory_get_text(inv, CPREG_TEXT_HOSTNAME) ? cpreg_inventory_get_text(inv, CPREG_TEXT_HOSTNAME) : "");
	cpreg_inventory_unref(inv);
	return 0;
}
