/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Worker threads and the migration check they run: see worker.h. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "cpreg-internal.h"
#include "backend.h"
#include "probe.h"
#include "worker.h"

TAILQ_HEAD(jobq, worker_job);

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct jobq todo, finished;
	pthread_t *threads;
	int n_threads;
	unsigned busy;
	bool stopping;
	int efd;
	struct event *ev;
} W = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER, .efd = -1 };

static void src_cache_clear(void);

/* Scratch VMs one at a time: a trial is cheap, but two at once only slow each other on a small host. */
static pthread_mutex_t trial_lock = PTHREAD_MUTEX_INITIALIZER;

static void *worker_main(void *arg)
{
	pthread_mutex_lock(&W.lock);
	for (;;) {
		struct worker_job *j;
		uint64_t one = 1;

		while (!W.stopping && TAILQ_EMPTY(&W.todo))
			pthread_cond_wait(&W.cond, &W.lock);
		if (W.stopping)
			break;
		j = TAILQ_FIRST(&W.todo);
		TAILQ_REMOVE(&W.todo, j, link);
		pthread_mutex_unlock(&W.lock);
		j->run(j);
		pthread_mutex_lock(&W.lock);
		/*
		 * The loop is woken for the first finished job only: it takes all
		 * that are there when it drains (under the lock, so none is
		 * missed), and under load one wake-up serves many checks.
		 */
		if (TAILQ_EMPTY(&W.finished) && write(W.efd, &one, sizeof(one)) < 0) {
			/* The counter cannot overflow at our rates; the loop drains it. */
		}
		TAILQ_INSERT_TAIL(&W.finished, j, link);
	}
	pthread_mutex_unlock(&W.lock);
	return NULL;
}

static void drain(evutil_socket_t fd, short ev, void *arg)
{
	struct jobq done = TAILQ_HEAD_INITIALIZER(done);
	struct worker_job *j;
	uint64_t n;

	if (read(W.efd, &n, sizeof(n)) < 0) {
		/* EAGAIN: another drain took it; the queue says what is done. */
	}
	pthread_mutex_lock(&W.lock);
	while ((j = TAILQ_FIRST(&W.finished))) {
		TAILQ_REMOVE(&W.finished, j, link);
		TAILQ_INSERT_TAIL(&done, j, link);
		W.busy--;
	}
	pthread_mutex_unlock(&W.lock);
	while ((j = TAILQ_FIRST(&done))) {
		TAILQ_REMOVE(&done, j, link);
		j->done(j);
	}
}

int worker_start(struct event_base *base, int threads)
{
	TAILQ_INIT(&W.todo);
	TAILQ_INIT(&W.finished);
	W.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (W.efd < 0)
		return -errno;
	W.ev = event_new(base, W.efd, EV_READ | EV_PERSIST, drain, NULL);
	W.threads = calloc(threads, sizeof(*W.threads));
	if (!W.ev || !W.threads || event_add(W.ev, NULL) < 0)
		return -ENOMEM;
	for (int i = 0; i < threads; i++) {
		int r = pthread_create(&W.threads[i], NULL, worker_main, NULL);

		if (r)
			return -r;
		W.n_threads++;
	}
	return 0;
}

void worker_submit(struct worker_job *j)
{
	pthread_mutex_lock(&W.lock);
	j->cancelled = false;
	TAILQ_INSERT_TAIL(&W.todo, j, link);
	W.busy++;
	pthread_cond_signal(&W.cond);
	pthread_mutex_unlock(&W.lock);
}

unsigned worker_busy(void)
{
	unsigned n;

	pthread_mutex_lock(&W.lock);
	n = W.busy;
	pthread_mutex_unlock(&W.lock);
	return n;
}

void worker_stop(void)
{
	struct worker_job *j;

	pthread_mutex_lock(&W.lock);
	W.stopping = true;
	pthread_cond_broadcast(&W.cond);
	pthread_mutex_unlock(&W.lock);
	for (int i = 0; i < W.n_threads; i++)
		pthread_join(W.threads[i], NULL);
	/* Everything left is ours now: finished ones complete, queued ones are cancelled. */
	drain(W.efd, EV_READ, NULL);
	while ((j = TAILQ_FIRST(&W.todo))) {
		TAILQ_REMOVE(&W.todo, j, link);
		W.busy--;
		j->cancelled = true;
		j->done(j);
	}
	src_cache_clear();
	if (W.ev)
		event_free(W.ev);
	if (W.efd >= 0)
		close(W.efd);
	free(W.threads);
	W.ev = NULL;
	W.efd = -1;
	W.threads = NULL;
	W.n_threads = 0;
}

/* ---- the check ---- */

