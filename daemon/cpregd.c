/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cpregd: probes this host's arm64 KVM cpreg inventory and serves it, and
 * migration checks against it, over HTTP/1.1 on a UNIX stream socket.
 *
 * One libevent loop owns everything: the socket (from systemd socket
 * activation or bound here), signals, the watchdog timer.  Probes run in
 * the loop: on real hardware they take milliseconds.  Bad input never
 * stops the daemon; a failed re-probe keeps the last good inventory and
 * marks health degraded.
 */
#include "config.h"

/* The HTTP API version, in an API-Version header on every answer. */
#define CPREGD_API_VERSION "1"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/keyvalq_struct.h>
#include <json.h>
#include <syslog.h>
#include <sys/uio.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

#include "cpreg.h"
#include "backend.h"
#include "http.h"
#include "peers.h"
#include "probe.h"
#include "publish.h"
#include "worker.h"

#define DEFAULT_SOCKET "/run/cpregd/cpregd.sock"
#define DEFAULT_STATE_DIR "/var/lib/cpregd"

static struct {
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
} opt = {
	.workers = 2,
	.peer_trial = true,
	.nfd_prefix = PUBLISH_NFD_PREFIX,
	.nfd_expiry = 3600,
	.publish_interval = 60,
	.socket_path = DEFAULT_SOCKET,
	.state_dir = DEFAULT_STATE_DIR,
	.max_body = 1 << 20,
	.max_header = 16 << 10,
	.timeout = 10,
	.idle_timeout = 60,
	/*
	 * Room for a thousand idle or slow clients beside the busy ones; each
	 * costs about 1 KiB and a descriptor (the unit's LimitNOFILE covers it).
	 */
	.max_conns = 2048,
};

/*
 * ---- logging ----
 * Under journald (stderr is the stream JOURNAL_STREAM names) every message
 * goes through sd_journal_send with its priority, and the events an
 * operator filters on carry a MESSAGE_ID and fields (CPREGD_DIGEST,
 * CPREGD_PEER_UID, CPREGD_RESULT): journalctl MESSAGE_ID=... finds every
 * failed probe.  Elsewhere: stderr with sd-daemon.h's <N> prefixes.
 */
#define MSGID_PROBE_DONE   "d959cd9b52424405a904f017244a9b71"
#define MSGID_PROBE_FAILED "aa9cc34eab0946579ffb0baf37f3f5c3"
#define MSGID_CHECK        "466fb01cdfd045888faab75bed98eed5"
#define MSGID_PERSIST_FAILED "01203ec268094169ba5e2b0ccf10e435"
#define MSGID_PEER_JUDGED  "668bb53a358f47a299fb5a73aa2ec3f9"

static bool log_to_journal;

