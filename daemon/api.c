/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cpregd's HTTP API (docs/api.yaml): the endpoints, their answers and
 * errors, and the checks handed to the workers (cpregd.h).
 */
#include "config.h"

#include <ctype.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cpregd.h"
#include <stdarg.h>
#include <event2/buffer.h>
#include <systemd/sd-daemon.h>

#include "jsonw.h"
#include "peers.h"
#include "worker.h"

/* ---- HTTP ---- */

/* The paths served, by enum endpoint (test-api.sh checks that docs/api.yaml documents each). */
const char *const ep_names[] = { "/v1/inventory", "/v1/check", "/v1/health", "/metrics", "/v1/refresh",
				 "/_ping", "/v1/version", "/v1/peers", "/v1/passport", "other" };

static enum endpoint endpoint_of(const char *path)
{
	for (int i = 0; i < EP_OTHER; i++)
		if (path && strcmp(path, ep_names[i]) == 0)
			return i;
	return EP_OTHER;
}

void count_request(enum endpoint ep, int code)
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

/* A document written with the project's JSON writer (jsonw.h), as the answer. */
static void reply_jw(struct http_request *req, enum endpoint ep, int code, struct jw *w)
{
	char *text = NULL;

	if (jw_finish_text(w, &text) < 0) {
		free(text);
		text = NULL;
	}
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

/* The API's error document (docs/schemas/error.schema.json); free() it, NULL when out of memory. */
static char *error_text(int code, const char *message)
{
	struct jw w = { .first = true };
	char *text = NULL;

	jw_object(&w, NULL);
	jw_object(&w, "error");
	jw_int(&w, "code", code);
	jw_string(&w, "message", message);
	jw_end_object(&w);
	jw_end_object(&w);
	if (jw_finish_text(&w, &text) < 0) {
		free(text);
		return NULL;
	}
	return text;
}

void reply_error(struct http_request *req, enum endpoint ep, int code, const char *fmt, ...)
{
	char msg[1024], *text;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	make_utf8(msg);
	text = error_text(code, msg);
	reply(req, ep, code, "application/json; charset=utf-8", text ? text : "{}\n");
	free(text);
}

char *health_text(int *ret_code)
{
	struct jw w = { .first = true };
	int64_t age = inventory_age(), n;
	bool ok = S.inv && !S.degraded && !S.from_disk;
	const char *kernel = S.inv ? cpreg_inventory_get_text(S.inv, CPREG_TEXT_KERNEL) : NULL;
	char *text = NULL;

	jw_object(&w, NULL);
	jw_string(&w, "status", ok ? "ok" : "degraded");
	if (!ok)
		jw_string(&w, "reason", S.reason[0] ? S.reason : !S.inv ? "no inventory yet"
								: "serving the persisted inventory; not re-probed yet");
	jw_string(&w, "version", PACKAGE_VERSION);
	jw_int(&w, "uptime_seconds", time(NULL) - S.started);
	if (age >= 0)
		jw_int(&w, "inventory_age_seconds", age);
	else
		jw_null(&w, "inventory_age_seconds");
	jw_string(&w, "inventory_source", !S.inv ? "none" : S.from_disk ? "state-dir" : "probe");
	if (S.probes_ok + S.probes_failed)
		jw_int(&w, "probe_duration_ms", S.last_probe_ms);
	else
		jw_null(&w, "probe_duration_ms");
	jw_uint(&w, "probes_ok", S.probes_ok);
	jw_uint(&w, "probes_failed", S.probes_failed);
	/* Still serving (200), but an operator should know: a restart would not find this inventory. */
	jw_array(&w, "warnings");
	if (S.persist_error[0])
		jw_string(&w, NULL, S.persist_error);
	jw_end_array(&w);
	if (S.inv) {
		jw_string(&w, "digest", S.digest);
		jw_uint(&w, "registers", cpreg_inventory_count(S.inv));
		jw_string(&w, "kernel", kernel);
		if (cpreg_inventory_get_number(S.inv, CPREG_NUM_PROBE_MS, &n) == 0)
			jw_int(&w, "inventory_probe_ms", n);
	}
	jw_end_object(&w);
	*ret_code = ok ? 200 : 503;
	if (jw_finish_text(&w, &text) < 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* Health changes with the state (S.gen) and with the clock (ages, uptime): one answer per second and state. */
static void h_health(struct http_request *req)
{
	time_t now = time(NULL);

	if (!S.health_blob || S.health_at != now || S.health_gen != S.gen) {
		int code;
		char *text = health_text(&code);
		struct http_blob *b = NULL;

		if (text)
			b = http_blob_new(code, "application/json; charset=utf-8", NULL, text, strlen(text));
		free(text);
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

/* Does an Accept-Encoding value take gzip (RFC 9110: a "gzip" or "*" coding, not with q=0)? */
static bool accepts_gzip(const char *v)
{
	while (v && *v) {
		size_t n = strcspn(v, ",");
		char item[64];
		const char *q;

		snprintf(item, sizeof(item), "%.*s", (int)(n < sizeof(item) ? n : sizeof(item) - 1), v);
		for (char *c = item; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		q = strstr(item, "q=");
		{
			const char *t = item + strspn(item, " \t");
			size_t tl = strcspn(t, " \t;");

			if (((tl == 4 && strncmp(t, "gzip", 4) == 0) || (tl == 1 && *t == '*')) && !(q && strtod(q + 2, NULL) == 0))
				return true;
		}
		v += n + (v[n] == ',');
	}
	return false;
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
	http_reply_blob(req, S.inv_gz_blob && accepts_gzip(http_request_header(req, "Accept-Encoding")) ? S.inv_gz_blob
													 : S.inv_blob);
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
	} else if (jd->r == -EBADMSG && strcmp(jd->err.where, cpreg_vm_option_at(CPREG_VMOPT_PSCI_VERSION)->key) == 0) {
		/* A VM option the source cannot take: named by its query parameter. */
		reply_error(cj->req, EP_CHECK, 400, "%s: %s", jd->err.where, jd->err.message);
	} else if (jd->r == -EBADMSG && strcmp(jd->err.where, "query") == 0) {
		reply_error(cj->req, EP_CHECK, 400, "%s", jd->err.message);
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
 * The VM's options by their query keys (the options table); for /v1/check
 * (want_trial given) policy and trial too.  Unknown or repeated
 * parameters are an error, never ignored (?polcy= would run the default).
 * Answers the error itself and returns -1.
 */
static int vm_query(struct http_request *req, enum endpoint ep, const struct http_query *q, struct cpreg_vm_options *vmo,
		    bool *want_trial)
{
	const char *t = http_query_get(q, "trial");
	char known[160] = "";

	for (size_t k = 0; k < q->n; k++) {
		struct cpreg_error err = { 0 };

		for (size_t o = k + 1; o < q->n; o++)
			if (strcmp(q->key[o], q->key[k]) == 0) {
				reply_error(req, ep, 400, "query parameter \"%.64s\" is given more than once", q->key[k]);
				return -1;
			}
		if (want_trial && (strcmp(q->key[k], "policy") == 0 || strcmp(q->key[k], "trial") == 0))
			continue;
		if (!cpreg_vm_option_by_key(q->key[k])) {
			/* Worded only for the error: every check passes through here. */
			if (want_trial)
				snprintf(known, sizeof(known), "policy, trial, ");
			cpreg_vm_option_names(false, known + strlen(known), sizeof(known) - strlen(known));
			reply_error(req, ep, 400, "query parameter \"%.64s\" is unknown (%s)", q->key[k], known);
			return -1;
		}
		if (cpreg_vm_option_set(vmo, cpreg_vm_option_by_key(q->key[k]), q->value[k], &err) < 0) {
			reply_error(req, ep, 400, "%s: %s", q->key[k], err.message);
			return -1;
		}
	}
	if (!want_trial)
		return 0;
	if (t && strcmp(t, "0") != 0 && strcmp(t, "1") != 0) {
		reply_error(req, ep, 400, "trial: expected 0 or 1, got \"%s\"", t);
		return -1;
	}
	*want_trial = !t || strcmp(t, "1") == 0;
	return 0;
}

/* The policy the query names (?policy=), the site's, or NULL (auto); -1 when answered with an error. */
static int check_policy(struct http_request *req, const char *name, struct cpreg_policy **ret)
{
	*ret = NULL;
	if (!name)
		*ret = S.site_policy ? cpreg_policy_ref(S.site_policy) : NULL;
	else if (strcmp(name, "auto") == 0)
		return 0;
	else if (strcmp(name, "site") == 0 && S.site_policy)
		*ret = cpreg_policy_ref(S.site_policy);
	else if (cpreg_policy_new_builtin(name, ret) < 0) {
		reply_error(req, EP_CHECK, 400, "policy: unknown \"%s\" (qemu-legacy, qemu-11.1, auto%s)", name,
			    S.site_policy ? ", site" : "");
		return -1;
	}
	return 0;
}

/* Whether a check of len bytes may start now; -1 when answered with why not. */
static int check_admit(struct http_request *req, size_t len)
{
	if (!S.inv) {
		reply_error(req, EP_CHECK, 503, "no local inventory to check against: %s", S.reason[0] ? S.reason : "not probed yet");
		return -1;
	}
	if (len == 0) {
		reply_error(req, EP_CHECK, 400, "empty body: POST the source host's cpreg-inventory/1 document");
		return -1;
	}
	/*
	 * Verdicts waiting for clients that do not read them are memory: above
	 * eight bodies' worth, new checks wait (a verdict is a few times its
	 * body; the write timeout drops the clients that never read).
	 */
	if (http_server_stats(S.http)->output_bytes > 8 * (size_t)opt.max_body) {
		http_request_add_header(req, "Retry-After", "1");
		reply_error(req, EP_CHECK, 503, "busy: %zu bytes of answers wait for their clients to read them; retry",
			    http_server_stats(S.http)->output_bytes);
		return -1;
	}
	/*
	 * A check in flight costs memory in proportion to its body (the parsed
	 * source, a verdict of about ten times the body, its JSON): the bodies
	 * of the checks queued or running are capped at two of the largest,
	 * so a slow machine does not pile up verdicts of huge sources (some
	 * sixty ordinary ones fit).  One check is always let in.
	 */
	if (S.check_bytes && S.check_bytes + len > 2 * (size_t)opt.max_body) {
		http_request_add_header(req, "Retry-After", "1");
		reply_error(req, EP_CHECK, 503, "busy: checks of %zu bytes of sources are in progress; retry",
			    S.check_bytes);
		return -1;
	}
	return 0;
}

/* The check's job: the body, this host's inventory and how fresh it is, the policy and the VM. */
static struct check_job *check_job_new(struct http_request *req, struct evbuffer *in, size_t len)
{
	struct check_job *cj = calloc(1, sizeof(*cj));
	struct judge *jd = cj ? &cj->jd : NULL;

	if (!cj || !(jd->text = malloc(len + 1))) {
		free(cj);
		return NULL;
	}
	evbuffer_copyout(in, jd->text, len);
	jd->text[len] = '\0';
	jd->len = len;
	jd->dst = cpreg_inventory_ref(S.inv);
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
	return cj;
}

static void h_check(struct http_request *req)
{
	struct evbuffer *in = http_request_body(req);
	size_t len = in ? evbuffer_get_length(in) : 0;
	struct cpreg_policy *pol = NULL;
	struct http_query q;
	const char *why = NULL;
	struct cpreg_vm_options vmo = { 0 };
	struct check_job *cj;
	bool want_trial = true;
	int r;

	if (http_query_parse(http_request_query(req), &q, &why) < 0) {
		reply_error(req, EP_CHECK, 400, "malformed query string: %s", why);
		return;
	}
	r = vm_query(req, EP_CHECK, &q, &vmo, &want_trial);
	if (r == 0)
		r = check_policy(req, http_query_get(&q, "policy"), &pol);
	http_query_clear(&q);
	if (r < 0 || check_admit(req, len) < 0) {
		cpreg_policy_unref(pol);
		return;
	}
	/* The parse, the check and the trial run on a worker; the loop keeps answering. */
	cj = check_job_new(req, in, len);
	if (!cj) {
		cpreg_policy_unref(pol);
		reply_error(req, EP_CHECK, 500, "out of memory");
		return;
	}
	cj->jd.policy = pol;
	cj->jd.vm = vmo;
	cj->jd.trial = want_trial;
	S.check_bytes += len;
	if (judge_is_quick(&cj->jd)) {
		judge_run(&cj->jd.job);
		check_done(&cj->jd.job);
		return;
	}
	worker_submit(&cj->jd.job);
}

/*
 * GET /v1/passport: the passport of a VM born on this host now, with the
 * options the query gives (as /v1/check takes them).
 */
static void h_passport(struct http_request *req)
{
	struct cpreg_vm_options vmo = { 0 };
	struct cpreg_passport *p = NULL;
	struct http_query q;
	const char *why = NULL;
	char t[32], *text = NULL;
	int r;

	if (http_query_parse(http_request_query(req), &q, &why) < 0) {
		reply_error(req, EP_PASSPORT, 400, "malformed query string: %s", why);
		return;
	}
	r = vm_query(req, EP_PASSPORT, &q, &vmo, NULL);
	http_query_clear(&q);
	if (r < 0)
		return;
	if (!S.inv) {
		reply_error(req, EP_PASSPORT, 503, "no inventory: %s", S.reason[0] ? S.reason : "not probed yet");
		return;
	}
	cpreg_utc_now(t, sizeof(t));
	r = cpreg_passport_born(S.inv, &vmo, t, &p);
	if (r == -ENOENT)
		reply_error(req, EP_PASSPORT, 400, "%s: this host lists no PSCI_VERSION to pin",
			    cpreg_vm_option_at(CPREG_VMOPT_PSCI_VERSION)->key);
	else if (r < 0 || cpreg_passport_to_json(p, &text) < 0)
		reply_error(req, EP_PASSPORT, 500, "out of memory");
	else
		reply(req, EP_PASSPORT, 200, "application/json; charset=utf-8", text);
	free(text);
	cpreg_passport_unref(p);
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
	if (probing_refresh(req) < 0)
		reply_error(req, EP_REFRESH, 500, "out of memory");
}

/* The refresh's answer: the health after the probe that started after it asked (probing's hook). */
static void h_refresh_answer(struct http_request *req)
{
	int code;
	char *text = health_text(&code);

	if (!text) {
		reply_error(req, EP_REFRESH, 500, "out of memory");
		return;
	}
	count_request(EP_REFRESH, S.degraded ? 503 : 200);
	http_reply(req, S.degraded ? 503 : 200, "application/json; charset=utf-8", text, strlen(text));
	free(text);
}

static void h_metrics(struct http_request *req)
{
	struct evbuffer *b = evbuffer_new();

	if (!b) {
		reply_error(req, EP_METRICS, 500, "out of memory");
		return;
	}
	metrics_build(b, false);
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
	char *text = peers_json();

	if (!text) {
		reply_error(req, EP_PEERS, 500, "out of memory");
		return;
	}
	reply(req, EP_PEERS, 200, "application/json; charset=utf-8", text);
	free(text);
}

/* What this daemon is and speaks: for clients that must know before they ask. */
static void h_version(struct http_request *req)
{
	struct jw w = { .first = true };

	jw_object(&w, NULL);
	jw_string(&w, "version", PACKAGE_VERSION);
	jw_string(&w, "api_version", CPREGD_API_VERSION);
	jw_object(&w, "schemas");
	jw_string(&w, "inventory", CPREG_INVENTORY_SCHEMA);
	jw_string(&w, "verdict", "cpreg-verdict/1");
	jw_end_object(&w);
	jw_end_object(&w);
	reply_jw(req, EP_VERSION, 200, &w);
}

void on_request(struct http_request *req, void *arg)
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
	if ((ep == EP_INVENTORY || ep == EP_HEALTH || ep == EP_CHECK || ep == EP_PEERS || ep == EP_PASSPORT) &&
	    !probing_first_done(req))
		return;
	/* Only /v1/check and /v1/passport take query parameters; elsewhere one is a mistake to name, not to ignore. */
	if (ep != EP_CHECK && ep != EP_PASSPORT && ep != EP_OTHER && http_request_query(req) && *http_request_query(req)) {
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
	case EP_PASSPORT:
		if (m != HTTP_VERB_GET && m != HTTP_VERB_HEAD)
			break;
		if (ep == EP_PEERS)
			h_peers(req);
		else if (ep == EP_PASSPORT)
			h_passport(req);
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

static void answer_held(struct http_request *req)
{
	on_request(req, NULL);
}

/* The body of the errors the HTTP layer answers itself (408, 413, 431, 503 at accept, ...): the API's error document. */
size_t error_body(int code, const char *message, char *buf, size_t len)
{
	char *text = error_text(code, message);
	size_t n = 0;

	if (text && strlen(text) < len) {
		n = strlen(text);
		memcpy(buf, text, n + 1);
	}
	free(text);
	return n;
}

/* What probing answers with, once a probe ends: the refreshes that waited, the requests held until the first. */
int api_init(void)
{
	static const struct probing_hooks h = { .refresh_answer = h_refresh_answer, .held = answer_held };

	probing_set_hooks(&h);
	return 0;
}
