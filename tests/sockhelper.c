/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers for tests/test-daemon.sh that curl cannot play:
 *   notify PATH SECONDS        receive sd_notify datagrams on PATH, one per line on stdout
 *   hold PATH N SECONDS        open N keep-alive connections, one request each, then hold them
 *   stall PATH SECONDS         send half a request and report when the server hangs up
 *   ping PATH SECONDS          GET /v1/health back to back on one keep-alive connection;
 *                              print how many, the worst and the 99th percentile latency
 *   fresh PATH SECONDS         the same, each request on a new connection (a client
 *                              arriving while others hold connections)
 *   crowd PATH KIND N SECONDS [BODY]
 *                              N clients of one kind, for SECONDS or until SIGTERM:
 *                              idle (one request, then keep-alive and silent),
 *                              slow (a request trickled one byte a second per client),
 *                              silent (connect, send nothing), busy (requests back to
 *                              back, 5 s apart), noread (POST BODY to /v1/check, never
 *                              read the answer); prints "ready" once all are in, and at
 *                              the end how many the server closed, when, and its statuses
 *   raw PATH SECONDS           send stdin as is, print the status of every answer and
 *                              whether the server closed the connection
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -1;
	strcpy(sa->sun_path, path);
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmd_notify(const char *path, double secs)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	double end = now() + secs;

	unlink(path);
	if (fd < 0 || addr(path, &sa) < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("notify: bind");
		return 2;
	}
	while (now() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char buf[4096];
		ssize_t k;

		if (poll(&p, 1, 100) <= 0)
			continue;
		k = recv(fd, buf, sizeof(buf) - 1, 0);
		if (k <= 0)
			continue;
		buf[k] = '\0';
		/* One message may carry several assignments, newline-separated. */
		printf("%s\n", buf);
		fflush(stdout);
	}
	return 0;
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd < 0 || addr(path, &sa) < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	return fd;
}

