/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A small blocking HTTP/1.1 client over a UNIX stream socket, for cpregctl. */
#ifndef CPREG_CLIENT_H
#define CPREG_CLIENT_H

#include <stddef.h>

struct http_reply {
	int status;
	char *body;      /* NUL-terminated; free() it */
	size_t body_len;
	char etag[96];
};

/*
 * Send one request (body may be NULL) and read the whole reply.  Returns 0
 * or a negative errno; *what names the step that failed.
 */
int http_unix_request(const char *socket_path, const char *method, const char *target,
		      const char *body, size_t body_len, int timeout_ms,
		      struct http_reply *ret, const char **what);

#endif
