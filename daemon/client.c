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

/* The whole reply until the daemon closes (Connection: close), NUL-terminated, into *ret. */
static int read_reply(int fd, int64_t deadline, char **ret, size_t *ret_len)
{
	char *buf = NULL, *n;
	size_t len = 0, cap = 0;
	ssize_t k;
	int r;

	for (;;) {
		if (len + 4096 > cap) {
			if (cap >= REPLY_MAX) {
				free(buf);
				return -EFBIG;
			}
			cap = cap ? cap * 2 : 65536;
			n = realloc(buf, cap + 1);
			if (!n) {
				free(buf);
				return -ENOMEM;
			}
			buf = n;
		}
		r = wait_fd(fd, POLLIN, deadline);
		if (r < 0) {
			free(buf);
			return r;
		}
		k = recv(fd, buf + len, cap - len, MSG_DONTWAIT);
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (k < 0) {
			r = -errno;
			free(buf);
			return r;
		}
		if (k == 0)
			break;
		len += k;
	}
	if (buf)
		buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	return 0;
}

/* The reply's status, ETag and body (moved to the start of buf, which ret then owns). */
static int parse_reply(char *buf, size_t len, struct http_reply *ret)
{
	char *p;

	if (sscanf(buf, "HTTP/1.%*d %d", &ret->status) != 1 || !(p = strstr(buf, "\r\n\r\n")))
		return -EPROTO;
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
	return 0;
}

/* The request line, the headers and the body. */
static int send_request(int fd, const char *method, const char *target, const char *body, size_t body_len,
			int64_t deadline)
{
	char head[512];
	int r;

	snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
		 "User-Agent: cpregctl/" PACKAGE_VERSION "\r\n%s%s%s",
		 method, target, body ? "Content-Type: application/json\r\n" : "",
		 body ? "Content-Length: " : "", body ? "" : "\r\n");
	if ((r = write_all(fd, head, strlen(head), deadline)) < 0 || !body)
		return r;
	snprintf(head, sizeof(head), "%zu\r\n\r\n", body_len);
	if ((r = write_all(fd, head, strlen(head), deadline)) < 0)
		return r;
	return write_all(fd, body, body_len, deadline);
}

int http_unix_request(const char *socket_path, const char *method, const char *target,
		      const char *body, size_t body_len, int timeout_ms,
		      struct http_reply *ret, const char **what)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int64_t deadline = now_ms() + timeout_ms;
	char *buf = NULL;
	size_t len = 0;
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
	*what = "connect";
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	if (r == 0) {
		*what = "send";
		r = send_request(fd, method, target, body, body_len, deadline);
	}
	if (r == 0) {
		*what = "receive";
		r = read_reply(fd, deadline, &buf, &len);
	}
	if (r == 0 && (!buf || len == 0)) {
		*what = "receive (the daemon closed the connection without a reply; a request slower than "
			"cpregd --timeout is cut)";
		r = -EPROTO;
	}
	if (r == 0) {
		*what = "parse reply";
		r = parse_reply(buf, len, ret);
	}
	if (r < 0)
		free(buf);
	close(fd);
	return r;
}
