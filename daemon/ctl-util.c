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
	struct cpreg_passport *pp = NULL;
	struct cpreg_error err = { 0 };

	if (cpreg_source_load(path, ret, &pp, &err) < 0)
		return fail("%s: %s", err.where, err.message);
	if (pp) {
		cpreg_passport_unref(pp);
		return fail("%s: a VM passport (%s), where a host inventory is needed: a passport is a VM, it can be "
			    "a source but never a destination or a host of a fleet", path, CPREG_PASSPORT_SCHEMA);
	}
	return 0;
}

int load_source(const char *path, const struct cpreg_inventory *dst, struct source *ret)
{
	struct cpreg_error err = { 0 };
	int r;

	memset(ret, 0, sizeof(*ret));
	if (cpreg_source_load(path, &ret->inv, &ret->passport, &err) < 0)
		return fail("%s: %s", err.where, err.message);
	ret->vm = arg.vm;
	if (!ret->passport)
		return 0;
	/* The passport says the VM's options; a second opinion from the command line would judge another VM. */
	if (cpreg_vm_options_any(&arg.vm)) {
		source_clear(ret);
		return fail("%s: a VM passport carries the VM's options; give no --disable, --sve-max-vq, "
			    "--psci-version or --domain with it", path);
	}
	cpreg_passport_options(ret->passport, &ret->vm);
	r = cpreg_passport_source(ret->passport, dst, &ret->inv);
	if (r < 0) {
		source_clear(ret);
		return fail("%s: %s", path, strerror(-r));
	}
	return 0;
}

void source_clear(struct source *s)
{
	cpreg_inventory_unref(s->inv);
	cpreg_passport_unref(s->passport);
	memset(s, 0, sizeof(*s));
}

int judge_source(const struct source *s, const struct cpreg_inventory *dst, const struct cpreg_policy *policy,
		 struct cpreg_verdict **ret)
{
	const struct cpreg_judge_args a = { .source = s->inv, .destination = dst, .policy = policy, .vm = &s->vm,
					    .source_is_vm = s->passport != NULL };

	return cpreg_judge(&a, ret);
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