static void log_setup(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long dev, ino;
	struct stat st;

	log_to_journal = js && sscanf(js, "%lu:%lu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
			 st.st_dev == (dev_t)dev && st.st_ino == (ino_t)ino;
}

struct log_fields {
	const char *msgid;
	const char *digest;
	const char *result;
	long uid;              /* -1: none */
};

static void log_full(int prio, const struct log_fields *lf, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void log_full(int prio, const struct log_fields *lf, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_to_journal) {
		char f[6][192];
		struct iovec iov[7];
		int n = 0;
		char *m = NULL;

		if (asprintf(&m, "MESSAGE=%s", msg) < 0)
			m = NULL;
		iov[n++] = (struct iovec){ m ? m : msg, m ? strlen(m) : strlen(msg) };
#define FIELD(...) do { snprintf(f[n - 1], sizeof(f[0]), __VA_ARGS__); iov[n] = (struct iovec){ f[n - 1], strlen(f[n - 1]) }; n++; } while (0)
		FIELD("PRIORITY=%d", prio);
		if (lf && lf->msgid)
			FIELD("MESSAGE_ID=%s", lf->msgid);
		if (lf && lf->digest)
			FIELD("CPREGD_DIGEST=%s", lf->digest);
		if (lf && lf->result)
			FIELD("CPREGD_RESULT=%s", lf->result);
		if (lf && lf->uid >= 0)
			FIELD("CPREGD_PEER_UID=%ld", lf->uid);
#undef FIELD
		sd_journal_sendv(iov, n);
		free(m);
		return;
	}
	/* One write per message: worker threads log too. */
	fprintf(stderr, "<%d>%s\n", prio, msg);
}
#define log_err(...) log_full(LOG_ERR, NULL, __VA_ARGS__)
#define log_warn(...) log_full(LOG_WARNING, NULL, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, NULL, __VA_ARGS__)

/* ---- state ---- */

enum endpoint { EP_INVENTORY, EP_CHECK, EP_HEALTH, EP_METRICS, EP_REFRESH, EP_PING, EP_VERSION, EP_PEERS, EP_OTHER,
		_EP_MAX };
static const char *const ep_names[] = { "/v1/inventory", "/v1/check", "/v1/health", "/metrics", "/v1/refresh",
					"/_ping", "/v1/version", "/v1/peers", "other" };

/* The published files, each switched on by its option. */
enum output { OUT_NFD, OUT_NOVA, OUT_TEXTFILE, _OUT_MAX };
static const char *const out_names[] = { "nfd", "nova", "textfile" };

static struct {
	struct event_base *base;
	struct http_server *http;
	struct http_blob *inv_blob;    /* GET /v1/inventory's answer, built once per inventory */
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
} S;

static void schedule_publish(void);

/* ---- probing and persistence ---- */

/*
 * The last good inventory, for a restart to serve at once, is written by
 * probe_run() through publish_write_atomic(): a fresh temporary name from
 * mkostemp (never a fixed one a planted symlink could redirect), fsync,
 * rename, fsync of the directory; a failure is kept for health and metrics.
 */
static void set_inventory(struct cpreg_inventory *inv, char *json, bool from_disk)
{
	char etag[CPREG_DIGEST_LEN + 16];

	cpreg_inventory_unref(S.inv);
	free(S.json);
	S.inv = inv;
	S.json = json;
	S.from_disk = from_disk;
	S.gen++;
	cpreg_inventory_digest(inv, S.digest, sizeof(S.digest));
	/* Served by reference to every client until the next probe: no copy, no formatting per request. */
	http_blob_unref(S.inv_blob);
	snprintf(etag, sizeof(etag), "ETag: \"%s\"\r\n", S.digest);
	S.inv_blob = http_blob_new(200, "application/json; charset=utf-8", etag, json, strlen(json));
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

static int do_probe(const char *why);
static void h_refresh_answer(struct http_request *req);
static void on_request(struct http_request *req, void *arg);

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
		h_refresh_answer(p->req);
		free(p);
	}
	if (PR.notify_in_probe) {
		sd_notify(0, "READY=1");
		PR.notify_in_probe = 0;
	}
	/* The requests that came before the first answer (the one that socket-activated us, say). */
	while ((p = TAILQ_FIRST(&PR.first))) {
		TAILQ_REMOVE(&PR.first, p, link);
		on_request(p->req, NULL);
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

static int do_probe(const char *why)
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

/* ---- HTTP ---- */

static enum endpoint endpoint_of(const char *path)
{
	for (int i = 0; i < EP_OTHER; i++)
		if (path && strcmp(path, ep_names[i]) == 0)
			return i;
	return EP_OTHER;
}

static void count_request(enum endpoint ep, int code)
{
	for (int i = 0; i < 12; i++) {
		if (S.requests[ep][i].code == code || S.requests[ep][i].code == 0) {
			S.requests[ep][i].code = code;
			S.requests[ep][i].n++;
			return;
		}
	}
}

static void reply(struct http_request *req, enum endpoint ep, int code, const char *ctype, const char *body)
{
	count_request(ep, code);
	http_reply(req, code, ctype, body, strlen(body));
}

static void reply_json_obj(struct http_request *req, enum endpoint ep, int code, json_object *o)
{
	char *text = NULL;

	if (asprintf(&text, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
								   JSON_C_TO_STRING_NOSLASHESCAPE)) < 0)
		text = NULL;
	json_object_put(o);
	reply(req, ep, code, "application/json; charset=utf-8", text ? text : "{}\n");
	free(text);
}

/*
 * Error messages echo what the client sent (a path, a query key): a byte
 * that is not part of valid UTF-8, or a control character, becomes '?', so
 * that every document the daemon writes is valid JSON text.
 */
static void make_utf8(char *s)
{
	unsigned char *p = (unsigned char *)s;

	while (*p) {
		int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : -1;
		int ok = n >= 0 && !(n == 1 && *p < 0xc2) && !(n == 3 && *p > 0xf4);

		for (int k = 1; ok && k <= n; k++)
			ok = (p[k] & 0xc0) == 0x80;
		/* No overlong forms, no surrogates, nothing past U+10FFFF (RFC 3629 section 4). */
		if (ok && ((*p == 0xe0 && p[1] < 0xa0) || (*p == 0xed && p[1] >= 0xa0) || (*p == 0xf0 && p[1] < 0x90) ||
			   (*p == 0xf4 && p[1] >= 0x90)))
			ok = 0;
		if (!ok || *p < 0x20) {
			*p++ = '?';
			continue;
		}
		p += n + 1;
	}
}

static void reply_error(struct http_request *req, enum endpoint ep, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void reply_error(struct http_request *req, enum endpoint ep, int code, const char *fmt, ...)
{
	json_object *o = json_object_new_object(), *e = json_object_new_object();
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	make_utf8(msg);
	json_object_object_add(e, "code", json_object_new_int(code));
	json_object_object_add(e, "message", json_object_new_string(msg));
	json_object_object_add(o, "error", e);
	reply_json_obj(req, ep, code, o);
}

static int64_t inventory_age(void)
{
	const char *t = S.inv ? cpreg_inventory_get_text(S.inv, CPREG_TEXT_PROBE_TIME) : NULL;
	struct tm tm = { 0 };

	if (!t || !strptime(t, "%Y-%m-%dT%H:%M:%SZ", &tm))
		return -1;
	return (int64_t)(time(NULL) - timegm(&tm));
}

static json_object *health_object(int *ret_code)
{
	json_object *o = json_object_new_object();
	int64_t age = inventory_age(), n;
	bool ok = S.inv && !S.degraded && !S.from_disk;

	json_object_object_add(o, "status", json_object_new_string(ok ? "ok" : "degraded"));
	if (!ok)
		json_object_object_add(o, "reason", json_object_new_string(
			S.reason[0] ? S.reason : !S.inv ? "no inventory yet" : "serving the persisted inventory; not re-probed yet"));
	json_object_object_add(o, "version", json_object_new_string(PACKAGE_VERSION));
	json_object_object_add(o, "uptime_seconds", json_object_new_int64(time(NULL) - S.started));
	json_object_object_add(o, "inventory_age_seconds", age >= 0 ? json_object_new_int64(age) : NULL);
	json_object_object_add(o, "inventory_source", json_object_new_string(!S.inv ? "none" : S.from_disk ? "state-dir" : "probe"));
	json_object_object_add(o, "probe_duration_ms", S.probes_ok + S.probes_failed ? json_object_new_int64(S.last_probe_ms) : NULL);
	json_object_object_add(o, "probes_ok", json_object_new_int64(S.probes_ok));
	json_object_object_add(o, "probes_failed", json_object_new_int64(S.probes_failed));
	{
		/* Still serving (200), but an operator should know: a restart would not find this inventory. */
		json_object *w = json_object_new_array();

		if (S.persist_error[0])
			json_object_array_add(w, json_object_new_string(S.persist_error));
		json_object_object_add(o, "warnings", w);
	}
	if (S.inv) {
		json_object_object_add(o, "digest", json_object_new_string(S.digest));
		json_object_object_add(o, "registers", json_object_new_int64(cpreg_inventory_count(S.inv)));
		json_object_object_add(o, "kernel", cpreg_inventory_get_text(S.inv, CPREG_TEXT_KERNEL)
				       ? json_object_new_string(cpreg_inventory_get_text(S.inv, CPREG_TEXT_KERNEL)) : NULL);
		if (cpreg_inventory_get_number(S.inv, CPREG_NUM_PROBE_MS, &n) == 0)
			json_object_object_add(o, "inventory_probe_ms", json_object_new_int64(n));
	}
	*ret_code = ok ? 200 : 503;
	return o;
}

/* Health changes with the state (S.gen) and with the clock (ages, uptime): one answer per second and state. */
static void h_health(struct http_request *req)
{
	time_t now = time(NULL);

	if (!S.health_blob || S.health_at != now || S.health_gen != S.gen) {
		int code;
		json_object *o = health_object(&code);
		const char *t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
		char *text = NULL;
		struct http_blob *b = NULL;

		if (asprintf(&text, "%s\n", t) >= 0)
			b = http_blob_new(code, "application/json; charset=utf-8", NULL, text, strlen(text));
		free(text);
		json_object_put(o);
		if (!b) {
			reply_error(req, EP_HEALTH, 500, "out of memory");
			return;
		}
		http_blob_unref(S.health_blob);
		S.health_blob = b;
		S.health_at = now;
		S.health_gen = S.gen;
	}
	count_request(EP_HEALTH, http_blob_code(S.health_blob));
	http_reply_blob(req, S.health_blob);
}

static void h_inventory(struct http_request *req)
{
	const char *inm = http_request_header(req, "If-None-Match");
	char etag[CPREG_DIGEST_LEN + 2];

	if (!S.inv || !S.inv_blob) {
		reply_error(req, EP_INVENTORY, 503, "no inventory: %s", S.reason[0] ? S.reason : "not probed yet");
		return;
	}
	snprintf(etag, sizeof(etag), "\"%s\"", S.digest);
	if (inm && (strcmp(inm, etag) == 0 || strcmp(inm, "*") == 0 || strcmp(inm, S.digest) == 0)) {
		http_request_add_header(req, "ETag", etag);
		count_request(EP_INVENTORY, 304);
		http_reply(req, 304, NULL, NULL, 0);
		return;
	}
	count_request(EP_INVENTORY, 200);
	http_reply_blob(req, S.inv_blob);
}

static bool peer_may_refresh(struct http_request *req, uid_t *ret_uid)
{
	long uid = http_request_uid(req);

	*ret_uid = (uid_t)uid;
	return uid >= 0 && ((uid_t)uid == 0 || (uid_t)uid == geteuid());
}

static void h_refresh(struct http_request *req)
{
	uid_t uid;

	if (!peer_may_refresh(req, &uid)) {
		reply_error(req, EP_REFRESH, 403, "refresh is allowed to root and to the daemon's own user, not uid %ld",
			    (long)(int)uid);
		return;
	}
	{
		struct pending_req *p = calloc(1, sizeof(*p));

		if (!p) {
			reply_error(req, EP_REFRESH, 500, "out of memory");
			return;
		}
		p->req = req;
		TAILQ_INSERT_TAIL(&PR.waiting, p, link);
		do_probe("refresh");
	}
}

/* The refresh's answer: the health after the probe that started after it asked. */
static void h_refresh_answer(struct http_request *req)
{
	int code;

	reply_json_obj(req, EP_REFRESH, S.degraded ? 503 : 200, health_object(&code));
}

/*
 * The "check answered" event, at most once a minute for each client uid,
 * source digest and result: an orchestrator asking thousands of times a
 * second would otherwise flood the journal (journald's rate limit then
 * drops other messages too).  The first check of a kind is logged at once;
 * the next logged one says how many alike were answered in between.  The
 * remembered kinds are a small direct-mapped table: a kind pushed out by
 * another is logged again the next time, which only costs a line.
 */
#define CHECK_LOG_SLOTS 64
#define CHECK_LOG_EVERY 60

static void log_check(long uid, const char *digest, enum cpreg_result result, const char *policy, bool trial)
{
	static struct {
		long uid;
		enum cpreg_result result;
		char digest[CPREG_DIGEST_LEN];
		time_t logged;
		unsigned long alike;
	} slot[CHECK_LOG_SLOTS];
	time_t now = time(NULL);
	uint64_t h = 1469598103934665603u;      /* FNV-1a over the kind */
	char more[64] = "";
	typeof(&slot[0]) e;

	for (const char *p = digest; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211u;
	h = (h ^ (uint64_t)uid ^ (uint64_t)result << 40) * 1099511628211u;
	e = &slot[h % CHECK_LOG_SLOTS];
	if (e->logged && e->uid == uid && e->result == result && strcmp(e->digest, digest) == 0) {
		if (now - e->logged < CHECK_LOG_EVERY && now >= e->logged) {
			e->alike++;
			return;
		}
		if (e->alike)
			snprintf(more, sizeof(more), "; %lu alike since the last", e->alike);
	}
	e->uid = uid;
	e->result = result;
	snprintf(e->digest, sizeof(e->digest), "%s", digest);
	e->logged = now;
	e->alike = 0;
	log_full(LOG_INFO, &(struct log_fields){ .msgid = MSGID_CHECK, .digest = digest,
						 .result = cpreg_result_name(result), .uid = uid },
		 "check from uid %ld: source %s is %s here (%s%s)%s", uid, digest, cpreg_result_name(result), policy,
		 trial ? ", with the trial" : "", more);
}

/* A check in flight: the request waits for its worker (libevent keeps it even if the client leaves). */
struct check_job {
	struct judge jd;
	struct http_request *req;
	long uid;       /* the client's, by SO_PEERCRED; -1 when unknown */
};

static void check_done(struct worker_job *j)
{
	struct check_job *cj = (struct check_job *)j;
	struct judge *jd = &cj->jd;

	S.check_bytes -= jd->len;
	if (j->cancelled) {
		reply_error(cj->req, EP_CHECK, 503, "cpregd is stopping");
	} else if (jd->r == -EBADMSG && strcmp(jd->err.where, "psci") == 0) {
		reply_error(cj->req, EP_CHECK, 400, "psci: %s", jd->err.message);
	} else if (jd->r == -EBADMSG) {
		reply_error(cj->req, EP_CHECK, 400, "body%s%s: %s", jd->err.where[0] ? ": " : "", jd->err.where,
			    jd->err.message);
	} else if (jd->r < 0) {
		reply_error(cj->req, EP_CHECK, 500, "check failed: %s: %s", jd->err.where, jd->err.message);
	} else {
		if (jd->trial_ran) {
			S.trials++;
			S.trial_ms_total += jd->trial_ms;
		}
		if (jd->trial_failed[0])
			log_warn("%s", jd->trial_failed);
		if (cpreg_verdict_contradictions(jd->verdict))
			log_info("trial contradicted the static rules on %zu register(s)", cpreg_verdict_contradictions(jd->verdict));
		S.checks[cpreg_verdict_result(jd->verdict)]++;
		log_check(cj->uid, jd->src_digest, cpreg_verdict_result(jd->verdict), cpreg_verdict_policy(jd->verdict),
			  jd->trial_ran);
		reply(cj->req, EP_CHECK, 200, "application/json; charset=utf-8", jd->json);
	}
	judge_clear(jd);
	free(cj);
}

/*
 * /v1/check's parameters: policy, trial, and the VM's options by their
 * query keys (the options table).  Unknown or repeated parameters are an
 * error, never ignored (?polcy= would run the default).  Answers the error
 * itself and returns -1.
 */
static int check_query(struct http_request *req, const struct http_query *q, struct cpreg_vm_options *vmo,
		       bool *want_trial)
{
	const char *t = http_query_get(q, "trial");
	char known[160] = "policy, trial, ";

	cpreg_vm_option_names(false, known + strlen(known), sizeof(known) - strlen(known));
	for (size_t k = 0; k < q->n; k++) {
		struct cpreg_error err = { 0 };

		for (size_t o = k + 1; o < q->n; o++)
			if (strcmp(q->key[o], q->key[k]) == 0) {
				reply_error(req, EP_CHECK, 400, "query parameter \"%.64s\" is given more than once", q->key[k]);
				return -1;
			}
		if (strcmp(q->key[k], "policy") == 0 || strcmp(q->key[k], "trial") == 0)
			continue;
		if (!cpreg_vm_option_by_key(q->key[k])) {
			reply_error(req, EP_CHECK, 400, "query parameter \"%.64s\" is unknown (%s)", q->key[k], known);
			return -1;
		}
		if (cpreg_vm_option_set(vmo, cpreg_vm_option_by_key(q->key[k]), q->value[k], &err) < 0) {
			reply_error(req, EP_CHECK, 400, "%s: %s", q->key[k], err.message);
			return -1;
		}
	}
	if (t && strcmp(t, "0") != 0 && strcmp(t, "1") != 0) {
		reply_error(req, EP_CHECK, 400, "trial: expected 0 or 1, got \"%s\"", t);
		return -1;
	}
	*want_trial = !t || strcmp(t, "1") == 0;
	return 0;
}

static void h_check(struct http_request *req)
{
	struct evbuffer *in = http_request_body(req);
	size_t len = in ? evbuffer_get_length(in) : 0;
	struct cpreg_policy *pol = NULL;
	struct http_query q;
	const char *why = NULL;
	const char *policy_name = NULL, *query = http_request_query(req);
	struct cpreg_vm_options vmo = { 0 };
	struct check_job *cj;
	struct judge *jd;
	bool want_trial = true;

	if (http_query_parse(query, &q, &why) < 0) {
		reply_error(req, EP_CHECK, 400, "malformed query string: %s", why);
		return;
	}
	if (check_query(req, &q, &vmo, &want_trial) < 0) {
		http_query_clear(&q);
		return;
	}
	policy_name = http_query_get(&q, "policy");
	if (policy_name && strcmp(policy_name, "auto") != 0) {
		if (strcmp(policy_name, "site") == 0 && S.site_policy)
			pol = cpreg_policy_ref(S.site_policy);
		else if (cpreg_policy_new_builtin(policy_name, &pol) < 0) {
			reply_error(req, EP_CHECK, 400, "policy: unknown \"%s\" (qemu-legacy, qemu-11.1, auto%s)", policy_name,
				    S.site_policy ? ", site" : "");
			http_query_clear(&q);
			return;
		}
	} else if (!policy_name && S.site_policy) {
		pol = cpreg_policy_ref(S.site_policy);
	}
	http_query_clear(&q);
	if (!S.inv) {
		cpreg_policy_unref(pol);
		reply_error(req, EP_CHECK, 503, "no local inventory to check against: %s", S.reason[0] ? S.reason : "not probed yet");
		return;
	}
	if (len == 0) {
		cpreg_policy_unref(pol);
		reply_error(req, EP_CHECK, 400, "empty body: POST the source host's cpreg-inventory/1 document");
		return;
	}
	/*
	 * Verdicts waiting for clients that do not read them are memory: above
	 * eight bodies' worth, new checks wait (a verdict is a few times its
	 * body; the write timeout drops the clients that never read).
	 */
	if (http_server_stats(S.http)->output_bytes > 8 * (size_t)opt.max_body) {
		cpreg_policy_unref(pol);
		http_request_add_header(req, "Retry-After", "1");
		reply_error(req, EP_CHECK, 503, "busy: %zu bytes of answers wait for their clients to read them; retry",
			    http_server_stats(S.http)->output_bytes);
		return;
	}
	/*
	 * A check in flight costs memory in proportion to its body (the parsed
	 * source, a verdict of about ten times the body, its JSON): the bodies
	 * of the checks queued or running are capped at two of the largest,
	 * so a slow machine does not pile up verdicts of huge sources (some
	 * sixty ordinary ones fit).  One check is always let in.
	 */
	if (S.check_bytes && S.check_bytes + len > 2 * (size_t)opt.max_body) {
		cpreg_policy_unref(pol);
		http_request_add_header(req, "Retry-After", "1");
		reply_error(req, EP_CHECK, 503, "busy: checks of %zu bytes of sources are in progress; retry",
			    S.check_bytes);
		return;
	}
	/* The parse, the check and the trial run on a worker; the loop keeps answering. */
	cj = calloc(1, sizeof(*cj));
	jd = cj ? &cj->jd : NULL;
	if (!cj || !(jd->text = malloc(len + 1))) {
		free(cj);
		cpreg_policy_unref(pol);
		reply_error(req, EP_CHECK, 500, "out of memory");
		return;
	}
	evbuffer_copyout(in, jd->text, len);
	jd->text[len] = '\0';
	jd->len = len;
	jd->dst = cpreg_inventory_ref(S.inv);
	jd->policy = pol;
	jd->vm = vmo;
	jd->trial = want_trial;
	jd->dev = opt.dev;
	jd->want_json = true;
	/* The verdict says how fresh this host's inventory was: a restart's persisted one, a failed re-probe. */
	jd->dst_source = S.from_disk ? "state-dir" : "probe";
	jd->dst_age = inventory_age();
	if (S.degraded || S.from_disk)
		snprintf(jd->dst_warning, sizeof(jd->dst_warning), "%s",
			 S.reason[0] ? S.reason : "serving the persisted inventory; not re-probed yet");
	jd->job.run = judge_run;
	jd->job.done = check_done;
	cj->req = req;
	cj->uid = http_request_uid(req);
	S.check_bytes += len;
	if (judge_is_quick(jd)) {
		judge_run(&jd->job);
		check_done(&jd->job);
		return;
	}
	worker_submit(&jd->job);
}

/*
 * Prometheus text exposition format 0.0.4: /metrics and the textfile
 * collector's file are this one text.
 */
static void metrics_build(struct evbuffer *b)
{
	const char *q = S.inv ? cpreg_inventory_get_text(S.inv, CPREG_TEXT_QEMU_VERSION) : NULL;
	const char *k = S.inv ? cpreg_inventory_get_text(S.inv, CPREG_TEXT_KERNEL) : NULL;
	int64_t age = inventory_age();

	evbuffer_add_printf(b,
		"# HELP cpregd_build_info cpregd build.\n# TYPE cpregd_build_info gauge\n"
		"cpregd_build_info{version=\"%s\"} 1\n"
		"# HELP cpregd_up 1 when the inventory is fresh from a successful probe.\n# TYPE cpregd_up gauge\n"
		"cpregd_up %d\n"
		"# HELP cpregd_probe_success Whether the last probe succeeded.\n# TYPE cpregd_probe_success gauge\n"
		"cpregd_probe_success %d\n"
		"# HELP cpregd_probe_duration_seconds Duration of the last probe.\n# TYPE cpregd_probe_duration_seconds gauge\n"
		"cpregd_probe_duration_seconds %.3f\n"
		"# HELP cpregd_last_probe_timestamp_seconds When the last probe ran.\n# TYPE cpregd_last_probe_timestamp_seconds gauge\n"
		"cpregd_last_probe_timestamp_seconds %lld\n"
		"# HELP cpregd_probes_total Probes by result.\n# TYPE cpregd_probes_total counter\n"
		"cpregd_probes_total{result=\"success\"} %" PRIu64 "\ncpregd_probes_total{result=\"failure\"} %" PRIu64 "\n"
		"# HELP cpregd_uptime_seconds Seconds since start.\n# TYPE cpregd_uptime_seconds gauge\n"
		"cpregd_uptime_seconds %lld\n",
		PACKAGE_VERSION, S.inv && !S.degraded && !S.from_disk, S.probes_ok + S.probes_failed ? !S.degraded : 0,
		S.last_probe_ms / 1000.0, (long long)S.last_probe_at, S.probes_ok, S.probes_failed,
		(long long)(time(NULL) - S.started));
	if (S.inv) {
		evbuffer_add_printf(b,
			"# HELP cpregd_registers Registers KVM lists for the scratch vCPU.\n# TYPE cpregd_registers gauge\n"
			"cpregd_registers %zu\n"
			"# HELP cpregd_migrated_registers Registers QEMU migrates.\n# TYPE cpregd_migrated_registers gauge\n"
			"cpregd_migrated_registers %zu\n"
			"# HELP cpregd_inventory_age_seconds Age of the inventory served.\n# TYPE cpregd_inventory_age_seconds gauge\n"
			"cpregd_inventory_age_seconds %lld\n"
			"# HELP cpregd_inventory_info The inventory served.\n# TYPE cpregd_inventory_info gauge\n"
			"cpregd_inventory_info{digest=\"%s\",kernel=\"",
			cpreg_inventory_count(S.inv), cpreg_inventory_migration_count(S.inv), (long long)age, S.digest);
		publish_metric_label(b, k);
		evbuffer_add_printf(b, "\",qemu_version=\"");
		publish_metric_label(b, q);
		evbuffer_add_printf(b, "\"} 1\n");
	}
	evbuffer_add_printf(b, "# HELP cpregd_requests_total HTTP requests by endpoint and status.\n"
			    "# TYPE cpregd_requests_total counter\n");
	for (int e = 0; e < _EP_MAX; e++)
		for (int i = 0; i < 12 && S.requests[e][i].code; i++)
			evbuffer_add_printf(b, "cpregd_requests_total{endpoint=\"%s\",code=\"%d\"} %" PRIu64 "\n",
					    ep_names[e], S.requests[e][i].code, S.requests[e][i].n);
	evbuffer_add_printf(b, "# HELP cpregd_checks_total Migration checks by result.\n# TYPE cpregd_checks_total counter\n");
	for (int r = 0; r < 3; r++)
		evbuffer_add_printf(b, "cpregd_checks_total{result=\"%s\"} %" PRIu64 "\n", cpreg_result_name(r), S.checks[r]);
	evbuffer_add_printf(b, "# HELP cpregd_trials_total Live trials run.\n# TYPE cpregd_trials_total counter\n"
			    "cpregd_trials_total %" PRIu64 "\n"
			    "# HELP cpregd_trial_seconds_total Time spent in live trials.\n# TYPE cpregd_trial_seconds_total counter\n"
			    "cpregd_trial_seconds_total %.3f\n", S.trials, S.trial_ms_total / 1000.0);
	{
		/* The connection limits of cpregd(8), LIMITS, and what they did. */
		const struct http_stats *hs = http_server_stats(S.http);

		evbuffer_add_printf(b, "# HELP cpregd_connections Open client connections.\n# TYPE cpregd_connections gauge\n"
				    "cpregd_connections %d\n"
				    "# HELP cpregd_connections_limit The connection limit (--max-connections).\n"
				    "# TYPE cpregd_connections_limit gauge\ncpregd_connections_limit %d\n"
				    "# HELP cpregd_connections_accepted_total Connections accepted.\n"
				    "# TYPE cpregd_connections_accepted_total counter\ncpregd_connections_accepted_total %" PRIu64 "\n"
				    "# HELP cpregd_connections_rejected_total Connections answered 503 at accept, by limit.\n"
				    "# TYPE cpregd_connections_rejected_total counter\n"
				    "cpregd_connections_rejected_total{limit=\"total\"} %" PRIu64 "\n"
				    "cpregd_connections_rejected_total{limit=\"uid\"} %" PRIu64 "\n"
				    "# HELP cpregd_connections_evicted_total Idle keep-alive connections closed to admit new ones.\n"
				    "# TYPE cpregd_connections_evicted_total counter\ncpregd_connections_evicted_total %" PRIu64 "\n"
				    "# HELP cpregd_connections_timed_out_total Connections closed by a timeout, by phase.\n"
				    "# TYPE cpregd_connections_timed_out_total counter\n"
				    "cpregd_connections_timed_out_total{phase=\"request\"} %" PRIu64 "\n"
				    "cpregd_connections_timed_out_total{phase=\"idle\"} %" PRIu64 "\n"
				    "cpregd_connections_timed_out_total{phase=\"write\"} %" PRIu64 "\n"
				    "# HELP cpregd_requests_malformed_total Requests the server could not read (4xx before a handler).\n"
				    "# TYPE cpregd_requests_malformed_total counter\ncpregd_requests_malformed_total %" PRIu64 "\n"
				    "# HELP cpregd_accept_errors_total accept(2) failures, EMFILE included.\n"
				    "# TYPE cpregd_accept_errors_total counter\ncpregd_accept_errors_total %" PRIu64 "\n"
				    "# HELP cpregd_request_buffered_bytes Request bytes held by all connections.\n"
				    "# TYPE cpregd_request_buffered_bytes gauge\ncpregd_request_buffered_bytes %zu\n"
				    "# HELP cpregd_response_buffered_bytes Answer bytes queued and not yet read by clients.\n"
				    "# TYPE cpregd_response_buffered_bytes gauge\ncpregd_response_buffered_bytes %zu\n",
				    hs->current, opt.max_conns, hs->accepted, hs->refused_limit, hs->refused_uid, hs->evicted,
				    hs->timeout_request, hs->timeout_idle, hs->timeout_write, hs->malformed, hs->accept_errors,
				    hs->input_bytes, hs->output_bytes);
	}
	evbuffer_add_printf(b, "# HELP cpregd_persist_success Whether the last write of the state directory succeeded.\n"
			    "# TYPE cpregd_persist_success gauge\ncpregd_persist_success %d\n"
			    "# HELP cpregd_persist_failures_total Failed writes of the persisted inventory.\n"
			    "# TYPE cpregd_persist_failures_total counter\ncpregd_persist_failures_total %" PRIu64 "\n",
			    !S.persist_error[0], S.persist_failures);
	{
		uint64_t hits, misses;

		worker_source_cache_stats(&hits, &misses);
		evbuffer_add_printf(b, "# HELP cpregd_source_cache_total Check sources found already read (hit) or read (miss).\n"
				    "# TYPE cpregd_source_cache_total counter\n"
				    "cpregd_source_cache_total{result=\"hit\"} %" PRIu64 "\n"
				    "cpregd_source_cache_total{result=\"miss\"} %" PRIu64 "\n", hits, misses);
	}
	evbuffer_add_printf(b, "# HELP cpregd_worker_jobs Checks and peer judgements queued or running.\n"
			    "# TYPE cpregd_worker_jobs gauge\ncpregd_worker_jobs %u\n", worker_busy());
	peers_metrics(b);
	evbuffer_add_printf(b, "# HELP cpregd_publish_success Whether the last write of a published file succeeded.\n"
			    "# TYPE cpregd_publish_success gauge\n");
	for (int o = 0; o < _OUT_MAX; o++)
		if (S.out[o].writes + S.out[o].failures)
			evbuffer_add_printf(b, "cpregd_publish_success{output=\"%s\"} %d\n", out_names[o], S.out[o].ok);
	evbuffer_add_printf(b, "# HELP cpregd_publish_failures_total Failed writes of a published file.\n"
			    "# TYPE cpregd_publish_failures_total counter\n");
	for (int o = 0; o < _OUT_MAX; o++)
		if (S.out[o].writes + S.out[o].failures)
			evbuffer_add_printf(b, "cpregd_publish_failures_total{output=\"%s\"} %" PRIu64 "\n", out_names[o],
					    S.out[o].failures);
}

static void h_metrics(struct http_request *req)
{
	struct evbuffer *b = evbuffer_new();

	if (!b) {
		reply_error(req, EP_METRICS, 500, "out of memory");
		return;
	}
	metrics_build(b);
	/* One way out for every answer: its headers, HEAD, and the request count. */
	evbuffer_add(b, "", 1);
	reply(req, EP_METRICS, 200, "text/plain; version=0.0.4", (const char *)evbuffer_pullup(b, -1));
	evbuffer_free(b);
}

static void h_peers(struct http_request *req)
{
	if (!peers_enabled()) {
		reply_error(req, EP_PEERS, 404, "no peers directory is configured (cpregd --peers DIR, man cpregd)");
		return;
	}
	reply_json_obj(req, EP_PEERS, 200, peers_json());
}

/* ---- publishing (publish.h) ---- */

static void accept_cb(const char *short_digest, void *arg)
{
	struct { const char **v; size_t n, cap; } *a = arg;

	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		const char **v = reallocarray(a->v, cap, sizeof(*v));

		if (!v)
			return;
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = strdup(short_digest);
}

static void write_output(enum output o, const char *path, char *text)
{
	int r;

	if (!text) {
		S.out[o].ok = false;
		S.out[o].failures++;
		snprintf(S.out[o].error, sizeof(S.out[o].error), "out of memory");
		return;
	}
	/* Unchanged: nothing to write (Nova reads its file at start; NFD re-reads it anyway). */
	if (S.out[o].ok && S.out[o].last && strcmp(S.out[o].last, text) == 0) {
		free(text);
		return;
	}
	r = publish_write_atomic(path, text, strlen(text), 0644, S.out[o].error, sizeof(S.out[o].error));
	if (r < 0) {
		if (S.out[o].ok || !S.out[o].failures)
			log_warn("cannot publish %s: %s", out_names[o], S.out[o].error);
		S.out[o].ok = false;
		S.out[o].failures++;
		free(text);
		return;
	}
	S.out[o].ok = true;
	S.out[o].writes++;
	S.out[o].error[0] = '\0';
	free(S.out[o].last);
	S.out[o].last = text;
}

static void publish_now(evutil_socket_t fd, short ev, void *arg)
{
	struct { const char **v; size_t n, cap; } acc = { 0 };
	struct publish_facts f = { 0 };
	char sd[PEERS_SHORT_LEN + 1];

	if (S.inv) {
		peers_short_digest(S.digest, sd);
		f.short_digest = sd;
		f.kernel = cpreg_inventory_get_text(S.inv, CPREG_TEXT_KERNEL);
		f.qemu_version = cpreg_inventory_get_text(S.inv, CPREG_TEXT_QEMU_VERSION);
		f.policy = S.site_policy ? cpreg_policy_name(S.site_policy)
					 : cpreg_policy_for_qemu_version(f.qemu_version);
	}
	peers_foreach_accepted(accept_cb, &acc);
	f.accepts = acc.v;
	f.n_accepts = acc.n;
	f.complete = peers_pending() == 0;
	if (opt.nfd_file) {
		/* The labels age out if cpregd dies: NFD drops them at the next discovery after this. */
		time_t exp = time(NULL) + (opt.nfd_expiry > 3 * opt.publish_interval ? opt.nfd_expiry : 3 * opt.publish_interval);

		write_output(OUT_NFD, opt.nfd_file, publish_nfd_text(&f, opt.nfd_prefix, exp));
	}
	if (opt.nova_file)
		write_output(OUT_NOVA, opt.nova_file, publish_nova_text(&f));
	if (opt.textfile) {
		struct evbuffer *b = evbuffer_new();
		char *text = NULL;
		size_t n;

		if (b) {
			metrics_build(b);
			n = evbuffer_get_length(b);
			text = malloc(n + 1);
			if (text) {
				evbuffer_copyout(b, text, n);
				text[n] = '\0';
			}
			evbuffer_free(b);
		}
		write_output(OUT_TEXTFILE, opt.textfile, text);
	}
	for (size_t i = 0; i < acc.n; i++)
		free((char *)acc.v[i]);
	free(acc.v);
}

static void schedule_publish(void)
{
	/* Once per loop turn however many changes came in it. */
	if (S.publish_ev && !event_pending(S.publish_ev, EV_TIMEOUT, NULL))
		event_active(S.publish_ev, EV_TIMEOUT, 0);
}

static struct cpreg_inventory *peers_self(void)
{
	return S.inv;
}

static struct cpreg_policy *peers_policy(void)
{
	return S.site_policy ? cpreg_policy_ref(S.site_policy) : NULL;
}

static void peers_judged(const char *digest, bool trial_ran, int64_t trial_ms, enum cpreg_result result)
{
	if (trial_ran) {
		S.trials++;
		S.trial_ms_total += trial_ms;
	}
	log_full(LOG_INFO, &(struct log_fields){ .msgid = MSGID_PEER_JUDGED, .digest = digest, .result = cpreg_result_name(result),
						 .uid = -1 },
		 "peer %s judged: %s%s", digest, cpreg_result_name(result), trial_ran ? " (with the trial)" : "");
}

/* What this daemon is and speaks: for clients that must know before they ask. */
static void h_version(struct http_request *req)
{
	json_object *o = json_object_new_object(), *sc = json_object_new_object();

	json_object_object_add(o, "version", json_object_new_string(PACKAGE_VERSION));
	json_object_object_add(o, "api_version", json_object_new_string(CPREGD_API_VERSION));
	json_object_object_add(sc, "inventory", json_object_new_string(CPREG_INVENTORY_SCHEMA));
	json_object_object_add(sc, "verdict", json_object_new_string("cpreg-verdict/1"));
	json_object_object_add(o, "schemas", sc);
	reply_json_obj(req, EP_VERSION, 200, o);
}

static void on_request(struct http_request *req, void *arg)
{
	const char *path = http_request_path(req);
	enum http_verb m = http_request_verb(req);
	enum endpoint ep = endpoint_of(path);

	/*
	 * Until this run's first probe has answered, what depends on the
	 * inventory waits for it (without holding the loop): a socket-activated
	 * start answers its first request with the probe's result, as the
	 * daemon did when it probed before serving.
	 */
	if (S.probes_ok + S.probes_failed == 0 && !S.quitting &&
	    (ep == EP_INVENTORY || ep == EP_HEALTH || ep == EP_CHECK || ep == EP_PEERS)) {
		struct pending_req *p = calloc(1, sizeof(*p));

		if (p) {
			p->req = req;
			TAILQ_INSERT_TAIL(&PR.first, p, link);
			return;
		}
	}
	/* Only /v1/check takes query parameters; elsewhere one is a mistake to name, not to ignore. */
	if (ep != EP_CHECK && ep != EP_OTHER && http_request_query(req) && *http_request_query(req)) {
		char key[65];

		snprintf(key, sizeof(key), "%.*s", (int)strcspn(http_request_query(req), "=&"), http_request_query(req));
		reply_error(req, ep, 400, "query parameter \"%s\" is unknown: %s takes none", key, ep_names[ep]);
		return;
	}
	switch (ep) {
	case EP_INVENTORY:
	case EP_HEALTH:
	case EP_METRICS:
	case EP_PING:
	case EP_VERSION:
	case EP_PEERS:
		if (m != HTTP_VERB_GET && m != HTTP_VERB_HEAD)
			break;
		if (ep == EP_PEERS)
			h_peers(req);
		else if (ep == EP_INVENTORY)
			h_inventory(req);
		else if (ep == EP_HEALTH)
			h_health(req);
		else if (ep == EP_PING)
			/* Docker's liveness convention: plain OK, nothing else asked of the daemon. */
			reply(req, EP_PING, 200, "text/plain; charset=utf-8", "OK");
		else if (ep == EP_VERSION)
			h_version(req);
		else
			h_metrics(req);
		return;
	case EP_CHECK:
	case EP_REFRESH:
		if (m != HTTP_VERB_POST)
			break;
		if (ep == EP_CHECK)
			h_check(req);
		else
			h_refresh(req);
		return;
	default:
		reply_error(req, EP_OTHER, 404, "no such endpoint \"%s\" (see man cpregd)", path ? path : "");
		return;
	}
	http_request_add_header(req, "Allow", ep == EP_CHECK || ep == EP_REFRESH ? "POST" : "GET, HEAD");
	reply_error(req, ep, 405, "method not allowed on %s", ep_names[ep]);
}

/* ---- listener: socket activation or our own socket ---- */

static int bind_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_err("socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_err("%s exists and is not a socket; refusing to replace it", path);
			return -EEXIST;
		}
		/* Stale or live?  A live one answers a connect. */
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(fd);
			log_err("%s is in use by a running server; refusing to take it over", path);
			return -EADDRINUSE;
		}
		if (fd >= 0)
			close(fd);
		if (unlink(path) < 0 && errno != ENOENT) {
			log_err("cannot remove stale socket %s: %s", path, strerror(errno));
			return -errno;
		}
		log_info("removed stale socket %s", path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* 0660 from the start: no window in which others may connect. */
	{
		mode_t old = umask(0117);
		int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
		int e = errno;

		umask(old);
		if (r < 0) {
			close(fd);
			log_err("cannot bind %s: %s", path, strerror(e));
			return -e;
		}
	}
	/* As deep as the kernel allows (systemd's Backlog= default): a burst of connects is queued, not refused. */
	if (listen(fd, SOMAXCONN) < 0) {
		int e = errno;

		close(fd);
		unlink(path);
		log_err("cannot listen on %s: %s", path, strerror(e));
		return -e;
	}
	return fd;
}

/* ---- signals, watchdog ---- */

static void on_signal(evutil_socket_t sig, short ev, void *arg)
{
	if (sig == SIGHUP) {
		log_info("SIGHUP: re-probing");
		sd_notify(0, "RELOADING=1");
		PR.notify_waiting++;
		do_probe("reload");
		return;
	}
	log_info("%s: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	sd_notify(0, "STOPPING=1");
	S.quitting = true;
	event_base_loopexit(S.base, NULL);
}

static void on_watchdog(evutil_socket_t fd, short ev, void *arg)
{
	sd_notify(0, "WATCHDOG=1");
}

static void on_start(evutil_socket_t fd, short ev, void *arg)
{
	PR.notify_waiting++;
	do_probe("start-up");
}

/* The body of the errors the HTTP layer answers itself (408, 413, 431, 503 at accept, ...): the API's error document. */
static size_t error_body(int code, const char *message, char *buf, size_t len)
{
	json_object *o = json_object_new_object(), *e = json_object_new_object();
	int n;

	json_object_object_add(e, "code", json_object_new_int(code));
	json_object_object_add(e, "message", json_object_new_string(message));
	json_object_object_add(o, "error", e);
	n = snprintf(buf, len, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
								      JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return n > 0 && (size_t)n < len ? (size_t)n : 0;
}

/*
 * Every connection is a descriptor: take the hard limit when the soft one
 * is short, and when even that is short, lower --max-connections rather
 * than fail at accept (64 kept for the state dir, workers, peers, trials).
 */
static void fit_nofile(void)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)opt.max_conns + 64 + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < need && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < need) {
		int fit = rl.rlim_cur > 192 ? (int)(rl.rlim_cur - 128) : 64;

		log_warn("RLIMIT_NOFILE is %llu: --max-connections lowered from %d to %d", (unsigned long long)rl.rlim_cur,
			 opt.max_conns, fit);
		opt.max_conns = fit;
		if (opt.max_per_uid > fit)
			opt.max_per_uid = fit;
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: cpregd [OPTIONS]\n"
		"Serve this host's arm64 KVM cpreg inventory and migration checks.\n\n"
		"  -s, --socket PATH        listen here when not socket-activated (default " DEFAULT_SOCKET ")\n"
		"  -S, --state-dir DIR      keep the last good inventory here (default " DEFAULT_STATE_DIR ")\n"
		"      --dev PATH           the KVM device (default /dev/kvm)\n"
		"      --qemu PATH          qemu-system-aarch64 whose version selects the check policy\n"
		"                           (default: qemu-system-aarch64 from PATH when present)\n"
		"      --no-qemu            do not look for QEMU\n"
		"      --disable LIST       vCPU options of this host's VMs: pmu=off,sve=off,pauth=off\n"
		"      --policy-file FILE   site tolerance policy (docs/policy.md) used by checks\n"
		"      --max-body BYTES     largest request body (default 1048576)\n"
		"      --max-connections N  simultaneous client connections (default 2048)\n"
		"      --max-connections-per-uid N  of them from one client uid (default 3/4 of the limit)\n"
		"      --timeout SECONDS    deadline for a whole request, and for a client to read\n"
		"                           any of its answer (default 10)\n"
		"      --idle-timeout SECONDS  keep-alive connections idle longer are closed (default 60)\n"
		"      --workers N          threads for checks and trials (default 2)\n"
		"      --peers DIR          judge the other hosts' inventories in DIR (*.json)\n"
		"      --peer-vm-options OPTS  the VM options peers are judged with, as after -cpu:\n"
		"                           pmu=off,sve=off,pauth=off,sve-max-vq=N,kvm-psci-version=X.Y\n"
		"      --peer-trial 0|1     run the live trial for each peer (default 1)\n"
		"      --nfd-file PATH      write Node Feature Discovery labels (features.d file)\n"
		"      --nfd-prefix PREFIX  label namespace (default " PUBLISH_NFD_PREFIX ")\n"
		"      --nfd-expiry SECONDS how long NFD keeps the labels if cpregd stops (default 3600)\n"
		"      --nova-provider-file PATH  write a Nova provider config (provider.yaml) with traits\n"
		"      --textfile PATH      write the metrics for node_exporter's textfile collector (*.prom)\n"
		"      --publish-interval SECONDS  rewrite the published files at least this often (default 60)\n"
		"%s  -h, --help, --version\n", backend_usage);
}

static bool in_path(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[4096];

	for (const char *p = path ? path : "/usr/bin:/bin"; p && *p;) {
		size_t n = strcspn(p, ":");

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, p, prog);
		if (access(buf, X_OK) == 0)
			return true;
		p += n + (p[n] == ':');
	}
	return false;
}

