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
#include "cpreg-internal.h"
#include "fixture.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * bench --write-fleet DIR: 1,000 inventory files of 50 distinct hosts (the
 * fixtures, and variants with a vCPU-state register changed), for timing
 * cpregctl's fleet commands on files (tests/fleet-bench.sh).
 */
static int write_fleet(const char *dir)
{
	char **names = fixture_names();
	struct cpreg_inventory *base[32];
	size_t n = 0;

	for (char **p = names; *p && n < 32; p++, n++)
		base[n] = fixture(*p);
	for (size_t k = 0; k < 50; k++) {
		struct cpreg_inventory *x = NULL;
		char *text = NULL;

		cpreg_inventory_copy(base[k % n], &x);
		cpreg_inventory_set_value(x, CPREG_SYSREG(3, 3, 13, 0, 2), k / n);  /* TPIDR_EL0: vCPU state */
		cpreg_inventory_to_json(x, &text);
		for (size_t c = 0; c < 20; c++) {
			char path[512];
			FILE *f;

			snprintf(path, sizeof(path), "%s/%s-host%02zu-%02zu.json", dir, k < 25 ? "a" : "b", k, c);
			f = fopen(path, "w");
			if (!f || fputs(text, f) < 0 || fclose(f) != 0)
				return 1;
		}
		free(text);
		cpreg_inventory_unref(x);
	}
	for (size_t k = 0; k < n; k++)
		cpreg_inventory_unref(base[k]);
	fixture_names_free(names);
	return 0;
}

/*
 * bench --write-distinct DIR state|idreg: 1,000 inventory files of 1,000
 * distinct hosts (neoverse-n1 on 6.12, QEMU 11.1): "state", each with its
 * own SCTLR_EL1 (vCPU state every rule passes: one judged state); "idreg",
 * each with its own ID_AA64ISAR0/1, writable fields lowered (1,000 judged
 * states).  The two fleets of issue 27 (tests/fleet-bench.sh).
 */
static int write_distinct(const char *dir, const char *kind)
{
	static const uint64_t isar[2] = { CPREG_SYSREG(3, 0, 0, 6, 0), CPREG_SYSREG(3, 0, 0, 6, 1) };
	struct cpreg_inventory *base = fixture("neoverse-n1_linux-6.12");
	const uint64_t *masks = cpreg_inventory_writable_masks(base);
	bool idreg = strcmp(kind, "idreg") == 0;

	if (!idreg && strcmp(kind, "state") != 0)
		return 2;
	cpreg_inventory_set_text(base, CPREG_TEXT_QEMU_VERSION, "11.1.3");
	for (size_t k = 0; k < 1000; k++) {
		struct cpreg_inventory *x = NULL;
		char path[512], *text = NULL;
		size_t left = k;
		FILE *f;

		cpreg_inventory_copy(base, &x);
		if (!idreg)
			cpreg_inventory_set_value(x, CPREG_SYSREG(3, 0, 1, 0, 0), UINT64_C(0x30d00800) + k);
		/* k in mixed radix over the non-zero writable 4-bit fields: each digit lowers one field. */
		for (int r = 0; idreg && r < 2 && left; r++) {
			uint64_t v = cpreg_inventory_find(x, isar[r])->value, m = masks[cpreg_writable_mask_index(isar[r])];

			for (int sh = 0; sh < 64 && left; sh += 4) {
				uint64_t field = v >> sh & 0xf;

				if (!field || !(m >> sh & 0xf))
					continue;
				v = (v & ~(UINT64_C(0xf) << sh)) | (uint64_t)(field - left % (field + 1)) << sh;
				left /= field + 1;
			}
			cpreg_inventory_set_value(x, isar[r], v);
		}
		if (idreg && left)
			return 3;  /* fewer than 1,000 distinct lowerings */
		cpreg_inventory_to_json(x, &text);
		snprintf(path, sizeof(path), "%s/host%04zu.json", dir, k);
		f = fopen(path, "w");
		if (!f || fputs(text, f) < 0 || fclose(f) != 0)
			return 1;
		free(text);
		cpreg_inventory_unref(x);
	}
	cpreg_inventory_unref(base);
	return 0;
}

