/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers for tests/test-daemon.sh that curl cannot play:
 *   notify PATH SECONDS        receive sd_notify datagrams on PATH, one per line on stdout
 *   hold PATH N SECONDS        open N keep-alive connections, one request each, then hold them
 *   stall PATH SECONDS         send half a request and report when the server hangs up
 *   ping PATH SECONDS          GET /v1/health back to back on one keep-alive connection;
 *                              print how many, the worst and the 99th percentile latency
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
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
		if (n == cap) {
			double *l = realloc(lat, (cap *= 2) * sizeof(double));

			if (!l)
				return 2;
			lat = l;
		}
		lat[n++] = now() - t0;
	}
	qsort(lat, n, sizeof(double), cmp_double);
	printf("requests=%zu max_ms=%.2f p99_ms=%.2f\n", n, n ? lat[n - 1] * 1e3 : 0, n ? lat[n * 99 / 100] * 1e3 : 0);
	free(lat);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "notify") == 0)
		return cmd_notify(argv[2], atof(argv[3]));
	if (argc == 5 && strcmp(argv[1], "hold") == 0)
		return cmd_hold(argv[2], atoi(argv[3]), atof(argv[4]));
	if (argc == 4 && strcmp(argv[1], "stall") == 0)
		return cmd_stall(argv[2], atof(argv[3]));
	if (argc == 4 && strcmp(argv[1], "ping") == 0)
		return cmd_ping(argv[2], atof(argv[3]));
	fprintf(stderr, "usage: sockhelper notify PATH SECONDS | hold PATH N SECONDS | stall PATH SECONDS | ping PATH SECONDS\n");
	return 2;
}