static int parse_long(const char *name, const char *s, long min, long max, long *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max) {
		fprintf(stderr, "cpregd: %s: expected a number from %ld to %ld, got \"%s\"\n", name, min, max, s);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "dev", required_argument, NULL, 'd' },
		{ "qemu", required_argument, NULL, 'q' },
		{ "no-qemu", no_argument, NULL, 'Q' },
		{ "disable", required_argument, NULL, 'D' },
		{ "policy-file", required_argument, NULL, 'P' },
		{ "max-body", required_argument, NULL, 'b' },
		{ "max-connections", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "idle-timeout", required_argument, NULL, 1009 },
		{ "max-connections-per-uid", required_argument, NULL, 1010 },
		{ "workers", required_argument, NULL, 'w' },
		{ "peers", required_argument, NULL, 1000 },
		{ "peer-vm-options", required_argument, NULL, 1001 },
		{ "peer-trial", required_argument, NULL, 1002 },
		{ "nfd-file", required_argument, NULL, 1003 },
		{ "nfd-prefix", required_argument, NULL, 1004 },
		{ "nfd-expiry", required_argument, NULL, 1005 },
		{ "nova-provider-file", required_argument, NULL, 1006 },
		{ "textfile", required_argument, NULL, 1007 },
		{ "publish-interval", required_argument, NULL, 1008 },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	struct event *sigs[4] = { 0 }, *wd = NULL, *start = NULL;
	bool no_qemu = false;
	uint64_t wd_usec = 0;
	int c, fd = -1, n, ret = 1;
	bool own_socket = false;
	struct cpreg_error err = { 0 };
	long v;

	struct option *all = backend_merge_options(longopts);

	if (!all)
		return 1;
	while ((c = getopt_long(argc, argv, "s:S:hV", all, NULL)) != -1) {
		switch (c) {
		case 's': opt.socket_path = optarg; break;
		case 'S': opt.state_dir = optarg; break;
		case 'd': opt.dev = optarg; break;
		case 'q': opt.qemu = optarg; break;
		case 'Q': no_qemu = true; break;
		case 'P': opt.policy_file = optarg; break;
		case 'D':
			if (cpreg_vm_options_parse_disable(optarg, &opt.disable, &err) < 0) {
				fprintf(stderr, "cpregd: --disable: %s\n", err.message);
				return 2;
			}
			break;
		case 'b':
			if (parse_long("--max-body", optarg, 1024, 64 << 20, &v) < 0)
				return 2;
			opt.max_body = v;
			break;
		case 'c':
			if (parse_long("--max-connections", optarg, 1, 65536, &v) < 0)
				return 2;
			opt.max_conns = (int)v;
			break;
		case 't':
			if (parse_long("--timeout", optarg, 1, 3600, &v) < 0)
				return 2;
			opt.timeout = (int)v;
			break;
		case 'w':
			if (parse_long("--workers", optarg, 1, 64, &v) < 0)
				return 2;
			opt.workers = (int)v;
			break;
		case 1000: opt.peers_dir = optarg; break;
		case 1001:
			if (cpreg_vm_options_parse(optarg, &opt.peer_vm, &err) < 0) {
				fprintf(stderr, "cpregd: --peer-vm-options: %s\n", err.message);
				return 2;
			}
			break;
		case 1002:
			if (strcmp(optarg, "0") != 0 && strcmp(optarg, "1") != 0) {
				fprintf(stderr, "cpregd: --peer-trial: expected 0 or 1, got \"%s\"\n", optarg);
				return 2;
			}
			opt.peer_trial = optarg[0] == '1';
			break;
		case 1003: opt.nfd_file = optarg; break;
		case 1004:
			if (!publish_prefix_valid(optarg)) {
				fprintf(stderr, "cpregd: --nfd-prefix: \"%s\" is not a DNS subdomain (lower case, digits, '-', '.')\n",
					optarg);
				return 2;
			}
			opt.nfd_prefix = optarg;
			break;
		case 1005:
			if (parse_long("--nfd-expiry", optarg, 60, 7 * 86400, &v) < 0)
				return 2;
			opt.nfd_expiry = (int)v;
			break;
		case 1006: opt.nova_file = optarg; break;
		case 1007: opt.textfile = optarg; break;
		case 1008:
			if (parse_long("--publish-interval", optarg, 1, 86400, &v) < 0)
				return 2;
			opt.publish_interval = (int)v;
			break;
		case 1009:
			if (parse_long("--idle-timeout", optarg, 1, 86400, &v) < 0)
				return 2;
			opt.idle_timeout = (int)v;
			break;
		case 1010:
			if (parse_long("--max-connections-per-uid", optarg, 1, 65536, &v) < 0)
				return 2;
			opt.max_per_uid = (int)v;
			break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("cpregd " PACKAGE_VERSION "\n"); return 0;
		default:
			if (c >= 3000 && backend_option(c, optarg) == 0)
				break;
			usage(stderr);
			return 2;
		}
	}
	free(all);
	if (optind < argc) {
		fprintf(stderr, "cpregd: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	if (!opt.qemu && !no_qemu && in_path("qemu-system-aarch64"))
		opt.qemu = "qemu-system-aarch64";
	if (no_qemu)
		opt.qemu = NULL;
	signal(SIGPIPE, SIG_IGN);
	/*
	 * glibc's heap: two arenas (the loop and the workers share them, a
	 * long-lived daemon keeps its RSS), and no trimming and regrowing of the
	 * heap around every answer (page faults per request, measured).
	 */
	mallopt(M_ARENA_MAX, 2);
	mallopt(M_TRIM_THRESHOLD, 8 << 20);
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	log_setup();
	S.started = time(NULL);
	if (!opt.max_per_uid)
		opt.max_per_uid = opt.max_conns > 3 ? opt.max_conns * 3 / 4 : opt.max_conns;
	fit_nofile();
	if (opt.policy_file) {
		if (cpreg_policy_load(opt.policy_file, &S.site_policy, &err) < 0) {
			log_err("policy file %s: %s", err.where, err.message);
			return 1;
		}
		log_info("site policy \"%s\" from %s", cpreg_policy_name(S.site_policy), opt.policy_file);
	}

	/* The socket: systemd's, checked, or our own. */
	n = sd_listen_fds(1);
	if (n < 0) {
		log_err("sd_listen_fds: %s", strerror(-n));
		return 1;
	}
	if (n > 1) {
		log_err("expected one socket from systemd, got %d", n);
		return 1;
	}
	if (n == 1) {
		fd = SD_LISTEN_FDS_START;
		if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) <= 0) {
			log_err("the socket passed by systemd is not a listening UNIX stream socket");
			return 1;
		}
		evutil_make_socket_nonblocking(fd);
		log_info("using the socket passed by systemd");
	} else {
		fd = bind_socket(opt.socket_path);
		if (fd < 0)
			return 1;
		own_socket = true;
		log_info("listening on %s", opt.socket_path);
	}

	{
		/*
		 * epoll with a change list: a connection's read and write interest
		 * flip around every request (read off while it is answered, write on
		 * while the answer goes out); batched per loop turn they cost one
		 * epoll_ctl instead of up to four.  libevent's caveat (descriptors
		 * dup()ed elsewhere) does not apply: cpregd never dups a socket.
		 */
		struct event_config *cfg = event_config_new();

		if (cfg)
			event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
		S.base = cfg ? event_base_new_with_config(cfg) : NULL;
		if (cfg)
			event_config_free(cfg);
	}
	if (!S.base) {
		log_err("cannot set up the event loop");
		goto out;
	}
	{
		const struct http_limits lim = {
			.max_conns = opt.max_conns, .max_per_uid = opt.max_per_uid,
			.max_header = (size_t)opt.max_header, .max_body = (size_t)opt.max_body,
			.request_timeout = opt.timeout, .idle_timeout = opt.idle_timeout, .write_timeout = opt.timeout,
			/* Eight bodies at the largest size in flight at once; more wait their turn. */
			.input_budget = 8 * (size_t)opt.max_body,
		};

		S.http = http_server_new(S.base, fd, &lim, on_request, NULL);
		if (!S.http) {
			log_err("cannot accept on the socket");
			goto out;
		}
		/* Docker's and Podman's convention: every answer says which API it speaks. */
		http_server_set_common_header(S.http, "API-Version: " CPREGD_API_VERSION);
		http_server_set_error_body(S.http, error_body);
	}
	{
		static const int signums[] = { SIGHUP, SIGTERM, SIGINT };

		for (int i = 0; i < 3; i++) {
			sigs[i] = evsignal_new(S.base, signums[i], on_signal, NULL);
			if (!sigs[i] || evsignal_add(sigs[i], NULL) < 0) {
				log_err("cannot handle signal %d", signums[i]);
				goto out;
			}
		}
	}
	if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0) {
		struct timeval tv = { (time_t)(wd_usec / 2 / 1000000), (suseconds_t)(wd_usec / 2 % 1000000) };

		wd = event_new(S.base, -1, EV_PERSIST, on_watchdog, NULL);
		if (wd)
			event_add(wd, &tv);
		log_info("watchdog every %.3f s", wd_usec / 2e6);
	}
	if (worker_start(S.base, opt.workers) < 0) {
		log_err("cannot start the worker threads");
		goto out;
	}
	S.publish_ev = evtimer_new(S.base, publish_now, NULL);
	if (opt.nfd_file || opt.nova_file || opt.textfile) {
		struct timeval tv = { opt.publish_interval, 0 };

		S.publish_timer = event_new(S.base, -1, EV_PERSIST, publish_now, NULL);
		if (S.publish_timer)
			event_add(S.publish_timer, &tv);
	}
	if (opt.peers_dir) {
		struct peers_env env = {
			.dir = opt.peers_dir, .vm = opt.peer_vm, .trial = opt.peer_trial, .dev = opt.dev,
			.self = peers_self, .policy = peers_policy, .changed = schedule_publish, .judged = peers_judged,
		};

		if (peers_start(S.base, &env) < 0) {
			log_err("cannot watch the peers directory %s", opt.peers_dir);
			goto out;
		}
		log_info("judging the peer inventories in %s", opt.peers_dir);
	}
	load_state();
	/* The first probe runs from the loop: the persisted inventory is already served. */
	start = evtimer_new(S.base, on_start, NULL);
	if (start)
		event_active(start, EV_TIMEOUT, 0);
	sd_notify(0, "STATUS=Probing");
	event_base_dispatch(S.base);
	ret = 0;
