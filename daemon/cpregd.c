/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cpregd: probes this host's arm64 KVM cpreg inventory and serves it, and
 * migration checks against it, over HTTP/1.1 on a UNIX stream socket.
 *
 * One libevent loop owns everything: the socket (from systemd socket
 * activation or bound here), signals, the watchdog timer; probes, checks
 * and trials run on worker threads and come back to it.  Bad input never
 * stops the daemon; a failed re-probe keeps the last good inventory and
 * marks health degraded.  This file holds the options and brings the
 * modules up in order and down in reverse (cpregd.h lists them).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "backend.h"
#include "cpregd.h"
#include "peers.h"
#include "publish.h"
#include "worker.h"

struct cpregd_state S;

struct cpregd_options opt = {
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
		probing_notify_next();
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
		"      --disable LIST       vCPU features this host's VMs turn off, as after QEMU's -cpu host\n"
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
		"                           host,PROPERTY=VALUE,... (cpregd(8) lists them)\n"
		"      --peer-trial 0|1     run the live trial for each peer (default 1)\n"
		"      --nfd-file PATH      write Node Feature Discovery labels (features.d file)\n"
		"      --nfd-prefix PREFIX  label namespace (default " PUBLISH_NFD_PREFIX ")\n"
		"      --nfd-expiry SECONDS how long NFD keeps the labels if cpregd stops (default 3600)\n"
		"      --nova-provider-file PATH  write a Nova provider config (provider.yaml) with traits\n"
		"      --textfile PATH      write the metrics for node_exporter's textfile collector (*.prom)\n"
		"      --publish-interval SECONDS  rewrite the published files at least this often (default 60)\n"
		"      --libvirt URI        write a passport into every VM libvirt starts (qemu:///system)\n"
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

/* ---- the command line ---- */

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
	{ "libvirt", required_argument, NULL, 1011 },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{}
};

/* The numeric options: each one's bounds and where it goes (int or long). */
static const struct {
	int c;
	const char *name;
	long min, max;
	int *i;
	long *l;
} numbers[] = {
	{ 'b', "--max-body", 1024, 64 << 20, NULL, &opt.max_body },
	{ 'c', "--max-connections", 1, 65536, &opt.max_conns, NULL },
	{ 't', "--timeout", 1, 3600, &opt.timeout, NULL },
	{ 'w', "--workers", 1, 64, &opt.workers, NULL },
	{ 1005, "--nfd-expiry", 60, 7 * 86400, &opt.nfd_expiry, NULL },
	{ 1008, "--publish-interval", 1, 86400, &opt.publish_interval, NULL },
	{ 1009, "--idle-timeout", 1, 86400, &opt.idle_timeout, NULL },
	{ 1010, "--max-connections-per-uid", 1, 65536, &opt.max_per_uid, NULL },
};

/* One option: 0 taken, 1 asked to stop with success (--help, --version), -1 refused (said on stderr). */
static int take_option(int c, const char *value, bool *no_qemu)
{
	struct cpreg_error err = { 0 };
	long v;

	for (size_t k = 0; k < sizeof(numbers) / sizeof(numbers[0]); k++) {
		if (numbers[k].c != c)
			continue;
		if (parse_long(numbers[k].name, value, numbers[k].min, numbers[k].max, &v) < 0)
			return -1;
		if (numbers[k].i)
			*numbers[k].i = (int)v;
		else
			*numbers[k].l = v;
		return 0;
	}
	switch (c) {
	case 's': opt.socket_path = value; break;
	case 'S': opt.state_dir = value; break;
	case 'd': opt.dev = value; break;
	case 'q': opt.qemu = value; break;
	case 'Q': *no_qemu = true; break;
	case 'P': opt.policy_file = value; break;
	case 1000: opt.peers_dir = value; break;
	case 1003: opt.nfd_file = value; break;
	case 1006: opt.nova_file = value; break;
	case 1007: opt.textfile = value; break;
	case 1011: opt.libvirt_uri = value; break;
	case 'D':
		if (cpreg_vm_options_parse_disable(value, &opt.disable, &err) < 0)
			return fprintf(stderr, "cpregd: --disable: %s\n", err.message), -1;
		break;
	case 1001:
		if (cpreg_vm_options_parse(value, &opt.peer_vm, &err) < 0)
			return fprintf(stderr, "cpregd: --peer-vm-options: %s\n", err.message), -1;
		break;
	case 1002:
		if (strcmp(value, "0") != 0 && strcmp(value, "1") != 0)
			return fprintf(stderr, "cpregd: --peer-trial: expected 0 or 1, got \"%s\"\n", value), -1;
		opt.peer_trial = value[0] == '1';
		break;
	case 1004:
		if (!publish_prefix_valid(value))
			return fprintf(stderr, "cpregd: --nfd-prefix: \"%s\" is not a DNS subdomain (lower case, digits, "
				       "'-', '.')\n", value), -1;
		opt.nfd_prefix = value;
		break;
	case 'h': usage(stdout); return 1;
	case 'V': printf("cpregd " PACKAGE_VERSION "\n"); return 1;
	default:
		if (c >= 3000 && backend_option(c, value) == 0)
			break;
		usage(stderr);
		return -1;
	}
	return 0;
}

