/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A VM's options from its libvirt domain XML (daemon/domain.c). */
#ifndef CPREG_DOMAIN_H
#define CPREG_DOMAIN_H

#include <stddef.h>

#include "cpreg.h"

/* 0 with *ret filled, or -1 with a message naming the file, line and element in buf. */
int cpreg_domain_vm_options(const char *path, struct cpreg_vm_options *ret, char *buf, size_t len);

#endif
