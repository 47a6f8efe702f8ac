/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The installed programs' backend: the kernel's KVM, with no options of its own (backend.h). */
#include "config.h"

#include "backend.h"

const struct option backend_options[] = { {} };
const char backend_usage[] = "";

int backend_option(int c, const char *value)
{
	(void)c;
	(void)value;
	return -1;
}

int backend_get(const struct cpreg_kvm_ops **ret_ops, struct backend **ret, struct cpreg_error *err)
{
	(void)err;
	*ret_ops = NULL;
	*ret = NULL;
	return 0;
}

void backend_put(struct backend *b)
{
	(void)b;
}
