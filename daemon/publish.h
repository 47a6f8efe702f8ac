/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Publishing cpregd's answers where placements are decided: a Kubernetes
 * Node Feature Discovery features.d file, a Nova provider config file and a
 * Prometheus textfile-collector file.  Each is written whole to a dot-file
 * beside it and renamed over it, so readers see the old file or the new.
 */
#ifndef CPREGD_PUBLISH_H
#define CPREGD_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/* NFD allows its own namespace and sub-namespaces without -extra-label-ns. */
#define PUBLISH_NFD_PREFIX "cpregd.feature.node.kubernetes.io"

/* What a host says about itself, and the short digests it accepts VMs from. */
struct publish_facts {
	const char *short_digest;   /* NULL: no inventory yet */
	const char *kernel;         /* uname -r */
	const char *qemu_version;
	const char *policy;         /* the QEMU policy this host checks with */
	const char **accepts;       /* short digests */
	size_t n_accepts;
	bool complete;              /* every peer judged */
};

/*
 * Write data to path atomically (temporary dot-file, fsync, rename, fsync
 * of the directory), with this mode: 0644 for what other services read,
 * 0600 for cpregd's own state.
 */
int publish_write_atomic(const char *path, const char *data, size_t len, mode_t mode, char *err, size_t errlen);

/*
 * NFD ignores a features.d file larger than 64 KiB whole, every label in it
 * (MaxFeatureFileSize = 65536 in NFD's source/local): the labels go into as
 * many files as they need, each within the limit.  More than
 * PUBLISH_NFD_MAX_PARTS files' worth of accepts-X labels (some 16,000 with
 * the default prefix) are left out, the last ones in digest order.
 */
#define PUBLISH_NFD_FILE_MAX 65536
#define PUBLISH_NFD_MAX_PARTS 16
/*
 * The NFD files: parts[0] for the file itself (this host's own labels and
 * the first accepts-X), parts[k] for "FILE-k" (more accepts-X), each with
 * the expiry directive and within PUBLISH_NFD_FILE_MAX bytes.  *ret_dropped:
 * accepts-X labels that did not fit in PUBLISH_NFD_MAX_PARTS files.
 * Free each part and the array; -ENOMEM.
 */
int publish_nfd_parts(const struct publish_facts *f, const char *prefix, time_t expires, char ***ret_parts,
		      size_t *ret_n, size_t *ret_dropped);
/* The Nova document text (malloc'd); NULL when out of memory. */
char *publish_nova_text(const struct publish_facts *f);

/* A Prometheus label value, escaped, appended to b. */
struct evbuffer;
void publish_metric_label(struct evbuffer *b, const char *s);

/* Is prefix a DNS subdomain (RFC 1123) that can prefix a Kubernetes label? */
bool publish_prefix_valid(const char *prefix);

#endif
