/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where cpregd's and cpregctl's probes and trials get their KVM from.  The
 * installed programs link daemon/backend-kvm.c: the kernel, nothing else.
 * The test-only builds (tests/cpregd, tests/cpregctl; tests/README) link
 * tests/backend-replay.c instead: --replay FILE answers from a recorded
 * inventory, re-read at each use so that a test changes the "kernel"
 * between probes by changing the file.  So no test double ships (kmod keeps
 * its testsuite shims out of the tools it installs the same way).
 */
#ifndef CPREGD_BACKEND_H
#define CPREGD_BACKEND_H

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cpreg.h"
#include "probe.h"

/* The backend's own command-line options, {0}-terminated (values from 3000 on), and their --help lines. */
extern const struct option backend_options[];
extern const char backend_usage[];
/* Take option c's value: 0, or -1 with the reason on stderr. */
int backend_option(int c, const char *value);

struct backend;
/* The operations for one probe or trial (*ret_ops NULL: the kernel's); release with backend_put. */
int backend_get(const struct cpreg_kvm_ops **ret_ops, struct backend **ret, struct cpreg_error *err);
void backend_put(struct backend *b);

/* A program's options followed by the backend's, for getopt_long; free() it. */
static inline struct option *backend_merge_options(const struct option *own)
{
	size_t a = 0, b = 0;
	struct option *all;

	while (own[a].name)
		a++;
	while (backend_options[b].name)
		b++;
	all = calloc(a + b + 1, sizeof(*all));
	if (all) {
		memcpy(all, own, a * sizeof(*all));
		memcpy(all + a, backend_options, b * sizeof(*all));
	}
	return all;
}

#endif
