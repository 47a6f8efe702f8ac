/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cpregctl's side of the socket: one request per connection
 * ("Connection: close"), so the reply ends at EOF or Content-Length.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

#define REPLY_MAX (64u << 20)

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wait_fd(int fd, short ev, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int64_t left = deadline - now_ms();
	int r;

	if (left <= 0)
		return -ETIMEDOUT;
	r = poll(&p, 1, (int)left);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	return r == 0 ? -ETIMEDOUT : 1;
}

static int write_all(int fd, const char *p, size_t len, int64_t deadline)
{
	while (len > 0) {
		ssize_t k = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
			int r = wait_fd(fd, POLLOUT, deadline);

			if (r < 0)
				return r;
			continue;
		}
		if (k < 0)
			return -errno;
		p += k;
		len -= k;
	}
	return 0;
}

int http_unix_request(const char *socket_path, const char *method, const char *target,
		      const char *body, size_t body_len, int timeout_ms,
		      struct http_reply *ret, const char **what)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int64_t deadline = now_ms() + timeout_ms;
	char head[512], *buf = NULL, *p;
	size_t len = 0, cap = 0;
	int fd, r;

	memset(ret, 0, sizeof(*ret));
	if (strlen(socket_path) >= sizeof(sa.sun_path)) {
		*what = "socket path";
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*what = "socket";
		return -errno;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		*what = "connect";
		goto out;
	}
	snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
		 "User-Agent: cpregctl/" PACKAGE_VERSION "\r\n%s%s%s",
		 method, target, body ? "Content-Type: application/json\r\n" : "",
		 body ? "Content-Length: " : "", body ? "" : "\r\n");
	*what = "send";
	if ((r = write_all(fd, head, strlen(head), deadline)) < 0)
		goto out;
	if (body) {
		snprintf(head, sizeof(head), "%zu\r\n\r\n", body_len);
		if ((r = write_all(fd, head, strlen(head), deadline)) < 0 ||
		    (r = write_all(fd, body, body_len, deadline)) < 0)
			goto out;
	}
	*what = "receive";
	for (;;) {
		ssize_t k;

		if (len + 4096 > cap) {
			char *n;

			if (cap >= REPLY_MAX) {
				r = -EFBIG;
				goto out;
			}
			cap = cap ? cap * 2 : 65536;
			n = realloc(buf, cap + 1);
			if (!n) {
				r = -ENOMEM;
				goto out;
			}
			buf = n;
		}
		r = wait_fd(fd, POLLIN, deadline);
		if (r < 0)
			goto out;
		k = recv(fd, buf + len, cap - len, MSG_DONTWAIT);
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (k < 0) {
			r = -errno;
			goto out;
		}
		if (k == 0)
			break;
		len += k;
	}
	if (!buf || len == 0) {
		*what = "receive (the daemon closed the connection without a reply; a request slower than "
			"cpregd --timeout is cut)";
		r = -EPROTO;
		goto out;
	}
	buf[len] = '\0';
	*what = "parse reply";
	if (sscanf(buf, "HTTP/1.%*d %d", &ret->status) != 1) {
		r = -EPROTO;
		goto out;
	}
	p = strstr(buf, "\r\n\r\n");
	if (!p) {
		r = -EPROTO;
		goto out;
	}
	*p = '\0';
	for (char *h = strstr(buf, "\r\n"); h && *h; h = strstr(h + 2, "\r\n")) {
		if (strncasecmp(h + 2, "ETag:", 5) == 0) {
			char *v = h + 7;

			while (*v == ' ')
				v++;
			snprintf(ret->etag, sizeof(ret->etag), "%.*s", (int)strcspn(v, "\r"), v);
		}
	}
	ret->body_len = len - (size_t)(p + 4 - buf);
	memmove(buf, p + 4, ret->body_len + 1);
	ret->body = buf;
	buf = NULL;
	r = 0;
out:
	free(buf);
	close(fd);
	return r;
}
