/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cpregd's metrics: Prometheus text exposition format 0.0.4, the one text
 * of /metrics and of the textfile collector's file (cpregd.h).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cpregd.h"
#include <event2/buffer.h>

#include "peers.h"
#include "publish.h"
#include "worker.h"

/* The probes and the inventory served. */
static void probe_metrics(struct evbuffer *b, bool for_file)
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
		"# HELP cpregd_start_time_seconds When cpregd started, seconds since the epoch.\n"
		"# TYPE cpregd_start_time_seconds gauge\ncpregd_start_time_seconds %lld\n",
		PACKAGE_VERSION, S.inv && !S.degraded && !S.from_disk, S.probes_ok + S.probes_failed ? !S.degraded : 0,
		S.last_probe_ms / 1000.0, (long long)S.last_probe_at, S.probes_ok, S.probes_failed, (long long)S.started);
	/*
	 * A textfile is read long after it was written: an uptime there goes
	 * stale (node_exporter's convention is the start time, above); the
	 * scrape of /metrics is live.
	 */
	if (!for_file)
		evbuffer_add_printf(b, "# HELP cpregd_uptime_seconds Seconds since start.\n# TYPE cpregd_uptime_seconds gauge\n"
				    "cpregd_uptime_seconds %lld\n", (long long)(time(NULL) - S.started));
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
}

/* Requests, checks and trials answered. */
static void request_metrics(struct evbuffer *b)
{
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
}

/* The connection limits of cpregd(8), LIMITS, and what they did. */
static void connection_metrics(struct evbuffer *b)
{
	{
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
}

/* The state directory, the source cache, the workers, the peers and the published files. */
static void state_metrics(struct evbuffer *b)
{
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
	if (opt.nfd_file)
		evbuffer_add_printf(b, "# HELP cpregd_nfd_files The files the NFD labels span (NFD reads none over 64 KiB).\n"
				    "# TYPE cpregd_nfd_files gauge\ncpregd_nfd_files %zu\n"
				    "# HELP cpregd_nfd_labels_dropped accepts- labels left out: more than the NFD files hold.\n"
				    "# TYPE cpregd_nfd_labels_dropped gauge\ncpregd_nfd_labels_dropped %zu\n",
				    S.nfd_files, S.nfd_dropped);
	evbuffer_add_printf(b, "# HELP cpregd_publish_failures_total Failed writes of a published file.\n"
			    "# TYPE cpregd_publish_failures_total counter\n");
	for (int o = 0; o < _OUT_MAX; o++)
		if (S.out[o].writes + S.out[o].failures)
			evbuffer_add_printf(b, "cpregd_publish_failures_total{output=\"%s\"} %" PRIu64 "\n", out_names[o],
					    S.out[o].failures);
}

/*
 * The libvirt hook's decisions (daemon/ctl-hook.c): the hook appends a line
 * "OPERATION DECISION REASON" to HOOK_SPOOL_NAME in the state directory,
 * whether or not cpregd answers it; cpregd takes the file (renamed first,
 * so a line appended meanwhile starts a new file) and counts.  The values
 * are the ones ctl-hook.c writes; a line with any other is not counted.
 */
static const char *const hook_ops[] = { "migrate", "restore" };
static const char *const hook_decisions[] = { "allowed", "refused" };
static const char *const hook_reasons[] = { "compatible", "incompatible", "unknown", "no-passport", "unreadable",
					    "unanswered", "unjudged" };
#define N_OPS (sizeof(hook_ops) / sizeof(hook_ops[0]))
#define N_DEC (sizeof(hook_decisions) / sizeof(hook_decisions[0]))
#define N_REA (sizeof(hook_reasons) / sizeof(hook_reasons[0]))
static uint64_t hook_counts[N_OPS][N_DEC][N_REA];

static int index_of(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

static void hook_take_spool(void)
{
	char path[4096], taking[4200], line[128], a[32], d[32], r[32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/" HOOK_SPOOL_NAME, opt.state_dir);
	snprintf(taking, sizeof(taking), "%s.taking", path);
	/* A .taking left by a cpregd that stopped half-way is counted first. */
	if (access(taking, F_OK) != 0 && rename(path, taking) < 0)
		return;
	if (!(f = fopen(taking, "re")))
		return;
	while (fgets(line, sizeof(line), f)) {
		int o, k, x;

		if (sscanf(line, "%31s %31s %31s", a, d, r) != 3 || (o = index_of(hook_ops, N_OPS, a)) < 0 ||
		    (k = index_of(hook_decisions, N_DEC, d)) < 0 || (x = index_of(hook_reasons, N_REA, r)) < 0)
			continue;
		hook_counts[o][k][x]++;
	}
	fclose(f);
	unlink(taking);
}

static void hook_metrics(struct evbuffer *b)
{
	hook_take_spool();
	evbuffer_add_printf(b, "# HELP cpregd_hook_decisions_total Migrations and restores the libvirt hook let go on "
			    "(allowed) or refused, by why.\n# TYPE cpregd_hook_decisions_total counter\n");
	for (size_t o = 0; o < N_OPS; o++)
		for (size_t k = 0; k < N_DEC; k++)
			for (size_t x = 0; x < N_REA; x++)
				if (hook_counts[o][k][x])
					evbuffer_add_printf(b, "cpregd_hook_decisions_total{operation=\"%s\",decision=\"%s\","
							    "reason=\"%s\"} %" PRIu64 "\n", hook_ops[o], hook_decisions[k],
							    hook_reasons[x], hook_counts[o][k][x]);
}

void metrics_build(struct evbuffer *b, bool for_file)
{
	probe_metrics(b, for_file);
	request_metrics(b);
	connection_metrics(b);
	state_metrics(b);
	hook_metrics(b);
	libvirt_metrics(b);
}