/* The command line into opt: 0, or the exit status to stop with. */
static int parse_options(int argc, char **argv)
{
	struct option *all = backend_merge_options(longopts);
	bool no_qemu = false;
	int c, r = 0;

	if (!all)
		return 1;
	while (r == 0 && (c = getopt_long(argc, argv, "s:S:hV", all, NULL)) != -1)
		r = take_option(c, optarg, &no_qemu);
	free(all);
	if (r)
		return r > 0 ? 0 : 2;
	if (optind < argc) {
		fprintf(stderr, "cpregd: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	if (!opt.qemu && !no_qemu && in_path("qemu-system-aarch64"))
		opt.qemu = "qemu-system-aarch64";
	if (no_qemu)
		opt.qemu = NULL;
	if (!opt.max_per_uid)
		opt.max_per_uid = opt.max_conns > 3 ? opt.max_conns * 3 / 4 : opt.max_conns;
	return -1;
}

/* ---- the modules, up in order and down in reverse ---- */

static int policy_init(void)
{
	struct cpreg_error err = { 0 };

	if (!opt.policy_file)
		return 0;
	if (cpreg_policy_load(opt.policy_file, &S.site_policy, &err) < 0) {
		log_err("policy file %s: %s", err.where, err.message);
		return -1;
	}
	log_info("site policy \"%s\" from %s", cpreg_policy_name(S.site_policy), opt.policy_file);
	return 0;
}

static void policy_fini(void)
{
	cpreg_policy_unref(S.site_policy);
}

static struct {
	int fd;
	bool own;
} L = { .fd = -1 };

/* The socket: systemd's, checked, or our own. */
static int listener_init(void)
{
	int n = sd_listen_fds(1);

	if (n < 0) {
		log_err("sd_listen_fds: %s", strerror(-n));
		return -1;
	}
	if (n > 1) {
		log_err("expected one socket from systemd, got %d", n);
		return -1;
	}
	if (n == 1) {
		L.fd = SD_LISTEN_FDS_START;
		if (sd_is_socket_unix(L.fd, SOCK_STREAM, 1, NULL, 0) <= 0) {
			log_err("the socket passed by systemd is not a listening UNIX stream socket");
			return -1;
		}
		evutil_make_socket_nonblocking(L.fd);
		log_info("using the socket passed by systemd");
		return 0;
	}
	L.fd = bind_socket(opt.socket_path);
	if (L.fd < 0)
		return -1;
	L.own = true;
	log_info("listening on %s", opt.socket_path);
	return 0;
}

static void listener_fini(void)
{
	if (L.own)
		unlink(opt.socket_path);
	if (L.fd >= 0)
		close(L.fd);
}

static int loop_init(void)
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
	if (!S.base)
		log_err("cannot set up the event loop");
	return S.base ? 0 : -1;
}

static void loop_fini(void)
{
	if (S.base)
		event_base_free(S.base);
}

static int http_init(void)
{
	const struct http_limits lim = {
		.max_conns = opt.max_conns, .max_per_uid = opt.max_per_uid,
		.max_header = (size_t)opt.max_header, .max_body = (size_t)opt.max_body,
		.request_timeout = opt.timeout, .idle_timeout = opt.idle_timeout, .write_timeout = opt.timeout,
		/* Eight bodies at the largest size in flight at once; more wait their turn. */
		.input_budget = 8 * (size_t)opt.max_body,
	};

	S.http = http_server_new(S.base, L.fd, &lim, on_request, NULL);
	if (!S.http) {
		log_err("cannot accept on the socket");
		return -1;
	}
	/* Docker's and Podman's convention: every answer says which API it speaks. */
	http_server_set_common_header(S.http, "API-Version: " CPREGD_API_VERSION);
	http_server_set_error_body(S.http, error_body);
	return 0;
}

static void http_fini(void)
{
	http_server_free(S.http);
	http_blob_unref(S.inv_blob);
	http_blob_unref(S.inv_gz_blob);
	http_blob_unref(S.health_blob);
}

static struct event *sigs[3], *wd;

static int signals_init(void)
{
	static const int signums[] = { SIGHUP, SIGTERM, SIGINT };
	uint64_t wd_usec = 0;

	for (int i = 0; i < 3; i++) {
		sigs[i] = evsignal_new(S.base, signums[i], on_signal, NULL);
		if (!sigs[i] || evsignal_add(sigs[i], NULL) < 0) {
			log_err("cannot handle signal %d", signums[i]);
			return -1;
		}
	}
	if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0) {
		struct timeval tv = { (time_t)(wd_usec / 2 / 1000000), (suseconds_t)(wd_usec / 2 % 1000000) };

		wd = event_new(S.base, -1, EV_PERSIST, on_watchdog, NULL);
		if (wd)
			event_add(wd, &tv);
		log_info("watchdog every %.3f s", wd_usec / 2e6);
	}
	return 0;
}

