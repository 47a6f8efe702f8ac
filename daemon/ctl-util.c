/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cpregctl: what every command uses, below them all (cpregctl.h). */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpregctl.h"

struct ctl_args arg = { .timeout_ms = 60000 };

int fail(const char *fmt, ...)
{
	va_list ap;

	fputs("cpregctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_ERR;
}

int load(const char *path, struct cpreg_inventory **ret)
{
	struct cpreg_error err = { 0 };

	if (cpreg_inventory_load(path, ret, &err) < 0)
		return fail("%s: %s", err.where, err.message);
	return 0;
}

/* A built-in policy name, or a site policy file. */
int get_policy(struct cpreg_policy **ret)
{
	struct cpreg_error err = { 0 };
	int r;

	*ret = NULL;
	if (!arg.policy || strcmp(arg.policy, "auto") == 0)
		return 0;
	r = cpreg_policy_new_builtin(arg.policy, ret);
	if (r == -ENOENT) {
		if (access(arg.policy, F_OK) != 0)
			return fail("--policy: \"%s\" is neither qemu-legacy, qemu-11.1, auto, nor a policy file",
				    arg.policy);
		if (cpreg_policy_load(arg.policy, ret, &err) < 0)
			return fail("%s: %s", err.where, err.message);
		return 0;
	}
	return r < 0 ? fail("--policy: %s", strerror(-r)) : 0;
}

const char *host_label(const struct cpreg_inventory *inv, const char *fallback)
{
	const char *h = cpreg_inventory_get_text(inv, CPREG_TEXT_HOSTNAME);

	return h ? h : fallback;
}

int verdict_exit(enum cpreg_result r)
{
	return r == CPREG_COMPATIBLE ? EXIT_OK : EXIT_NO;
}

/* The VM's own options (--psci-version, --disable, --sve-max-vq, --domain). */
struct cpreg_vm_options vm_options(void)
{
	return arg.vm;
}
