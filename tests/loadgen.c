/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A load generator for tests/bench-serve.sh: N keep-alive connections over
 * a UNIX socket, one request in flight on each, driven by one epoll loop.
 * Every answer is read whole (Content-Length) and, with --expect, its body
 * compared with the file byte for byte: a server that answers fast but
 * wrong does not count.  Latency from the request's write to the answer's
 * last byte goes into a histogram of 1 us buckets up to 100 ms (then one
 * overflow bucket, whose samples are kept exactly for the maximum).
 *
 *   loadgen SOCKET --conns N --seconds S [--path P] [--post FILE]
 *           [--expect FILE] [--status CODE]
 * prints one line: conns= requests= errors= rps= p50_us= p99_us= max_us=
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define BUCKETS 100000  /* 1 us each */

struct conn {
	int fd;
	char *buf;
	size_t have, cap;
	size_t out_off;
	uint64_t t0;
};

static char *request;
static size_t request_len;
static char *expect;
static size_t expect_len;
static int want_status = 200;
static uint64_t hist[BUCKETS + 1], requests, errors, max_ns;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	char *b;

	if (!f || fstat(fileno(f), &st) < 0)
		return NULL;
	b = malloc((size_t)st.st_size + 1);
	if (!b || fread(b, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
		return NULL;
	fclose(f);
	*len = (size_t)st.st_size;
	return b;
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	/* Blocking connect (a full backlog waits instead of failing), then non-blocking I/O. */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

static void send_request(struct conn *c)
{
	c->t0 = now_ns();
	c->out_off = 0;
	while (c->out_off < request_len) {
		ssize_t k = write(c->fd, request + c->out_off, request_len - c->out_off);

		if (k < 0) {
			if (errno == EAGAIN)
				return;     /* the rest goes when writable */
			errors++;
			return;
		}
		c->out_off += (size_t)k;
	}
}

/* 1: an answer is complete (and judged), 0: more to read, -1: broken. */
static int take_answer(struct conn *c)
{
	char *eoh, *cl;
	long clen;
	size_t head;

	c->buf[c->have] = '\0';
	eoh = strstr(c->buf, "\r\n\r\n");
	if (!eoh)
		return 0;
	head = (size_t)(eoh + 4 - c->buf);
	cl = strcasestr(c->buf, "\r\nContent-Length:");
	clen = cl && cl < eoh ? strtol(cl + 17, NULL, 10) : 0;
	if (c->have < head + (size_t)clen)
		return 0;
	{
		uint64_t d = now_ns() - c->t0;
		bool ok = strncmp(c->buf, "HTTP/1.1 ", 9) == 0 && atoi(c->buf + 9) == want_status;

		if (ok && expect && ((size_t)clen != expect_len || memcmp(c->buf + head, expect, expect_len) != 0))
			ok = false;
		if (!ok)
			errors++;
		requests++;
		hist[d / 1000 < BUCKETS ? d / 1000 : BUCKETS]++;
		if (d > max_ns)
			max_ns = d;
	}
	/* Pipelining is not used: nothing can follow the answer. */
	c->have = 0;
	return 1;
}

static uint64_t percentile(double p)
{
	uint64_t want = (uint64_t)(requests * p), seen = 0;

	for (int i = 0; i <= BUCKETS; i++) {
		seen += hist[i];
		if (seen > want)
			return i == BUCKETS ? max_ns / 1000 : (uint64_t)i;
	}
	return max_ns / 1000;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "conns", required_argument, NULL, 'c' }, { "seconds", required_argument, NULL, 's' },
		{ "path", required_argument, NULL, 'p' }, { "post", required_argument, NULL, 'P' },
		{ "expect", required_argument, NULL, 'e' }, { "status", required_argument, NULL, 'S' }, {}
	};
	const char *path = "/v1/inventory", *post = NULL;
	int nconns = 1, o, ep;
	double secs = 3;
	struct conn *cs;
	uint64_t start, end;
	struct rlimit rl;

	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (o) {
		case 'c': nconns = atoi(optarg); break;
		case 's': secs = atof(optarg); break;
		case 'p': path = optarg; break;
		case 'P': post = optarg; break;
		case 'e': expect = slurp(optarg, &expect_len); if (!expect) { perror(optarg); return 2; } break;
		case 'S': want_status = atoi(optarg); break;
		default: return 2;
		}
	}
	if (optind != argc - 1 || nconns < 1) {
		fprintf(stderr, "usage: loadgen SOCKET --conns N --seconds S [--path P] [--post FILE] [--expect FILE] [--status N]\n");
		return 2;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (post) {
		size_t blen;
		char *body = slurp(post, &blen);

		if (!body) {
			perror(post);
			return 2;
		}
		request = malloc(blen + 512);
		request_len = (size_t)sprintf(request, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
					      "Content-Length: %zu\r\n\r\n", path, blen);
		memcpy(request + request_len, body, blen);
		request_len += blen;
		free(body);
	} else {
		request_len = (size_t)asprintf(&request, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	cs = calloc((size_t)nconns, sizeof(*cs));
	for (int i = 0; i < nconns; i++) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = &cs[i] };

		cs[i].fd = connect_to(argv[optind]);
		cs[i].cap = (expect_len ? expect_len : 1 << 16) * 8 + 4096;
		cs[i].buf = malloc(cs[i].cap + 1);
		if (cs[i].fd < 0 || !cs[i].buf || epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev) < 0) {
			fprintf(stderr, "loadgen: connection %d: %s\n", i, strerror(errno));
			return 2;
		}
	}
	start = now_ns();
	end = start + (uint64_t)(secs * 1e9);
	for (int i = 0; i < nconns; i++)
		send_request(&cs[i]);
	while (now_ns() < end) {
		struct epoll_event evs[256];
		int n = epoll_wait(ep, evs, 256, 100);

		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if ((evs[i].events & EPOLLOUT) && c->out_off < request_len) {
				ssize_t k = write(c->fd, request + c->out_off, request_len - c->out_off);

				if (k > 0)
					c->out_off += (size_t)k;
			}
			if (!(evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				continue;
			for (;;) {
				ssize_t k;
				int r;

				if (c->have == c->cap) {
					errors++;
					c->have = 0;
				}
				k = read(c->fd, c->buf + c->have, c->cap - c->have);
				if (k == 0 || (k < 0 && errno != EAGAIN)) {
					fprintf(stderr, "loadgen: the server closed a connection after %llu requests\n",
						(unsigned long long)requests);
					return 1;
				}
				if (k < 0)
					break;
				c->have += (size_t)k;
				r = take_answer(c);
				if (r == 1 && now_ns() < end)
					send_request(c);
			}
		}
	}
	{
		double el = (now_ns() - start) / 1e9;

		printf("conns=%d requests=%llu errors=%llu rps=%.0f p50_us=%llu p99_us=%llu max_us=%llu\n", nconns,
		       (unsigned long long)requests, (unsigned long long)errors, requests / el,
		       (unsigned long long)percentile(0.5), (unsigned long long)percentile(0.99),
		       (unsigned long long)(max_ns / 1000));
	}
	return errors ? 1 : 0;
}
