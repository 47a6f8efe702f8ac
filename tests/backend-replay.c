/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The test-only builds' backend (daemon/backend.h): --replay FILE answers
 * probes and trials from a recorded inventory, read afresh for each one
 * (a test makes the "kernel" fail, or change, by changing the file).
 * Without --replay, the kernel's, as the installed programs.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>

#include "backend.h"

struct backend {
	struct cpreg_inventory *rec;
	struct cpreg_replay *rp;
};

static const char *replay_path;

const struct option backend_options[] = {
	{ "replay", required_argument, NULL, 3000 },
	{}
};
const char backend_usage[] = "      --replay FILE        (test build) answer probes and trials from a recorded inventory\n";

int backend_option(int c, const char *value)
{
	if (c != 3000)
		return -1;
	replay_path = value;
	return 0;
}

int backend_get(const struct cpreg_kvm_ops **ret_ops, struct backend **ret, struct cpreg_error *err)
{
	struct backend *b;
	int r;

	*ret_ops = NULL;
	*ret = NULL;
	if (!replay_path)
		return 0;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	r = cpreg_inventory_load(replay_path, &b->rec, err);
	if (r >= 0 && !(b->rp = cpreg_replay_new(b->rec))) {
		r = -ENOMEM;
		snprintf(err->where, sizeof(err->where), "replay");
		snprintf(err->message, sizeof(err->message), "out of memory");
	}
	if (r < 0) {
		backend_put(b);
		return r;
	}
	*ret_ops = cpreg_replay_ops(b->rp);
	*ret = b;
	return 0;
}

void backend_put(struct backend *b)
{
	if (!b)
		return;
	cpreg_replay_free(b->rp);
	cpreg_inventory_unref(b->rec);
	free(b);
}