/*
 * bench --profile PHASE [SECONDS]: one phase in a loop for a while and
 * nothing else, for perf record (read, write, check, verdict: the pieces of
 * a daemon check; daemon: the three together; pairs: the static check of
 * every ordered pair of fixtures, as the main bench's figure).
 */
static int profile(const char *phase, double seconds)
{
	char **names = fixture_names();
	struct cpreg_inventory *inv[32];
	struct cpreg_verdict *v[32];
	char *texts[32];
	size_t n = 0, rounds = 0;
	double t0 = now();

	for (char **p = names; *p && n < 32; p++, n++) {
		inv[n] = fixture(*p);
		cpreg_inventory_to_json(inv[n], &texts[n]);
	}
	for (size_t k = 0; k < n; k++)
		cpreg_check(inv[k], inv[0], NULL, &v[k]);
	if (strcmp(phase, "read") && strcmp(phase, "write") && strcmp(phase, "check") && strcmp(phase, "verdict") &&
	    strcmp(phase, "daemon") && strcmp(phase, "pairs")) {
		fprintf(stderr, "bench --profile: read, write, check, verdict, daemon (all three of a daemon check) or pairs\n");
		return 2;
	}
	while (now() - t0 < seconds) {
		for (size_t k = 0; k < n; k++) {
			struct cpreg_inventory *x = NULL;
			struct cpreg_verdict *y = NULL;
			char *out = NULL;

			if (phase[0] == 'r') {
				cpreg_inventory_from_json(texts[k], strlen(texts[k]), &x, NULL);
				cpreg_inventory_unref(x);
			} else if (phase[0] == 'w') {
				cpreg_inventory_to_json(inv[k], &out);
			} else if (phase[0] == 'c') {
				cpreg_check(inv[k], inv[0], NULL, &y);
				cpreg_verdict_unref(y);
			} else if (phase[0] == 'p') {
				for (size_t d = 0; d < n; d++) {
					cpreg_check(inv[k], inv[d], NULL, &y);
					cpreg_verdict_unref(y);
				}
			} else if (phase[0] == 'd') {
				cpreg_inventory_from_json(texts[k], strlen(texts[k]), &x, NULL);
				cpreg_check(x, inv[0], NULL, &y);
				cpreg_verdict_to_json(y, &out);
				cpreg_verdict_unref(y);
				cpreg_inventory_unref(x);
			} else {
				cpreg_verdict_to_json(v[k], &out);
			}
			free(out);
		}
		rounds++;
	}
	if (phase[0] == 'p')
		rounds *= n;
	printf("%s: %.1f us each (%zu runs)\n", phase, (now() - t0) / (rounds * n) * 1e6, rounds * n);
	for (size_t k = 0; k < n; k++) {
		free(texts[k]);
		cpreg_verdict_unref(v[k]);
		cpreg_inventory_unref(inv[k]);
	}
	fixture_names_free(names);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--write-fleet") == 0)
		return write_fleet(argv[2]);
	if (argc == 4 && strcmp(argv[1], "--write-distinct") == 0)
		return write_distinct(argv[2], argv[3]);
	if (argc >= 3 && strcmp(argv[1], "--profile") == 0)
		return profile(argv[2], argc > 3 ? atof(argv[3]) : 3);

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
	printf("read  cpreg-inventory/1: %8.1f us per inventory (%.1f MB/s; goal under 50)\n", t / (iters * n) * 1e6,
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

			/* The hashing itself: a read inventory keeps its digest, so drop it each time. */
			inv[k]->digest_ok = false;
			cpreg_inventory_digest(inv[k], d, sizeof(d));
		}
	t = now() - t;
	printf("digest (SHA-256):        %8.1f us per inventory (computed once per inventory read or probed)\n",
	       t / (iters * n) * 1e6);
	/* Kept again, as every read or probed inventory keeps it: else each check below would hash both sides. */
	for (size_t k = 0; k < n; k++)
		cpreg_inventory_seal(inv[k]);
	t = now();
	for (int i = 0; i < iters / 10; i++)
		for (size_t a = 0; a < n; a++)
			for (size_t b = 0; b < n; b++) {
				struct cpreg_verdict *v = NULL;

				cpreg_check(inv[a], inv[b], NULL, &v);
				cpreg_verdict_unref(v);
			}
	t = now() - t;
	printf("check (static):          %8.1f us per ordered pair (%zu x %zu fleet: %.1f ms; goal under 10 us)\n",
	       t / (iters / 10 * n * n) * 1e6, n, n, t / (iters / 10) * 1e3);
	{
		/*
		 * What POST /v1/check?trial=0 costs the worker: read the source's
		 * text, check it against this host, write the verdict (every
		 * fixture as the source, the first as this host).
		 */
		double tr = 0, tc = 0, tw = 0;

		for (int i = 0; i < iters; i++)
			for (size_t k = 0; k < n; k++) {
				struct cpreg_inventory *x = NULL;
				struct cpreg_verdict *v = NULL;
				char *out = NULL;
				double t0 = now(), t1, t2;

				cpreg_inventory_from_json(texts[k], strlen(texts[k]), &x, NULL);
				t1 = now();
				cpreg_check(x, inv[0], NULL, &v);
				t2 = now();
				cpreg_verdict_to_json(v, &out);
				tw += now() - t2;
				tc += t2 - t1;
				tr += t1 - t0;
				free(out);
				cpreg_verdict_unref(v);
				cpreg_inventory_unref(x);
			}
		printf("a daemon check's work:   %8.1f us (read %.1f, check %.1f, write the verdict %.1f)\n",
		       (tr + tc + tw) / (iters * n) * 1e6, tr / (iters * n) * 1e6, tc / (iters * n) * 1e6,
		       tw / (iters * n) * 1e6);
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("peak resident memory:    %8ld KiB (%zu inventories loaded)\n", ru.ru_maxrss, n);

	/*
	 * A fleet of 1,000 inventories of 50 distinct hosts: the fixtures and
	 * variants of them (a vCPU-state register's value changed, which changes
	 * the digest and nothing else), each host under 20 names, read from
	 * their JSON text as cpregctl reads files.  Pools, profile, and the
	 * profile's verification: the work must follow the 50, not the 1,000.
	 */
	{
		enum { DISTINCT = 50, COPIES = 20 };
		char *ftext[DISTINCT];
		struct cpreg_fleet *f = NULL;
		struct cpreg_fleet_profile prof;
		double tr, tj, tp;
		const uint64_t tpidr = CPREG_SYSREG(3, 3, 13, 0, 2);  /* TPIDR_EL0: vCPU state */

		for (size_t k = 0; k < DISTINCT; k++) {
			struct cpreg_inventory *x = NULL;

			cpreg_inventory_copy(inv[k % n], &x);
			cpreg_inventory_set_value(x, tpidr, k / n);
			cpreg_inventory_to_json(x, &ftext[k]);
			cpreg_inventory_unref(x);
		}
		tr = now();
		cpreg_fleet_new(&f);
		for (size_t c = 0; c < COPIES; c++)
			for (size_t k = 0; k < DISTINCT; k++) {
				struct cpreg_inventory *x = NULL;
				char name[32];

				snprintf(name, sizeof(name), "host-%zu-%zu", k, c);
				cpreg_inventory_from_json(ftext[k], strlen(ftext[k]), &x, NULL);
				cpreg_fleet_add(f, name, x);
				cpreg_inventory_unref(x);
			}
		tr = now() - tr;
		tj = now();
		cpreg_fleet_judge(f, NULL, NULL);
		tj = now() - tj;
		tp = now();
		cpreg_fleet_profile(f, NULL, &prof);
		cpreg_fleet_judge(f, NULL, &prof.vm);
		tp = now() - tp;
		getrusage(RUSAGE_SELF, &ru);
		printf("fleet of %d files, %zu distinct hosts: read %.0f ms, pools %.0f ms (%zu pools), profile verified "
		       "%.0f ms; peak %ld KiB\n", DISTINCT * COPIES, cpreg_fleet_group_count(f), tr * 1e3, tj * 1e3,
		       cpreg_fleet_pool_count(f), tp * 1e3, ru.ru_maxrss);
		cpreg_fleet_unref(f);
		for (size_t k = 0; k < DISTINCT; k++)
			free(ftext[k]);
	}
	for (size_t k = 0; k < n; k++) {
		free(texts[k]);
		cpreg_inventory_unref(inv[k]);
	}
	fixture_names_free(names);
	return 0;
}
