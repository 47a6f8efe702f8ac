/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target for cpregd's HTTP layer (daemon/http.c with http-parser):
 * the input is what a client sends on one connection.  Each run gets a
 * server of its own, the input arrives over a socketpair and is then
 * half-closed, and the loop runs until the server closes the connection.
 * The handler touches every accessor and answers in each way the daemon
 * does: at once with a copy, with a shared ready answer, and later (from a
 * timer, as a worker's answer arrives), so that pipelining, HEAD, errors,
 * limits and a client leaving mid-request all meet the sanitizers.
 */
#include "config.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct http_blob *blob;

static void answer_later(evutil_socket_t fd, short ev, void *arg)
{
	http_reply(arg, 202, "text/plain", "later", 5);
}

static void handler(struct http_request *r, void *arg)
{
	struct event_base *base = arg;
	const char *path = http_request_path(r), *q = http_request_query(r);
	struct evbuffer *in = http_request_body(r);       /* NULL without a body */
	size_t body = in ? evbuffer_get_length(in) : 0;
	char len[32];

	{
		/* The query decoder on whatever target the input made (cpregd's /v1/check reads it). */
		struct http_query hq;
		const char *why = NULL;

		if (http_query_parse(q, &hq, &why) == 0) {
			for (size_t i = 0; i < hq.n; i++)
				(void)http_query_get(&hq, hq.key[i]);
			http_query_clear(&hq);
		}
	}
	(void)http_request_header(r, "If-None-Match");
	(void)http_request_method(r);
	(void)http_request_uid(r);
	snprintf(len, sizeof(len), "%zu", body + (q ? strlen(q) : 0));
	http_request_add_header(r, "X-Length", len);
	if (strcmp(path, "/blob") == 0) {
		http_reply_blob(r, blob);
	} else if (strcmp(path, "/later") == 0) {
		/* Answered from the loop after the client may have gone. */
		event_base_once(base, -1, EV_TIMEOUT, answer_later, r, &(struct timeval){ 0, 0 });
	} else if (http_request_verb(r) == HTTP_VERB_OTHER) {
		http_request_add_header(r, "Allow", "GET, HEAD, POST");
		http_reply(r, 405, "application/json", "{}", 2);
	} else {
		http_reply(r, 200, "text/plain", path, strlen(path));
	}
}

static size_t error_body(int code, const char *msg, char *buf, size_t len)
{
	int n = snprintf(buf, len, "{\"error\": {\"code\": %d, \"message\": \"%s\"}}\n", code, msg);

	return n > 0 && (size_t)n < len ? (size_t)n : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Small limits, so that the fuzzer reaches them. */
	const struct http_limits lim = {
		.max_conns = 4, .max_per_uid = 4, .max_header = 2048, .max_body = 4096,
		.request_timeout = 10, .idle_timeout = 10, .write_timeout = 10, .input_budget = 8192,
	};
	struct event_base *base = event_base_new();
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), sv[2];
	struct http_server *srv = base && lfd >= 0 ? http_server_new(base, lfd, &lim, handler, base) : NULL;
	size_t off = 0;
	char sink[65536];

	if (!srv || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
		abort();
	http_server_set_common_header(srv, "API-Version: 1");
	http_server_set_error_body(srv, error_body);
	if (!blob)
		blob = http_blob_new(200, "application/json", "ETag: \"x\"\r\n", "{\"ready\": true}\n", 16);
	http_server_adopt(srv, sv[0]);
	/* Feed, drain the answers, until the server hangs up (bounded: a stuck connection is a finding too). */
	for (int i = 0; i < 10000; i++) {
		ssize_t k;

		if (off < size) {
			k = write(sv[1], data + off, size - off);
			if (k > 0)
				off += (size_t)k;
			if (off == size)
				shutdown(sv[1], SHUT_WR);
		} else if (size == 0 && i == 0) {
			shutdown(sv[1], SHUT_WR);
		}
		event_base_loop(base, EVLOOP_NONBLOCK);
		k = read(sv[1], sink, sizeof(sink));
		if (k == 0)
			break;
		if (i == 9999)
			abort();    /* the server neither answered nor closed after the client finished */
	}
	close(sv[1]);
	http_server_free(srv);
	close(lfd);
	event_base_free(base);
	return 0;
}
