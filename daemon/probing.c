/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cpregd's probing and persistence: this host's inventory, probed on a
 * worker, kept in the state directory, served until the next good probe;
 * refresh requests and READY=1 answered by the probe that started after
 * they asked (cpregd.h).
 */
#include "config.h"

#include <zlib.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cpregd.h"
#include <sys/queue.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "backend.h"
#include "peers.h"
#include "probe.h"
#include "publish.h"
#include "worker.h"

/* ---- probing and persistence ---- */

/*
 * The last good inventory, for a restart to serve at once, is written by
 * probe_run() through publish_write_atomic(): a fresh temporary name from
 * mkostemp (never a fixed one a planted symlink could redirect), fsync,
 * rename, fsync of the directory; a failure is kept for health and metrics.
 */
/*
 * The inventory gzip-encoded, for a client that accepts it (a ConfigMap
 * filler, a fleet collector over a slow link): about a tenth of the bytes,
 * compressed once per inventory.  NULL when compressing fails: the plain
 * answer then serves everyone.
 */
static struct http_blob *gzip_blob(const char *json, const char *etag)
{
	z_stream z = { 0 };
	size_t len = strlen(json);
	unsigned char *out;
	struct http_blob *b = NULL;
	char headers[CPREG_DIGEST_LEN + 128];

