/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A VM's options from its libvirt domain XML (daemon/domain.c). */
#ifndef CPREG_DOMAIN_H
#define CPREG_DOMAIN_H

#include <stddef.h>

#include "cpreg.h"

/* 0 with *ret filled, or -1 with a message naming the file, line and element in buf. */
int cpreg_domain_vm_options(const char *path, struct cpreg_vm_options *ret, char *buf, size_t len);
/* The same from a domain XML in memory (libvirt's virDomainGetXMLDesc); name labels errors. */
int cpreg_domain_vm_options_mem(const char *xml, size_t len, const char *name, struct cpreg_vm_options *ret, char *buf,
				size_t blen);

/* The namespace of the passport element cpregd keeps in a domain's <metadata>. */
#define CPREG_PASSPORT_NS "urn:cpregd:passport:1"
/*
 * The cpreg-passport/1 text in a domain XML's <metadata> (*ret, to free;
 * NULL when the domain has none); name labels errors.  -1 with the reason
 * (file, line, element) in buf.
 */
int cpreg_domain_passport_get(const char *xml, size_t len, const char *name, char **ret, char *buf, size_t blen);
/* The domain XML with json as its passport (replacing any), everything else as it was; *ret to free. */
int cpreg_domain_passport_set(const char *xml, size_t len, const char *name, const char *json, char **ret, char *buf,
			      size_t blen);

#endif
