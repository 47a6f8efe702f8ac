/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Loading the real-KVM fixtures of tests/data/dumps (see tests/convert-dumps.sh). */
#ifndef CPREG_FIXTURE_H
#define CPREG_FIXTURE_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpreg.h"
#include "tap.h"

static inline struct cpreg_inventory *fixture(const char *name)
{
	char path[512];
	struct cpreg_inventory *inv = NULL;
	struct cpreg_error err = { 0 };

	snprintf(path, sizeof(path), "%s/tests/data/dumps/%s.json", TOP_SRCDIR, name);
	if (cpreg_inventory_load(path, &inv, &err) < 0) {
		tap_diag("cannot load %s: %s: %s", name, err.where, err.message);
		printf("Bail out! fixture %s\n", name);
		exit(99);
	}
	return inv;
}

static int fixture_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names of all fixtures (without .json), sorted; NULL-terminated. */
static inline char **fixture_names(void)
{
	char path[512], **names = NULL;
	size_t n = 0;
	DIR *d;
	struct dirent *e;

	snprintf(path, sizeof(path), "%s/tests/data/dumps", TOP_SRCDIR);
	d = opendir(path);
	if (!d) {
		printf("Bail out! no fixtures in %s\n", path);
		exit(99);
	}
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);

		if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
			continue;
		names = realloc(names, (n + 2) * sizeof(*names));
		names[n++] = strndup(e->d_name, len - 5);
	}
	closedir(d);
	if (!names) {
		printf("Bail out! no fixtures in %s\n", path);
		exit(99);
	}
	qsort(names, n, sizeof(*names), fixture_cmp);
	names[n] = NULL;
	return names;
}

static inline void fixture_names_free(char **names)
{
	for (char **p = names; p && *p; p++)
		free(*p);
	free(names);
}

#endif
