/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * make bench: the library's speed and memory on the real fixtures, printed.
 * No thresholds: figures on a shared machine are information, not a test.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cpreg.h"
#include "fixture.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
	char **names = fixture_names();
	struct cpreg_inventory *inv[32];
	size_t n = 0, bytes = 0;
	char *texts[32];
	double t;
	int iters = 200;
	struct rusage ru;

	for (char **p = names; *p && n < 32; p++, n++) {
		inv[n] = fixture(*p);
		cpreg_inventory_to_json(inv[n], &texts[n]);
		bytes += strlen(texts[n]);
	}
	t = now();
	for (int i = 0; i < iters; i++)
		for (size_t k = 0; k < n; k++) {
			struct cpreg_inventory *x = NULL;

			cpreg_inventory_from_json(texts[k], strlen(texts[k]), &x, NULL);
			cpreg_inventory_unref(x);
		}
	t = now() - t;
	printf("read  cpreg-inventory/1: %8.1f us per inventory (%.1f MB/s)\n", t / (iters * n) * 1e6,
	       bytes * (double)iters / t / 1e6);
	t = now();
	for (int i = 0; i < iters; i++)
		for (size_t k = 0; k < n; k++) {
			char *out = NULL;

			cpreg_inventory_to_json(inv[k], &out);
			free(out);
		}
	t = now() - t;
	printf("write cpreg-inventory/1: %8.1f us per inventory\n", t / (iters * n) * 1e6);
	t = now();
	for (int i = 0; i < iters; i++)
		for (size_t k = 0; k < n; k++) {
			char d[CPREG_DIGEST_LEN];

			cpreg_inventory_digest(inv[k], d, sizeof(d));
		}
	t = now() - t;
	printf("digest:                  %8.1f us per inventory\n", t / (iters * n) * 1e6);
	t = now();
	for (int i = 0; i < iters / 10; i++)
		for (size_t a = 0; a < n; a++)
			for (size_t b = 0; b < n; b++) {
				struct cpreg_verdict *v = NULL;

				cpreg_check(inv[a], inv[b], NULL, &v);
				cpreg_verdict_unref(v);
			}
	t = now() - t;
	printf("check (static):          %8.1f us per ordered pair (%zu x %zu fleet: %.1f ms)\n",
	       t / (iters / 10 * n * n) * 1e6, n, n, t / (iters / 10) * 1e3);
	getrusage(RUSAGE_SELF, &ru);
	printf("peak resident memory:    %8ld KiB (%zu inventories loaded)\n", ru.ru_maxrss, n);
	for (size_t k = 0; k < n; k++) {
		free(texts[k]);
		cpreg_inventory_unref(inv[k]);
	}
	fixture_names_free(names);
	return 0;
}