static int cmd_hold(const char *path, int n, double secs)
{
	int *fds = calloc(n, sizeof(int));
	static const char req[] = "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n";

	for (int i = 0; i < n; i++) {
		char buf[256];

		fds[i] = connect_to(path);
		if (fds[i] < 0 || write(fds[i], req, sizeof(req) - 1) < 0 || read(fds[i], buf, sizeof(buf)) <= 0) {
			fprintf(stderr, "hold: connection %d failed\n", i);
			return 2;
		}
	}
	printf("holding %d\n", n);
	fflush(stdout);
	usleep((useconds_t)(secs * 1e6));
	for (int i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	return 0;
}

static int cmd_stall(const char *path, double secs)
{
	static const char half[] = "POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"sch";
	int fd = connect_to(path);
	double t0 = now();
	char buf[256];

	if (fd < 0 || write(fd, half, sizeof(half) - 1) < 0) {
		perror("stall");
		return 2;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t k;

		if (now() - t0 > secs) {
			printf("still open after %.0f s\n", secs);
			return 1;
		}
		if (poll(&p, 1, 100) <= 0)
			continue;
		k = read(fd, buf, sizeof(buf) - 1);
		if (k <= 0) {
			printf("closed after %.1f s\n", now() - t0);
			return 0;
		}
		buf[k] = '\0';
		printf("reply after %.1f s: %.40s\n", now() - t0, buf);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One answer: headers to the blank line, then Content-Length bytes of body. */
static int read_reply(int fd)
{
	char buf[65536];
	size_t have = 0;
	long clen = -1;
	char *eoh = NULL;

	for (;;) {
		ssize_t k = read(fd, buf + have, sizeof(buf) - 1 - have);

		if (k <= 0)
			return -1;
		have += (size_t)k;
		buf[have] = '\0';
		if (!eoh && (eoh = strstr(buf, "\r\n\r\n"))) {
			char *cl = strcasestr(buf, "\r\nContent-Length:");

			clen = cl ? strtol(cl + 17, NULL, 10) : 0;
		}
		if (eoh && (long)(have - (size_t)(eoh + 4 - buf)) >= clen)
			return 0;
		if (have >= sizeof(buf) - 1)
			return -1;
	}
}

/* One more latency in a growing array. */
static int lat_push(double **lat, size_t *n, size_t *cap, double v)
{
	if (*n == *cap) {
		double *l = realloc(*lat, (*cap *= 2) * sizeof(double));

		if (!l)
			return -1;
		*lat = l;
	}
	(*lat)[(*n)++] = v;
	return 0;
}

static volatile sig_atomic_t stop;
static void on_stop(int sig) { stop = 1; }

/* Until SECONDS pass or SIGINT/SIGTERM comes (the figures are printed either way). */
static int cmd_ping(const char *path, double secs)
{
	struct sigaction sa = { .sa_handler = on_stop };
	static const char req[] = "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n";
	size_t n = 0, cap = 1 << 16;
	double *lat = malloc(cap * sizeof(double)), end = now() + secs;
	int fd = connect_to(path);

	if (fd < 0 || !lat) {
		perror("ping");
		return 2;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!stop && now() < end) {
		double t0 = now();

		if (write(fd, req, sizeof(req) - 1) < 0 || read_reply(fd) < 0) {
			if (stop)
				break;
			fprintf(stderr, "ping: the connection failed after %zu requests\n", n);
			return 2;
		}
		if (lat_push(&lat, &n, &cap, now() - t0) < 0)
			return 2;
	}
	qsort(lat, n, sizeof(double), cmp_double);
	printf("requests=%zu max_ms=%.2f p99_ms=%.2f\n", n, n ? lat[n - 1] * 1e3 : 0, n ? lat[n * 99 / 100] * 1e3 : 0);
	free(lat);
	close(fd);
	return 0;
}


/* Up to the hard limit: a crowd of a thousand needs more than the default 1024. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int cmd_fresh(const char *path, double secs)
{
	struct sigaction sa = { .sa_handler = on_stop };
	static const char req[] = "GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	size_t n = 0, failed = 0, cap = 1 << 16;
	double *lat = malloc(cap * sizeof(double)), end = now() + secs;

	if (!lat)
		return 2;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!stop && now() < end) {
		double t0 = now();
		int fd = connect_to(path);
		char buf[64] = "";

		if (fd < 0 || write(fd, req, sizeof(req) - 1) < 0 || read(fd, buf, 12) < 12 ||
		    strncmp(buf, "HTTP/1.1 200", 12) != 0)
			failed++;
		if (fd >= 0)
			close(fd);
		if (lat_push(&lat, &n, &cap, now() - t0) < 0)
			return 2;
		usleep(2000);
	}
	qsort(lat, n, sizeof(double), cmp_double);
	printf("requests=%zu failed=%zu max_ms=%.2f p99_ms=%.2f\n", n, failed, n ? lat[n - 1] * 1e3 : 0,
	       n ? lat[n * 99 / 100] * 1e3 : 0);
	free(lat);
	return 0;
}

enum kind { K_IDLE, K_SLOW, K_SILENT, K_BUSY, K_NOREAD };

struct client {
	int fd;
	double closed_at;       /* 0 while open */
	double next;            /* when to send next */
	size_t sent;            /* noread: how much of the request is out */
	int status;             /* last answer's status */
};

static int status_of(const char *buf)
{
	return strncmp(buf, "HTTP/1.", 7) == 0 ? atoi(buf + 9) : 0;
}

static int cmd_crowd(const char *path, const char *kname, int n, double secs, const char *bodyfile)
{
	static const char *const names[] = { "idle", "slow", "silent", "busy", "noread" };
	static const char health[] = "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n";
	static const char slow_head[] = "GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: ";
	struct sigaction sa = { .sa_handler = on_stop };
	struct client *c = calloc((size_t)n, sizeof(*c));
	struct pollfd *p = calloc((size_t)n, sizeof(*p));
	char *post = NULL;
	size_t postlen = 0;
	int kind = -1, refused = 0, closed = 0, codes[600] = { 0 };
	double t0 = now(), end, first = 0, last = 0;

	for (int k = 0; k < 5; k++)
		if (strcmp(kname, names[k]) == 0)
			kind = k;
	if (kind < 0 || !c || !p || (kind == K_NOREAD && !bodyfile)) {
		fprintf(stderr, "crowd: KIND is idle, slow, silent, busy or noread (noread needs BODY)\n");
		return 2;
	}
	raise_nofile();
	if (kind == K_NOREAD) {
		FILE *f = fopen(bodyfile, "r");
		char *body = NULL;
		size_t blen = 0;

		if (!f)
			return 2;
		body = malloc(64 << 20);
		blen = fread(body, 1, 64 << 20, f);
		fclose(f);
		post = malloc(blen + 256);
		postlen = (size_t)sprintf(post, "POST /v1/check?trial=0 HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", blen);
		memcpy(post + postlen, body, blen);
		postlen += blen;
		free(body);
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	for (int i = 0; i < n; i++) {
		c[i].fd = connect_to(path);
		if (c[i].fd < 0) {
			refused++;
			c[i].closed_at = -1;
			continue;
		}
		switch (kind) {
		case K_IDLE:
		case K_BUSY: {
			char buf[4096];

			if (write(c[i].fd, health, sizeof(health) - 1) < 0 || read_reply(c[i].fd) < 0)
				c[i].closed_at = now();
			(void)buf;
			c[i].next = now() + 5;
			break;
		}
		case K_SLOW:
			if (write(c[i].fd, slow_head, sizeof(slow_head) - 1) < 0)
				c[i].closed_at = now();
			c[i].next = now() + 1;
			break;
		case K_NOREAD: {
			/* Non-blocking: the body goes in as far as the server reads it. */
			ssize_t k;

			fcntl(c[i].fd, F_SETFL, O_NONBLOCK);
			k = write(c[i].fd, post, postlen);
			if (k < 0 && errno != EAGAIN)
				c[i].closed_at = now();
			c[i].sent = k > 0 ? (size_t)k : 0;
			break;
		}
		default:
			break;
		}
	}
	printf("ready %d (refused %d)\n", n - refused, refused);
	fflush(stdout);
	end = now() + secs;
	while (!stop && now() < end) {
		int np = 0;
		double t = now();

		for (int i = 0; i < n; i++) {
			if (c[i].closed_at)
				continue;
			if (kind == K_SLOW && t >= c[i].next) {
				if (write(c[i].fd, "a", 1) < 0)
					c[i].closed_at = t;
				c[i].next = t + 1;
			}
			if (kind == K_BUSY && t >= c[i].next) {
				if (write(c[i].fd, health, sizeof(health) - 1) < 0)
					c[i].closed_at = t;
				c[i].next = t + 5;
			}
			/* noread clients send the rest of their request, never read; a close shows as POLLHUP or POLLERR. */
			p[np++] = (struct pollfd){ .fd = c[i].fd, .events = kind != K_NOREAD ? POLLIN :
						   c[i].sent < postlen ? POLLRDHUP | POLLOUT : POLLRDHUP };
		}
		if (poll(p, (nfds_t)np, 100) <= 0)
			continue;
		for (int j = 0; j < np; j++) {
			int i;
			char buf[65536];
			ssize_t k;

			if (!p[j].revents)
				continue;
			for (i = 0; i < n && c[i].fd != p[j].fd; i++)
				;
			if (kind == K_NOREAD) {
				if (p[j].revents & (POLLHUP | POLLERR | POLLRDHUP)) {
					c[i].closed_at = now();
				} else if (p[j].revents & POLLOUT) {
					k = write(c[i].fd, post + c[i].sent, postlen - c[i].sent);
					if (k > 0)
						c[i].sent += (size_t)k;
					else if (errno != EAGAIN)
						c[i].closed_at = now();
				}
				continue;
			}
			k = read(c[i].fd, buf, sizeof(buf) - 1);
			if (k <= 0) {
				c[i].closed_at = now();
				continue;
			}
			buf[k] = '\0';
			c[i].status = status_of(buf);
			if (c[i].status > 0 && c[i].status < 600)
				codes[c[i].status]++;
		}
	}
	for (int i = 0; i < n; i++) {
		if (c[i].closed_at > 0) {
			double d = c[i].closed_at - t0;

			closed++;
			first = !first || d < first ? d : first;
			last = d > last ? d : last;
		}
		if (c[i].fd >= 0)
			close(c[i].fd);
	}
	printf("kind=%s n=%d refused=%d closed=%d first_close_s=%.1f last_close_s=%.1f", kname, n, refused, closed, first,
	       last);
	for (int k = 100; k < 600; k++)
		if (codes[k])
			printf(" status_%d=%d", k, codes[k]);
	printf("\n");
	free(c);
	free(p);
	free(post);
	return 0;
}

/* stdin, sent as it is; then every status line that comes back, and whether the server closed. */
static int cmd_raw(const char *path, double secs)
{
	static char in[8 << 20], buf[1 << 16], all[1 << 18];
	size_t nin = fread(in, 1, sizeof(in), stdin), have = 0;
	int fd = connect_to(path);
	double end = now() + secs;
	bool closed = false;

	if (fd < 0) {
		printf("connect failed\n");
		return 2;
	}
	if (nin && write(fd, in, nin) < 0) {
		printf("write failed: %s\n", strerror(errno));
	}
	while (now() < end) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		ssize_t k;

		if (poll(&pf, 1, 50) <= 0)
			continue;
		k = read(fd, buf, sizeof(buf));
		if (k <= 0) {
			closed = true;
			break;
		}
		if (have + (size_t)k < sizeof(all)) {
			memcpy(all + have, buf, (size_t)k);
			have += (size_t)k;
		}
	}
	all[have] = '\0';
	/*
	 * Answer by answer: a status line, headers, then Content-Length bytes
	 * of body, unless another status line follows at once (1xx, HEAD).
	 */
	printf("codes=");
	for (char *s = all, *sep = ""; s < all + have && strncmp(s, "HTTP/1.1 ", 9) == 0; sep = ",") {
		char *eoh = strstr(s, "\r\n\r\n"), *cl = strcasestr(s, "\r\nContent-Length:");

		printf("%s%d", sep, atoi(s + 9));
		if (!eoh)
			break;
		s = eoh + 4;
		if (cl && cl < eoh && strncmp(s, "HTTP/1.1 ", 9) != 0)
			s += strtol(cl + 17, NULL, 10);
	}
	printf(" closed=%d\n", closed);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	/* A server that hangs up is a result to report, not a reason to die. */
	signal(SIGPIPE, SIG_IGN);
	if (argc == 4 && strcmp(argv[1], "notify") == 0)
		return cmd_notify(argv[2], atof(argv[3]));
	if (argc == 5 && strcmp(argv[1], "hold") == 0)
		return cmd_hold(argv[2], atoi(argv[3]), atof(argv[4]));
	if (argc == 4 && strcmp(argv[1], "stall") == 0)
		return cmd_stall(argv[2], atof(argv[3]));
	if (argc == 4 && strcmp(argv[1], "ping") == 0)
		return cmd_ping(argv[2], atof(argv[3]));
	if (argc == 4 && strcmp(argv[1], "fresh") == 0)
		return cmd_fresh(argv[2], atof(argv[3]));
	if ((argc == 6 || argc == 7) && strcmp(argv[1], "crowd") == 0)
		return cmd_crowd(argv[2], argv[3], atoi(argv[4]), atof(argv[5]), argc == 7 ? argv[6] : NULL);
	if (argc == 4 && strcmp(argv[1], "raw") == 0)
		return cmd_raw(argv[2], atof(argv[3]));
	fprintf(stderr, "usage: sockhelper notify PATH SECONDS | hold PATH N SECONDS | stall PATH SECONDS | ping PATH SECONDS\n"
		"       | fresh PATH SECONDS | crowd PATH KIND N SECONDS [BODY] | raw PATH SECONDS\n");
	return 2;
}
