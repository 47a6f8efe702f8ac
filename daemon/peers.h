/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Peer inventories: a directory of other hosts' inventories that cpregd
 * watches (inotify) and judges, one judgement per distinct digest, with the
 * static check and the live trial under this host's own policy.  The
 * answers feed GET /v1/peers, /metrics and the published node facts.
 */
#ifndef CPREGD_PEERS_H
#define CPREGD_PEERS_H

#include <stdbool.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "cpreg.h"

/* Short digest: the first 16 hex digits, as node labels and traits carry it. */
#define PEERS_SHORT_LEN 16

struct peers_env {
	const char *dir;
	struct cpreg_vm_options vm;       /* the site's default VM options for judgements */
	bool trial;
	const char *dev;
	/* This host as the daemon holds it now (NULL before the first probe). */
	struct cpreg_inventory *(*self)(void);
	/* The policy checks use (a new reference, NULL: by this host's QEMU). */
	struct cpreg_policy *(*policy)(void);
	/* Something a publisher shows changed. */
	void (*changed)(void);
	/* A judgement finished (the daemon counts trials). */
	void (*judged)(const char *digest, bool trial_ran, int64_t trial_ms, enum cpreg_result result);
};

int peers_start(struct event_base *base, const struct peers_env *env);
bool peers_enabled(void);
/* This host re-probed: every source is judged again. */
void peers_host_changed(void);
/* The cpreg-peers/1 document (/v1/peers); free() it, NULL when out of memory. */
char *peers_json(void);
void peers_metrics(struct evbuffer *b);
/*
 * The short digests this host accepts VMs from.  A short digest two known
 * sources share is accepted only when both are (a label cannot tell them
 * apart).  Calls cb in ascending order of short digest.
 */
void peers_foreach_accepted(void (*cb)(const char *short_digest, void *arg), void *arg);
/* Judgements still to run (0: the published files are complete). */
unsigned peers_pending(void);
void peers_stop(void);

/* "sha256:0123..." -> "0123456789abcdef" (buf of PEERS_SHORT_LEN + 1). */
void peers_short_digest(const char *digest, char *buf);

#endif