static void signals_fini(void)
{
	for (int i = 0; i < 3; i++)
		if (sigs[i])
			event_free(sigs[i]);
	if (wd)
		event_free(wd);
}

static int workers_init(void)
{
	if (worker_start(S.base, opt.workers) < 0) {
		log_err("cannot start the worker threads");
		return -1;
	}
	return 0;
}

static int peers_init(void)
{
	struct peers_env env = {
		.dir = opt.peers_dir, .vm = opt.peer_vm, .trial = opt.peer_trial, .dev = opt.dev,
		.self = peers_self, .policy = peers_policy, .changed = schedule_publish, .judged = peers_judged,
	};

	if (!opt.peers_dir)
		return 0;
	if (peers_start(S.base, &env) < 0) {
		log_err("cannot watch the peers directory %s", opt.peers_dir);
		return -1;
	}
	log_info("judging the peer inventories in %s", opt.peers_dir);
	return 0;
}

/*
 * Up in this order, down in reverse.  The callbacks that come back from
 * the workers (a probe, a check, a peer judged) reach probing, the
 * published files and the HTTP server, so those stop after the workers;
 * peers stop first: a judgement still running comes back through
 * worker_stop and would find its source gone.
 */
static const struct module {
	const char *name;
	int (*init)(void);
	void (*fini)(void);
} modules[] = {
	{ "policy", policy_init, policy_fini },
	{ "listener", listener_init, listener_fini },
	{ "loop", loop_init, loop_fini },
	{ "http", http_init, http_fini },
	{ "signals", signals_init, signals_fini },
	{ "outputs", outputs_init, outputs_fini },
	{ "api", api_init, NULL },
	{ "probing", probing_init, probing_fini },
	{ "workers", workers_init, worker_stop },
	{ "peers", peers_init, peers_stop },
	{ "libvirt", libvirt_init, libvirt_fini },
};

int main(int argc, char **argv)
{
	size_t up = 0, n = sizeof(modules) / sizeof(modules[0]);
	int r = parse_options(argc, argv);

	if (r >= 0)
		return r;
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
	fit_nofile();
	while (up < n && modules[up].init() == 0)
		up++;
	r = up == n ? 0 : 1;
	if (r == 0) {
		sd_notify(0, "STATUS=Probing");
		event_base_dispatch(S.base);
	}
	while (up > 0)
		if (modules[--up].fini)
			modules[up].fini();
	log_info("stopped");
	return r;
}