	if (deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return NULL;
	out = malloc(deflateBound(&z, len));
	if (out) {
		z.next_in = (unsigned char *)json;
		z.avail_in = (unsigned)len;
		z.next_out = out;
		z.avail_out = (unsigned)deflateBound(&z, len);
		if (deflate(&z, Z_FINISH) == Z_STREAM_END) {
			snprintf(headers, sizeof(headers), "%sContent-Encoding: gzip\r\n", etag);
			b = http_blob_new(200, "application/json; charset=utf-8", headers, out, z.total_out);
		}
	}
	deflateEnd(&z);
	free(out);
	return b;
}

static void set_inventory(struct cpreg_inventory *inv, char *json, bool from_disk)
{
	char etag[CPREG_DIGEST_LEN + 64];

	cpreg_inventory_unref(S.inv);
	free(S.json);
	S.inv = inv;
	S.json = json;
	S.from_disk = from_disk;
	S.gen++;
	/* VMs are born from what this kernel says now, never from a persisted inventory of an earlier boot. */
	if (!from_disk)
		libvirt_inventory(inv);
	cpreg_inventory_digest(inv, S.digest, sizeof(S.digest));
	/* Served by reference to every client until the next probe: no copy, no formatting per request. */
	http_blob_unref(S.inv_blob);
	http_blob_unref(S.inv_gz_blob);
	snprintf(etag, sizeof(etag), "ETag: \"%s\"\r\nVary: Accept-Encoding\r\n", S.digest);
	S.inv_blob = http_blob_new(200, "application/json; charset=utf-8", etag, json, strlen(json));
	S.inv_gz_blob = gzip_blob(json, etag);
}

static void load_state(void)
{
	char path[4096];
	struct cpreg_inventory *inv = NULL;
	struct cpreg_error err = { 0 };
	char *json = NULL;

	struct stat st;

	snprintf(path, sizeof(path), "%s/inventory.json", opt.state_dir);
	if (lstat(path, &st) != 0)
		return;
	/* Only a regular file of our own: never a FIFO (a hang) or a symlink someone planted. */
	if (!S_ISREG(st.st_mode)) {
		log_warn("ignoring persisted inventory %s: not a regular file", path);
		return;
	}
	if (cpreg_inventory_load(path, &inv, &err) < 0) {
		log_warn("ignoring persisted inventory %s: %s", err.where, err.message);
		return;
	}
	if (cpreg_inventory_to_json(inv, &json) < 0) {
		cpreg_inventory_unref(inv);
		return;
	}
	set_inventory(inv, json, true);
	log_info("serving persisted inventory from %s (probed %s, digest %s)", path,
		 cpreg_inventory_get_text(inv, CPREG_TEXT_PROBE_TIME) ?: "at an unknown time", S.digest);
}

/*
 * Probing runs on a worker: the probe itself, QEMU's --version (a child
 * process) and the persist, so the loop never waits on the kernel, a child
 * or the disk.  One probe at a time; a probe asked for while one runs
 * runs after it, and whoever asked (a refresh request, SIGHUP's READY=1,
 * start-up's READY=1) is answered by the probe that started after asking.
 */
struct probe_job {
	struct worker_job job;
	char why[32];
	/* out */
	int r;
	struct cpreg_error err;
	struct cpreg_inventory *inv;
	char *json;
	int64_t ms;
	int persist_r;
	char persist_error[512];
};

TAILQ_HEAD(reqq, pending_req);
struct pending_req {
	struct http_request *req;
	TAILQ_ENTRY(pending_req) link;
};

static struct {
	bool running;
	char again[32];                 /* a probe was asked for while one ran */
	struct reqq waiting, in_probe;  /* refresh requests */
	struct reqq first;              /* requests held until the first probe of this run ends */
	unsigned notify_waiting, notify_in_probe;   /* READY=1 owed (start-up, SIGHUP) */
} PR = { .waiting = TAILQ_HEAD_INITIALIZER(PR.waiting), .in_probe = TAILQ_HEAD_INITIALIZER(PR.in_probe),
	 .first = TAILQ_HEAD_INITIALIZER(PR.first) };

/* What the HTTP API answers with once a probe ends (api.c sets them: probing calls nothing of it). */
static struct probing_hooks hooks;

static void probe_run(struct worker_job *j)
{
	struct probe_job *pj = (struct probe_job *)j;
	struct cpreg_probe_opts po = { .dev = opt.dev, .disable = opt.disable, .qemu = opt.qemu };
	struct backend *b = NULL;
	struct timespec t0, t1;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = backend_get(&po.ops, &b, &pj->err);
	if (r >= 0)
		r = cpreg_probe(&po, &pj->inv, &pj->err);
	backend_put(b);
	if (r >= 0 && cpreg_inventory_to_json(pj->inv, &pj->json) < 0) {
		r = -ENOMEM;
		snprintf(pj->err.where, sizeof(pj->err.where), "probe");
		snprintf(pj->err.message, sizeof(pj->err.message), "out of memory");
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pj->ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	if (r >= 0 && opt.state_dir && *opt.state_dir) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/inventory.json", opt.state_dir);
		pj->persist_r = publish_write_atomic(path, pj->json, strlen(pj->json), 0600, pj->persist_error,
						     sizeof(pj->persist_error));
	}
	pj->r = r;
}


static void probe_done(struct worker_job *j)
{
	struct probe_job *pj = (struct probe_job *)j;
	struct pending_req *p;

	PR.running = false;
	if (j->cancelled)
		goto out;
	S.gen++;
	S.last_probe_ms = pj->ms;
	if (pj->r < 0) {
		S.probes_failed++;
		S.degraded = true;
		snprintf(S.reason, sizeof(S.reason), "%s probe failed at %s: %s%s", pj->why, pj->err.where, pj->err.message,
			 S.inv ? "; serving the last good inventory" : "; no inventory to serve");
		log_full(LOG_ERR, &(struct log_fields){ .msgid = MSGID_PROBE_FAILED, .uid = -1 }, "%s", S.reason);
		sd_notifyf(0, "STATUS=Degraded: %s", S.reason);
	} else {
		S.probes_ok++;
		S.degraded = false;
		S.reason[0] = '\0';
		set_inventory(pj->inv, pj->json, false);
		pj->inv = NULL;
		pj->json = NULL;
		/* The persist's outcome, kept for health and metrics, not only logged. */
		if (pj->persist_r < 0) {
			S.persist_failures++;
			snprintf(S.persist_error, sizeof(S.persist_error), "%s", pj->persist_error);
			log_full(LOG_WARNING, &(struct log_fields){ .msgid = MSGID_PERSIST_FAILED, .digest = S.digest, .uid = -1 },
				 "cannot persist the inventory in %s: %s", opt.state_dir, S.persist_error);
		} else {
			S.persist_error[0] = '\0';
		}
		log_full(LOG_INFO, &(struct log_fields){ .msgid = MSGID_PROBE_DONE, .digest = S.digest, .uid = -1 },
			 "%s probe: %zu registers (%zu migrated), digest %s, QEMU %s, %" PRId64 " ms", pj->why,
			 cpreg_inventory_count(S.inv), cpreg_inventory_migration_count(S.inv), S.digest,
			 cpreg_inventory_get_text(S.inv, CPREG_TEXT_QEMU_VERSION) ?: "not found", S.last_probe_ms);
		sd_notifyf(0, "STATUS=Serving %zu registers, digest %.23s", cpreg_inventory_count(S.inv), S.digest);
		peers_host_changed();
	}
	schedule_publish();
	while ((p = TAILQ_FIRST(&PR.in_probe))) {
		TAILQ_REMOVE(&PR.in_probe, p, link);
		hooks.refresh_answer(p->req);
		free(p);
	}
	if (PR.notify_in_probe) {
		sd_notify(0, "READY=1");
		PR.notify_in_probe = 0;
	}
	/* The requests that came before the first answer (the one that socket-activated us, say). */
	while ((p = TAILQ_FIRST(&PR.first))) {
		TAILQ_REMOVE(&PR.first, p, link);
		hooks.held(p->req);
		free(p);
	}
out:
	cpreg_inventory_unref(pj->inv);
	free(pj->json);
	free(pj);
	if (PR.again[0] && !S.quitting) {
		char why[32];

		snprintf(why, sizeof(why), "%s", PR.again);
		PR.again[0] = '\0';
		do_probe(why);
	}
}

int do_probe(const char *why)
{
	struct probe_job *pj;

	if (PR.running) {
		snprintf(PR.again, sizeof(PR.again), "%s", why);
		return 0;
	}
	pj = calloc(1, sizeof(*pj));
	if (!pj)
		return -ENOMEM;
	snprintf(pj->why, sizeof(pj->why), "%s", why);
	pj->job.run = probe_run;
	pj->job.done = probe_done;
	/* Who asked before this probe started is answered when it ends. */
	TAILQ_CONCAT(&PR.in_probe, &PR.waiting, link);
	PR.notify_in_probe += PR.notify_waiting;
	PR.notify_waiting = 0;
	PR.running = true;
	S.last_probe_at = time(NULL);
	worker_submit(&pj->job);
	return 0;
}

void probing_set_hooks(const struct probing_hooks *h)
{
	hooks = *h;
}

int probing_refresh(struct http_request *req)
{
	struct pending_req *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->req = req;
	TAILQ_INSERT_TAIL(&PR.waiting, p, link);
	return do_probe("refresh");
}

static struct event *start;

static void on_start(evutil_socket_t fd, short ev, void *arg)
{
	PR.notify_waiting++;
	do_probe("start-up");
}

void probing_notify_next(void)
{
	PR.notify_waiting++;
}

bool probing_first_done(struct http_request *req)
{
	struct pending_req *p;

	if (S.probes_ok + S.probes_failed || S.quitting || !(p = calloc(1, sizeof(*p))))
		return true;
	p->req = req;
	TAILQ_INSERT_TAIL(&PR.first, p, link);
	return false;
}

int probing_init(void)
{
	load_state();
	/* The first probe runs from the loop: the persisted inventory is already served. */
	start = evtimer_new(S.base, on_start, NULL);
	if (start)
		event_active(start, EV_TIMEOUT, 0);
	return 0;
}

void probing_fini(void)
{
	/* Requests still waiting for a probe: their connections go with the HTTP server. */
	TAILQ_CONCAT(&PR.waiting, &PR.in_probe, link);
	TAILQ_CONCAT(&PR.waiting, &PR.first, link);
	while (!TAILQ_EMPTY(&PR.waiting)) {
		struct pending_req *p = TAILQ_FIRST(&PR.waiting);

		TAILQ_REMOVE(&PR.waiting, p, link);
		free(p);
	}
	if (start)
		event_free(start);
	cpreg_inventory_unref(S.inv);
	free(S.json);
	S.inv = NULL;
	S.json = NULL;
}