out:
	/* Peers first: a judgement still running comes back through worker_stop and finds its source gone. */
	peers_stop();
	worker_stop();
	/* Requests still waiting for a probe: their connections go with http_server_free below. */
	TAILQ_CONCAT(&PR.waiting, &PR.in_probe, link);
	TAILQ_CONCAT(&PR.waiting, &PR.first, link);
	while (!TAILQ_EMPTY(&PR.waiting)) {
		struct pending_req *p = TAILQ_FIRST(&PR.waiting);

		TAILQ_REMOVE(&PR.waiting, p, link);
		free(p);
	}
	if (S.publish_ev)
		event_free(S.publish_ev);
	if (S.publish_timer)
		event_free(S.publish_timer);
	for (int o = 0; o < _OUT_MAX; o++)
		free(S.out[o].last);
	if (own_socket)
		unlink(opt.socket_path);
	if (fd >= 0)
		close(fd);
	for (int i = 0; i < 4; i++)
		if (sigs[i])
			event_free(sigs[i]);
	if (wd)
		event_free(wd);
	if (start)
		event_free(start);
	http_server_free(S.http);
	http_blob_unref(S.inv_blob);
	http_blob_unref(S.health_blob);
	if (S.base)
		event_base_free(S.base);
	cpreg_inventory_unref(S.inv);
	cpreg_policy_unref(S.site_policy);
	free(S.json);
	log_info("stopped");
	return ret;
}