static int fail(struct judge *jd, int r, const char *where, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(struct judge *jd, int r, const char *where, const char *fmt, ...)
{
	va_list ap;

	snprintf(jd->err.where, sizeof(jd->err.where), "%s", where);
	va_start(ap, fmt);
	vsnprintf(jd->err.message, sizeof(jd->err.message), fmt, ap);
	va_end(ap);
	jd->err.code = r;
	return r;
}

/*
 * The pipeline's trial (cpreg_trial_fn): the backend's KVM, one scratch VM
 * at a time, and what it said kept for the daemon's counters and log.
 */
static int locked_trial(void *ctx, const struct cpreg_inventory *src, uint32_t vm_disable, struct cpreg_verdict *v)
{
	struct judge *jd = ctx;
	struct cpreg_trial_env env = { .dev = jd->dev, .read_back = jd->passport != NULL };
	struct backend *b = NULL;
	struct cpreg_error err = { 0 };
	int r;

	pthread_mutex_lock(&trial_lock);
	r = backend_get(&env.ops, &b, &err);
	if (r >= 0)
		r = cpreg_trial_judge(&env, src, vm_disable, v);
	backend_put(b);
	pthread_mutex_unlock(&trial_lock);
	if (r < 0 && !env.failed[0]) {
		snprintf(jd->trial_failed, sizeof(jd->trial_failed),
			 "the trial could not run: %s: %s; the verdict is the static check alone",
			 err.where[0] ? err.where : "trial", err.message[0] ? err.message : strerror(-r));
		return cpreg_verdict_trial_failed(v, jd->trial_failed);
	}
	jd->trial_ran = env.ran;
	jd->trial_ms = env.ms;
	cpreg_inventory_unref(jd->after);
	jd->after = env.after;
	snprintf(jd->trial_failed, sizeof(jd->trial_failed), "%s", env.failed);
	return r;
}

/*
 * Sources already parsed, by their exact bytes.  An orchestrator placing
 * VMs asks each candidate destination about the same few source hosts over
 * and over; reading an inventory is most of a static check's cost, and the
 * same bytes always read the same.  A hit is a length match and a memcmp
 * (a microsecond or two for 30 kB), never a hash that could collide.  The
 * inventories are shared, so a check that adjusts its source copies it.
 */
#define SRC_CACHE_SLOTS 8
#define SRC_CACHE_MAX_BYTES (256 * 1024)

static struct {
	pthread_mutex_t lock;
	struct { char *text; size_t len; struct cpreg_inventory *inv; uint64_t used; } slot[SRC_CACHE_SLOTS];
	uint64_t clock, hits, misses;
} SC = { .lock = PTHREAD_MUTEX_INITIALIZER };

static struct cpreg_inventory *src_cache_get(const char *text, size_t len)
{
	struct cpreg_inventory *inv = NULL;

	pthread_mutex_lock(&SC.lock);
	for (size_t i = 0; i < SRC_CACHE_SLOTS && !inv; i++)
		if (SC.slot[i].inv && SC.slot[i].len == len && memcmp(SC.slot[i].text, text, len) == 0) {
			inv = cpreg_inventory_ref(SC.slot[i].inv);
			SC.slot[i].used = ++SC.clock;
		}
	if (inv)
		SC.hits++;
	else
		SC.misses++;
	pthread_mutex_unlock(&SC.lock);
	return inv;
}

bool judge_is_quick(const struct judge *jd)
{
	bool hit = false;

	if (jd->trial || !jd->text)
		return false;
	pthread_mutex_lock(&SC.lock);
	for (size_t i = 0; i < SRC_CACHE_SLOTS && !hit; i++)
		hit = SC.slot[i].inv && SC.slot[i].len == jd->len && memcmp(SC.slot[i].text, jd->text, jd->len) == 0;
	pthread_mutex_unlock(&SC.lock);
	return hit;
}

/* Keep a parsed source with its text (taken from *text), in the least recently used slot. */
static void src_cache_put(char **text, size_t len, struct cpreg_inventory *inv)
{
	size_t lru = 0;

	if (len > SRC_CACHE_MAX_BYTES)
		return;
	pthread_mutex_lock(&SC.lock);
	for (size_t i = 1; i < SRC_CACHE_SLOTS; i++)
		if (SC.slot[i].used < SC.slot[lru].used)
			lru = i;
	free(SC.slot[lru].text);
	cpreg_inventory_unref(SC.slot[lru].inv);
	SC.slot[lru].text = *text;
	SC.slot[lru].len = len;
	SC.slot[lru].inv = cpreg_inventory_ref(inv);
	SC.slot[lru].used = ++SC.clock;
	*text = NULL;
	pthread_mutex_unlock(&SC.lock);
}

void worker_source_cache_stats(uint64_t *hits, uint64_t *misses)
{
	pthread_mutex_lock(&SC.lock);
	*hits = SC.hits;
	*misses = SC.misses;
	pthread_mutex_unlock(&SC.lock);
}

static void src_cache_clear(void)
{
	pthread_mutex_lock(&SC.lock);
	for (size_t i = 0; i < SRC_CACHE_SLOTS; i++) {
		free(SC.slot[i].text);
		cpreg_inventory_unref(SC.slot[i].inv);
		SC.slot[i].text = NULL;
		SC.slot[i].inv = NULL;
		SC.slot[i].used = 0;
	}
	pthread_mutex_unlock(&SC.lock);
}

/*
 * The source: from the parsed-source cache, parsed now (an inventory is
 * then cached; a passport is made into the source inventory for this
 * destination, its options the VM's), or given.  -EBADMSG: jd->err says
 * what is wrong with the body.
 */
static int judge_source(struct judge *jd, struct cpreg_inventory **ret)
{
	struct cpreg_inventory *src = NULL;
	int r;

	if (!jd->text) {
		*ret = cpreg_inventory_ref(jd->src);
		return 0;
	}
	if ((*ret = src_cache_get(jd->text, jd->len)))
		return 0;
	r = cpreg_source_from_json(jd->text, jd->len, &src, &jd->passport, &jd->err);
	if (r < 0)
		return r == -ENOMEM ? r : -EBADMSG;
	if (src) {
		src_cache_put(&jd->text, jd->len, src);
		*ret = src;
		return 0;
	}
	if (cpreg_vm_options_any(&jd->vm)) {
		char names[96];

		cpreg_vm_option_names(false, names, sizeof(names));
		return fail(jd, -EBADMSG, "query", "a VM passport carries the VM's options: give none of %s with it",
			    names);
	}
	cpreg_passport_options(jd->passport, &jd->vm);
	if ((r = cpreg_passport_source(jd->passport, jd->dst, ret)) < 0)
		return fail(jd, r, "check", "%s", strerror(-r));
	return 0;
}

/* The VM's passport after this hop, on a compatible verdict: as the trial read the vCPU back, or by the kernel model. */
static int judge_passport_after(struct judge *jd)
{
	struct cpreg_passport *after = NULL;
	char t[32];
	int r;

	if (!jd->passport || cpreg_verdict_result(jd->verdict) != CPREG_COMPATIBLE)
		return 0;
	cpreg_utc_now(t, sizeof(t));
	r = cpreg_passport_hop(jd->passport, jd->dst, jd->after, t, &after);
	if (r >= 0)
		r = cpreg_verdict_set_passport_after(jd->verdict, after);
	cpreg_passport_unref(after);
	return r;
}

void judge_run(struct worker_job *j)
{
	struct judge *jd = (struct judge *)j;
	struct cpreg_inventory *src = NULL;
	int r;

	if ((r = judge_source(jd, &src)) < 0) {
		jd->r = r;
		return;
	}
	cpreg_inventory_digest(src, jd->src_digest, sizeof(jd->src_digest));
	{
		const struct cpreg_judge_args a = { .source = src, .destination = jd->dst, .policy = jd->policy,
						    .vm = &jd->vm, .trial = jd->trial ? locked_trial : NULL,
						    .trial_ctx = jd, .source_is_vm = jd->passport != NULL };

		r = cpreg_judge(&a, &jd->verdict);
	}
	cpreg_inventory_unref(src);
	if (r == -ENOENT) {
		jd->r = fail(jd, -EBADMSG, cpreg_vm_option_at(CPREG_VMOPT_PSCI_VERSION)->key,
			     "the source inventory lists no PSCI_VERSION to pin");
		return;
	}
	if (r < 0 || (r = judge_passport_after(jd)) < 0) {
		jd->r = fail(jd, r, "check", "%s", strerror(-r));
		return;
	}
	if (jd->dst_source &&
	    cpreg_verdict_set_destination_state(jd->verdict, jd->dst_source, jd->dst_age,
						jd->dst_warning[0] ? jd->dst_warning : NULL) < 0) {
		jd->r = fail(jd, -ENOMEM, "check", "out of memory");
		return;
	}
	if (jd->want_json && cpreg_verdict_to_json(jd->verdict, &jd->json) < 0) {
		jd->r = fail(jd, -ENOMEM, "check", "out of memory");
		return;
	}
	jd->r = 0;
}

void judge_clear(struct judge *jd)
{
	free(jd->text);
	free(jd->json);
	cpreg_inventory_unref(jd->src);
	cpreg_inventory_unref(jd->dst);
	cpreg_policy_unref(jd->policy);
	cpreg_verdict_unref(jd->verdict);
	cpreg_passport_unref(jd->passport);
	cpreg_inventory_unref(jd->after);
	jd->passport = NULL;
	jd->after = NULL;
	jd->text = jd->json = NULL;
	jd->src = jd->dst = NULL;
	jd->policy = NULL;
	jd->verdict = NULL;
}
