/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The HTTP server's insides, shared by its two rooms: connections, limits
 * and accounting (http.c), and one request's parsing, its view for the
 * handler and its answers (http-request.c).
 */
#ifndef CPREGD_HTTP_INTERNAL_H
#define CPREGD_HTTP_INTERNAL_H

#include <stdbool.h>
#include <sys/queue.h>

#include <event2/bufferevent.h>
#include <http_parser.h>

#include "http.h"


/* Headers kept per request: far above what any client of this API sends. */
#define MAX_HEADERS 64
/* Connections being told 503 at once (read their request, answer, close); beyond this they are closed at once. */
#define MAX_REFUSING 64
/* How long a refused client has to send its request before it is closed. */
#define REFUSE_TIMEOUT_MS 1000

enum cstate { C_IDLE, C_READING, C_HANDLING, C_WRITING };

struct hdr {
	uint32_t name, value;   /* offsets into the arena, NUL-terminated */
};

struct uid_slot {
	uid_t uid;
	int n;
};

struct http_request {
	struct conn *c;
	enum http_verb verb;
	char *arena;            /* URL, then header names and values, each NUL-terminated */
	size_t alen, acap;
	uint32_t url_end;
	bool url_done, in_value;
	struct hdr *hdrs;       /* grown to MAX_HEADERS, kept with the connection: clients send a handful */
	int nhdrs, hcap;
	char *path, *query;     /* owned copies, made when the headers are complete */
	/*
	 * Made on first use, then kept with the connection: most requests
	 * have no body and add no header, and at 256 connections two empty
	 * buffers each were a tenth of cpregd's own memory.
	 */
	struct evbuffer *body;
	struct evbuffer *extra; /* response headers the handler added */
	bool keep_alive;
	bool complete;
};

struct conn {
	TAILQ_ENTRY(conn) link;
	TAILQ_ENTRY(conn) plink;        /* in the paused list */
	struct http_server *srv;
	struct bufferevent *bev;
	struct event *timer;
	http_parser parser;
	struct http_request req;
	enum cstate state;
	long uid;
	struct timeval since;           /* entered the current state */
	bool had_request;               /* answered at least once: idle means keep-alive */
	bool gone;                      /* socket closed while the handler holds the request */
	bool close_after;               /* close once the answer is written */
	bool eof;
	bool paused;
	bool refusing;                  /* admitted only to be told 503 */
	int refuse_code;
	char refuse_msg[160];
	int err_code;                   /* set by a parser callback that refuses the request */
	const char *err_msg;
	size_t held_in, owned_out;
};

TAILQ_HEAD(connq, conn);

struct http_server {
	struct event_base *base;
	struct http_limits lim;
	http_handler_fn handler;
	void *arg;
	int lfd, reserve_fd;
	struct event *accept_ev, *accept_backoff, *resume_ev;
	struct connq conns, paused;
	int nrefusing;
	struct uid_slot *uids;
	size_t nuids;
	http_error_body_fn error_body;
	bool accept_paused;
	struct http_stats st;
};

extern char *common_header;     /* "API-Version: 1\r\n": every answer carries it (http.c) */


/* http.c */
void release_out(struct conn *c);
void set_state(struct conn *c, enum cstate s);
void conn_fail(struct conn *c, int code, const char *msg, const char *extra);
void conn_process(struct conn *c);
void conn_free(struct conn *c);

/* http-request.c: it calls nothing of http.c */
void hold_in(struct conn *c, size_t n);
void release_in(struct conn *c);
extern const http_parser_settings http_settings;
void req_reset(struct conn *c);

#endif
