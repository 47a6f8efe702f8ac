/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cpregd's rooms and what they share.  One libevent loop owns the daemon's
 * state; workers (worker.h) only compute.  The modules come up in the
 * order of cpregd.c's table and go down in reverse:
 *   log.c       the journal, or stderr
 *   cpregd.c    options, the listening socket, the loop, signals, watchdog
 *   api.c       the HTTP endpoints (docs/api.yaml), checks handed to workers
 *   probing.c   this host's inventory: probes on a worker, persistence, refresh
 *   metrics.c   the Prometheus text
 *   outputs.c   the published files (NFD, Nova, textfile) and the peers' callbacks
 *   peers.c     the other hosts' inventories judged here (--peers)
 */
#ifndef CPREGD_H
#define CPREGD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <syslog.h>
#include <time.h>

#include <event2/event.h>

#include "cpreg.h"
#include "http.h"
#include "log.h"
#include "paths.h"

/* The HTTP API version, in an API-Version header on every answer. */
#define CPREGD_API_VERSION "1"

/* The command line (cpregd(8)). */
struct cpregd_options {
	const char *socket_path;
	const char *state_dir;
	const char *dev;
	const char *qemu;
	const char *policy_file;
	uint32_t disable;
	long max_body;
	long max_header;
	int timeout, idle_timeout;
	int max_conns, max_per_uid;
	int workers;
	const char *peers_dir;
	struct cpreg_vm_options peer_vm;
	bool peer_trial;
	const char *nfd_file, *nfd_prefix, *nova_file, *textfile;
	int nfd_expiry, publish_interval;
	const char *libvirt_uri;       /* --libvirt: stamp the passports of the VMs libvirt starts */
};
extern struct cpregd_options opt;

enum endpoint { EP_INVENTORY, EP_CHECK, EP_HEALTH, EP_METRICS, EP_REFRESH, EP_PING, EP_VERSION, EP_PEERS, EP_PASSPORT,
		EP_OTHER, _EP_MAX };
extern const char *const ep_names[];

/* The published files, each switched on by its option. */
enum output { OUT_NFD, OUT_NOVA, OUT_TEXTFILE, _OUT_MAX };
extern const char *const out_names[];

/* The daemon's state: touched by the loop only. */
struct cpregd_state {
	struct event_base *base;
	struct http_server *http;
	struct http_blob *inv_blob;    /* GET /v1/inventory's answer, built once per inventory */
	struct http_blob *inv_gz_blob; /* the same gzip-encoded (Accept-Encoding: gzip), or NULL */
	struct http_blob *health_blob; /* GET /v1/health's, rebuilt when a second or the state changes */
	time_t health_at;
	uint64_t health_gen, gen;      /* gen: bumped whenever what health says may change */
	struct cpreg_inventory *inv;   /* last good inventory, or NULL */
	char digest[CPREG_DIGEST_LEN];
	char *json;                    /* its JSON form, served as is */
	bool from_disk;                /* served from the state dir, not yet re-probed */
	bool degraded;
	char reason[1024];
	struct cpreg_policy *site_policy;
	time_t started;
	uint64_t probes_ok, probes_failed;
	int64_t last_probe_ms;
	time_t last_probe_at;          /* last attempt */
	struct { int code; uint64_t n; } requests[_EP_MAX][12];
	uint64_t checks[3];            /* by cpreg_result */
	uint64_t trials;
	int64_t trial_ms_total;
	bool quitting;
	size_t check_bytes;            /* the bodies of the checks queued or running */
	struct event *publish_ev, *publish_timer;
	char persist_error[512];       /* the last persist failed: why */
	uint64_t persist_failures;
	struct {
		bool ok;
		uint64_t writes, failures;
		char error[512];
		char *last;     /* what was written last (NFD and Nova: rewritten only on change) */
	} out[_OUT_MAX];
	size_t nfd_files;              /* the NFD labels' files (NFD reads none over 64 KiB) */
	size_t nfd_dropped;            /* accepts- labels left out: more than they all hold */
};
extern struct cpregd_state S;

/* ---- api.c ---- */
void on_request(struct http_request *req, void *arg);
void count_request(enum endpoint ep, int code);
void reply_error(struct http_request *req, enum endpoint ep, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The health document (cpreg health schema), and the HTTP status it goes with. */
char *health_text(int *ret_code);
/* Before probing: the hooks that answer once a probe ends. */
int api_init(void);
/* The body of the errors the HTTP layer answers itself: the API's error document. */
size_t error_body(int code, const char *message, char *buf, size_t len);

/* ---- libvirt.c (--libvirt) ---- */
struct evbuffer;
int libvirt_init(void);
void libvirt_fini(void);
/* The loop's newly probed inventory, for the passports of VMs born from now on. */
void libvirt_inventory(struct cpreg_inventory *inv);
void libvirt_metrics(struct evbuffer *b);

/* ---- probing.c ---- */
int probing_init(void);
void probing_fini(void);
/* Probe now, or after the running probe; why: "start-up", "reload", "refresh". */
int do_probe(const char *why);
/* A READY=1 is owed to systemd when the next probe to start ends (start-up, SIGHUP). */
void probing_notify_next(void);
/* Until this run's first probe has answered, requests on the inventory wait for it: false when req was held. */
bool probing_first_done(struct http_request *req);
/* Queue a refresh request and probe; hooks.refresh_answer answers it when that probe ends. */
int probing_refresh(struct http_request *req);
struct probing_hooks {
	void (*refresh_answer)(struct http_request *req);  /* a refresh that waited for the probe */
	void (*held)(struct http_request *req);            /* a request held until the first probe */
};
void probing_set_hooks(const struct probing_hooks *h);

/* ---- metrics.c ---- */
struct evbuffer;
/* The metrics (Prometheus text); for_file: for the textfile, which leaves out what goes stale (uptime). */
void metrics_build(struct evbuffer *b, bool for_file);

/* ---- outputs.c ---- */
int outputs_init(void);
void outputs_fini(void);
/* Rewrite the published files once this loop turn is over (however many changes came in it). */
void schedule_publish(void);
/* What peers.c asks of the daemon (peers_env). */
struct cpreg_inventory *peers_self(void);
struct cpreg_policy *peers_policy(void);
void peers_judged(const char *digest, bool trial_ran, int64_t trial_ms, enum cpreg_result result);

/* The age of the inventory served, from its probe time; -1 when unknown (metrics and health say it). */
static inline int64_t inventory_age(void)
{
	const char *t = S.inv ? cpreg_inventory_get_text(S.inv, CPREG_TEXT_PROBE_TIME) : NULL;
	struct tm tm = { 0 };

	if (!t || !strptime(t, "%Y-%m-%dT%H:%M:%SZ", &tm))
		return -1;
	return (int64_t)(time(NULL) - timegm(&tm));
}

#endif
