/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cpregd's workers: threads that parse, check and run trials off the event
 * loop, so health, metrics and the inventory stay answered while a big
 * body is read or a scratch vCPU is tried.  Results come back to the loop
 * through an eventfd; only the loop touches libevent and the daemon's state.
 */
#ifndef CPREGD_WORKER_H
#define CPREGD_WORKER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "cpreg.h"

struct worker_job {
	void (*run)(struct worker_job *j);   /* on a worker thread */
	void (*done)(struct worker_job *j);  /* back in the loop; frees the job */
	bool cancelled;                      /* set when the daemon stops before run */
	TAILQ_ENTRY(worker_job) link;
};

int worker_start(struct event_base *base, int threads);
/* Queue a job; its done() runs in the loop once run() returned. */
void worker_submit(struct worker_job *j);
/* Jobs queued or running. */
unsigned worker_busy(void);
/* Finish the running jobs, cancel the queued ones (done() with cancelled set), join. */
void worker_stop(void);

/*
 * A migration check, the daemon's one kind of work: the source (as JSON
 * text to parse, or parsed), this host's inventory, the policy and the VM's
 * options, and whether to run the live trial.
 */
struct judge {
	struct worker_job job;
	/* in */
	char *text;                        /* the source's JSON, parsed on the worker, or NULL */
	size_t len;
	struct cpreg_inventory *src;       /* or the parsed source (a reference) */
	struct cpreg_inventory *dst;       /* a reference */
	struct cpreg_policy *policy;       /* a reference, NULL: by the destination's QEMU */
	struct cpreg_vm_options vm;
	bool trial;
	const char *dev;                   /* where the trial's scratch vCPU comes from (NULL: /dev/kvm) */
	bool want_json;
	/* How fresh dst was (the daemon's own inventory), said in the verdict; NULL: not said. */
	const char *dst_source;
	int64_t dst_age;
	char dst_warning[1024];
	/* out */
	int r;                             /* < 0: err says what; -EBADMSG: the source is invalid */
	struct cpreg_error err;
	struct cpreg_verdict *verdict;
	char src_digest[CPREG_DIGEST_LEN]; /* the source's, once parsed */
	char *json;                        /* the verdict's JSON when want_json */
	bool trial_ran;
	int64_t trial_ms;
	char trial_failed[600];            /* why the trial could not run, or "" */
	/*
	 * A VM passport as the source: its options decide (none may come with
	 * it), the trial reads the vCPU back (after), and a compatible verdict
	 * carries the passport after this hop.
	 */
	struct cpreg_passport *passport;
	struct cpreg_inventory *after;
};

void judge_run(struct worker_job *j);
/*
 * A static check (no trial) of a source already read: a cache lookup, the
 * check and the verdict's JSON, tens of microseconds.  Run where it is
 * asked, it spares the two thread wake-ups of a worker's round trip, which
 * were a fifth of a check's CPU.
 */
bool judge_is_quick(const struct judge *jd);
/* The parsed-source cache's hits and misses (judge_run: a source already read is not read again). */
void worker_source_cache_stats(uint64_t *hits, uint64_t *misses);
/* Release what a judge holds (not the struct itself). */
void judge_clear(struct judge *jd);

#endif
