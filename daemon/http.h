/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A lean HTTP/1.1 server for cpregd's UNIX socket, on libevent
 * bufferevents and Debian's http-parser (the parser Node.js used for
 * years).  It replaces evhttp because evhttp cannot do what a daemon
 * polled by everyone must: own each descriptor at accept (count it, check
 * the peer's uid, refuse or evict before reading a byte), give a request a
 * deadline for all of its headers and body rather than per byte, keep an
 * idle keep-alive connection apart from a slow one, survive EMFILE, bound
 * what it buffers, and hand a response built once to every client by
 * reference instead of copying it per request.
 *
 * The limits are documented in cpregd(8), LIMITS; their counters are in
 * struct http_stats, which /metrics exposes.
 */
#ifndef CPREGD_HTTP_H
#define CPREGD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <event2/buffer.h>
#include <event2/event.h>

struct http_server;
struct http_request;

struct http_limits {
	int max_conns;          /* open connections in all */
	int max_per_uid;        /* open connections of one peer uid (SO_PEERCRED) */
	size_t max_header;      /* request line and headers, bytes */
	size_t max_body;        /* request body, bytes */
	int request_timeout;    /* seconds for a request's headers and body, all of it, from its first byte */
	int idle_timeout;       /* seconds a keep-alive connection may wait for its next request */
	int write_timeout;      /* seconds without the client reading any of its answer */
	size_t input_budget;    /* request bytes held by all connections; above it, reading pauses */
};

struct http_stats {
	int current;                    /* open connections */
	int handling;                   /* requests the handler holds */
	uint64_t accepted;
	uint64_t refused_limit;         /* 503 at accept: --max-connections, nothing idle to evict */
	uint64_t refused_uid;           /* 503 at accept: --max-connections-per-uid */
	uint64_t evicted;               /* idle keep-alive connections closed to admit a new one */
	uint64_t timeout_request;       /* 408: headers and body not in within the deadline */
	uint64_t timeout_idle;          /* idle keep-alive connections closed */
	uint64_t timeout_write;         /* clients that stopped reading their answer */
	uint64_t malformed;             /* 4xx from the parser: bad syntax, too large */
	uint64_t accept_errors;         /* accept(2) failures (EMFILE answered from the reserve) */
	uint64_t input_paused;          /* times a connection's reading waited for the input budget */
	size_t input_bytes;             /* request bytes held now */
	size_t output_bytes;            /* answer bytes queued now, not counting shared ones */
};

/*
 * The handler gets each complete request.  It answers at once or keeps
 * the request and answers later (from a worker's completion); until it
 * answers, no further request on that connection is read.  A request whose
 * client has gone is still answered (the answer is dropped), so the
 * handler never needs to know.
 */
typedef void (*http_handler_fn)(struct http_request *req, void *arg);

struct http_server *http_server_new(struct event_base *base, int listen_fd, const struct http_limits *lim,
				    http_handler_fn handler, void *arg);
/* Closes every connection; requests still held by the handler are freed too. */
void http_server_free(struct http_server *srv);
const struct http_stats *http_server_stats(const struct http_server *srv);
/* Serve a connected socket as if accepted (the fuzz target's socketpair; the limits apply). */
void http_server_adopt(struct http_server *srv, int fd);
/* Stop and restart accepting (shutdown drains without taking new clients). */
void http_server_pause_accept(struct http_server *srv, bool pause);

enum http_verb { HTTP_VERB_GET, HTTP_VERB_HEAD, HTTP_VERB_POST, HTTP_VERB_OTHER };

enum http_verb http_request_verb(const struct http_request *req);
const char *http_request_method(const struct http_request *req);
const char *http_request_path(const struct http_request *req);
/* The raw query string after '?', or NULL. */
const char *http_request_query(const struct http_request *req);
/*
 * A query string split and decoded: "policy=qemu-11.1&psci=1.1".  Parts are
 * split on '&', each at its first '='; keys and values are percent-decoded,
 * and '+' in a value is a space (as HTML forms send it).  The daemon's own
 * decoder: libevent's lives in libevent_extra, a library of its own.
 */
#define HTTP_QUERY_MAX 16
struct http_query {
	size_t n;
	const char *key[HTTP_QUERY_MAX], *value[HTTP_QUERY_MAX];
	char *buf;      /* the decoded copy that key[] and value[] point into */
};
/*
 * 0, or -1 with *why saying what is wrong (a part without '=', an empty
 * key, a bad %-escape, an encoded NUL, more than HTTP_QUERY_MAX parts, out
 * of memory); q is then empty.  NULL or "" is a query without parts.
 */
int http_query_parse(const char *query, struct http_query *q, const char **why);
/* The value of the first part named key, or NULL. */
const char *http_query_get(const struct http_query *q, const char *key);
void http_query_clear(struct http_query *q);

/* A request header's value (the first of that name), or NULL. */
const char *http_request_header(const struct http_request *req, const char *name);
/* The request's body; NULL when it had none (buffers are made only for requests that send one). */
struct evbuffer *http_request_body(struct http_request *req);
/* The client's uid by SO_PEERCRED, -1 when unknown. */
long http_request_uid(const struct http_request *req);

/* Extra response headers, each "Name: value" (added before the answer). */
int http_request_add_header(struct http_request *req, const char *name, const char *value);

/*
 * Answer with a body that is copied.  Every answer carries Content-Length
 * (also for HEAD, which sends no body), API-Version when the server was
 * given one, and Connection: close when the connection ends after it.
 */
void http_reply(struct http_request *req, int code, const char *ctype, const void *body, size_t len);

/*
 * A ready answer: status line, headers and body built once, then sent to
 * any number of requests by reference (no copy, no formatting).  Loop
 * thread only.
 */
struct http_blob;
struct http_blob *http_blob_new(int code, const char *ctype, const char *extra_headers, const void *body, size_t len);
struct http_blob *http_blob_ref(struct http_blob *b);
void http_blob_unref(struct http_blob *b);
int http_blob_code(const struct http_blob *b);
void http_reply_blob(struct http_request *req, struct http_blob *b);

/* The reason phrase of a status (RFC 9110 section 15). */
const char *http_reason(int code);

/* Every answer's constant headers, e.g. "API-Version: 1" (NULL: none). */
void http_server_set_common_header(struct http_server *srv, const char *line);
/* The body of the errors the server writes itself (408, 413, 431, 400, 503 at accept): JSON. */
typedef size_t (*http_error_body_fn)(int code, const char *message, char *buf, size_t len);
void http_server_set_error_body(struct http_server *srv, http_error_body_fn fn);

#endif
