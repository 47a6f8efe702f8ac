// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * cpregd's HTTP/1.1 server: see http.h for why it exists.
 *
 * A connection is in one of four states:
 *   IDLE      waiting for the first byte of a request.  After accept the
 *             request deadline runs; after an answer, the idle timeout.
 *             An idle keep-alive connection (one that has had an answer)
 *             is what gets evicted when a new client finds the server full.
 *   READING   a request is arriving: one deadline for all of it, set at
 *             its first byte and never restarted (one byte a second does
 *             not keep a connection alive), then 408.
 *   HANDLING  the handler holds the request; nothing more is read from
 *             this client (no pipelined request is parsed) until it answers.
 *   WRITING   the answer is queued; bufferevent's write timeout drops a
 *             client that stops reading.  Once it is written, the next
 *             pipelined request, if any, is parsed.
 * A connection that closes while HANDLING stays allocated (its socket
 * closed, "gone") until the handler answers, so the handler never holds a
 * dangling request.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

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

static char *common_header;     /* "API-Version: 1\r\n" */

const char *http_reason(int code)
{
	switch (code) {
	case 100: return "Continue";
	case 200: return "OK";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 417: return "Expectation Failed";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return code < 400 ? "OK" : code < 500 ? "Bad Request" : "Internal Server Error";
	}
}

void http_server_set_common_header(struct http_server *srv, const char *line)
{
	free(common_header);
	common_header = NULL;
	if (line && asprintf(&common_header, "%s\r\n", line) < 0)
		common_header = NULL;
}

void http_server_set_error_body(struct http_server *srv, http_error_body_fn fn)
{
	srv->error_body = fn;
}

const struct http_stats *http_server_stats(const struct http_server *srv)
{
	return &srv->st;
}

/* ---- accounting ---- */

static struct uid_slot *uid_slot(struct http_server *srv, long uid, bool create)
{
	for (size_t i = 0; i < srv->nuids; i++)
		if ((long)srv->uids[i].uid == uid)
			return &srv->uids[i];
	if (!create)
		return NULL;
	{
		struct uid_slot *u = reallocarray(srv->uids, srv->nuids + 1, sizeof(*u));

		if (!u)
			return NULL;
		srv->uids = u;
		u[srv->nuids] = (struct uid_slot){ .uid = (uid_t)uid };
		return &u[srv->nuids++];
	}
}

static void hold_in(struct conn *c, size_t n)
{
	c->held_in += n;
	c->srv->st.input_bytes += n;
}

static void release_in(struct conn *c)
{
	struct http_server *srv = c->srv;

	srv->st.input_bytes -= c->held_in;
	c->held_in = 0;
	/* Someone waits for the budget: let them go on from a callback of their own (no re-entry). */
	if (!TAILQ_EMPTY(&srv->paused) && srv->st.input_bytes < srv->lim.input_budget)
		event_active(srv->resume_ev, EV_TIMEOUT, 0);
}

static void release_out(struct conn *c)
{
	c->srv->st.output_bytes -= c->owned_out;
	c->owned_out = 0;
}

/* ---- requests ---- */

static void req_reset(struct conn *c)
{
	struct http_request *r = &c->req;

	r->alen = 0;
	r->url_end = 0;
	r->url_done = r->in_value = false;
	r->nhdrs = 0;
	free(r->path);
	free(r->query);
	r->path = r->query = NULL;
	r->complete = false;
	if (r->body)
		evbuffer_drain(r->body, evbuffer_get_length(r->body));
	if (r->extra)
		evbuffer_drain(r->extra, evbuffer_get_length(r->extra));
	release_in(c);
	/* A long body's arena and buffers go back, not kept per idle connection. */
	if (r->acap > 4096) {
		free(r->arena);
		r->arena = NULL;
		r->acap = 0;
	}
}

static int arena_add(struct conn *c, const char *p, size_t n)
{
	struct http_request *r = &c->req;

	if (r->alen + n + 1 > c->srv->lim.max_header) {
		c->err_code = 431;
		c->err_msg = "request line and headers too large (limit in cpregd(8), LIMITS)";
		return -1;
	}
	if (r->alen + n + 1 > r->acap) {
		size_t cap = r->acap ? r->acap : 512;
		char *a;

		while (cap < r->alen + n + 1)
			cap *= 2;
		a = realloc(r->arena, cap);
		if (!a) {
			c->err_code = 503;
			c->err_msg = "out of memory";
			return -1;
		}
		r->arena = a;
		hold_in(c, cap - r->acap);
		r->acap = cap;
	}
	memcpy(r->arena + r->alen, p, n);
	r->alen += n;
	return 0;
}

static int arena_nul(struct conn *c)
{
	return arena_add(c, "", 1);
}

static int on_message_begin(http_parser *p)
{
	struct conn *c = p->data;

	/* A request's first byte: its deadline was set when the byte arrived. */
	c->req.alen = 0;
	c->req.nhdrs = 0;
	c->req.url_end = 0;
	c->req.url_done = c->req.in_value = false;
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
	return arena_add(p->data, at, n);
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
	struct conn *c = p->data;
	struct http_request *r = &c->req;

	if (!r->url_done) {
		if (arena_nul(c) < 0)
			return -1;
		r->url_end = (uint32_t)r->alen;
		r->url_done = true;
	}
	if (r->in_value || r->nhdrs == 0) {
		if (r->nhdrs > 0 && arena_nul(c) < 0)
			return -1;
		if (r->nhdrs == MAX_HEADERS) {
			c->err_code = 431;
			c->err_msg = "too many header fields";
			return -1;
		}
		if (r->nhdrs == r->hcap) {
			int cap = r->hcap ? 2 * r->hcap : 8;
			struct hdr *h = reallocarray(r->hdrs, (size_t)cap, sizeof(*h));

			if (!h) {
				c->err_code = 503;
				c->err_msg = "out of memory";
				return -1;
			}
			r->hdrs = h;
			r->hcap = cap;
		}
		r->hdrs[r->nhdrs++] = (struct hdr){ .name = (uint32_t)r->alen, .value = UINT32_MAX };
		r->in_value = false;
	}
	return arena_add(c, at, n);
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
	struct conn *c = p->data;
	struct http_request *r = &c->req;

	if (!r->in_value) {
		if (arena_nul(c) < 0)
			return -1;
		r->hdrs[r->nhdrs - 1].value = (uint32_t)r->alen;
		r->in_value = true;
	}
	return arena_add(c, at, n);
}

const char *http_request_header(const struct http_request *r, const char *name)
{
	for (int i = 0; i < r->nhdrs; i++)
		if (r->hdrs[i].value != UINT32_MAX && strcasecmp(r->arena + r->hdrs[i].name, name) == 0)
			return r->arena + r->hdrs[i].value;
	return NULL;
}

static void send_continue(struct conn *c)
{
	bufferevent_write(c->bev, "HTTP/1.1 100 Continue\r\n\r\n", 25);
}

static int on_headers_complete(http_parser *p)
{
	struct conn *c = p->data;
	struct http_request *r = &c->req;
	struct http_parser_url u;
	const char *url;
	size_t ulen;

	if (!r->url_done) {
		if (arena_nul(c) < 0)
			return -1;
		r->url_end = (uint32_t)r->alen;
		r->url_done = true;
	} else if (r->nhdrs > 0) {
		if (!r->in_value) {
			/* A field with no value at all: give it an empty one. */
			if (arena_nul(c) < 0)
				return -1;
			r->hdrs[r->nhdrs - 1].value = (uint32_t)r->alen;
		}
		if (arena_nul(c) < 0)
			return -1;
	}
	/*
	 * Field names are tokens (RFC 9110 5.1): http-parser lets a space
	 * through, which a proxy in front could read differently (smuggling).
	 */
	for (int i = 0; i < r->nhdrs; i++)
		for (const char *k = r->arena + r->hdrs[i].name; *k; k++)
			if (!strchr("!#$%&'*+-.^_`|~", *k) && !(*k >= '0' && *k <= '9') && !((*k | 0x20) >= 'a' && (*k | 0x20) <= 'z')) {
				c->err_code = 400;
				c->err_msg = "malformed request: a header field name that is not a token";
				return -1;
			}
	url = r->arena;
	ulen = r->url_end - 1;
	http_parser_url_init(&u);
	if (ulen == 0 || http_parser_parse_url(url, ulen, p->method == HTTP_CONNECT, &u) != 0 ||
	    !(u.field_set & (1 << UF_PATH))) {
		c->err_code = 400;
		c->err_msg = "malformed request target: expected an absolute path such as /v1/health";
		return -1;
	}
	r->path = strndup(url + u.field_data[UF_PATH].off, u.field_data[UF_PATH].len);
	if (u.field_set & (1 << UF_QUERY))
		r->query = strndup(url + u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len);
	if (!r->path || ((u.field_set & (1 << UF_QUERY)) && !r->query)) {
		c->err_code = 503;
		c->err_msg = "out of memory";
		return -1;
	}
	if (p->http_major != 1) {
		c->err_code = 505;
		c->err_msg = "only HTTP/1.0 and HTTP/1.1 are spoken here";
		return -1;
	}
	switch (p->method) {
	case HTTP_GET: r->verb = HTTP_VERB_GET; break;
	case HTTP_HEAD: r->verb = HTTP_VERB_HEAD; break;
	case HTTP_POST: r->verb = HTTP_VERB_POST; break;
	default: r->verb = HTTP_VERB_OTHER; break;
	}
	if ((p->flags & F_CONTENTLENGTH) && p->content_length > c->srv->lim.max_body) {
		c->err_code = 413;
		c->err_msg = "request body too large (limit: cpregd --max-body)";
		return -1;
	}
	r->keep_alive = http_should_keep_alive(p) && !p->upgrade;
	{
		const char *e = http_request_header(r, "Expect");

		if (e && strcasecmp(e, "100-continue") == 0 && p->http_minor >= 1 && !c->refusing)
			send_continue(c);
		else if (e && strcasecmp(e, "100-continue") != 0) {
			c->err_code = 417;
			c->err_msg = "the only expectation understood is 100-continue";
			return -1;
		}
	}
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
	struct conn *c = p->data;
	struct http_request *r = &c->req;

	if ((r->body ? evbuffer_get_length(r->body) : 0) + n > c->srv->lim.max_body) {
		c->err_code = 413;
		c->err_msg = "request body too large (limit: cpregd --max-body)";
		return -1;
	}
	if (c->refusing)
		return 0;
	if ((!r->body && !(r->body = evbuffer_new())) || evbuffer_add(r->body, at, n) < 0) {
		c->err_code = 503;
		c->err_msg = "out of memory";
		return -1;
	}
	hold_in(c, n);
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct conn *c = p->data;

	c->req.complete = true;
	/* One request at a time: the rest of the input waits until this one is answered. */
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

/* ---- connections ---- */

static void conn_free(struct conn *c);
static void conn_process(struct conn *c);

static void set_state(struct conn *c, enum cstate s)
{
	c->state = s;
	gettimeofday(&c->since, NULL);
}

static void arm_timer(struct conn *c, int secs)
{
	struct timeval tv = { secs, 0 };

	if (c->refusing)
		tv = (struct timeval){ REFUSE_TIMEOUT_MS / 1000, REFUSE_TIMEOUT_MS % 1000 * 1000 };
	evtimer_add(c->timer, &tv);
}

static size_t error_body(struct http_server *srv, int code, const char *msg, char *buf, size_t len)
{
	if (srv->error_body)
		return srv->error_body(code, msg, buf, len);
	return (size_t)snprintf(buf, len, "%s\n", msg) < len ? strlen(buf) : 0;
}

/*
 * An answer the server writes itself (the request could not be read, or
 * the client is refused): always the last on its connection.
 */
static void conn_fail(struct conn *c, int code, const char *msg, const char *extra)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	char body[512];
	size_t n = error_body(c->srv, code, msg, body, sizeof(body));
	size_t before = evbuffer_get_length(out);

	if (c->state == C_HANDLING)
		return;     /* the handler answers; it cannot be two answers */
	if (c->paused) {
		/* A request waiting for the input budget that timed out: it waits no more. */
		TAILQ_REMOVE(&c->srv->paused, c, plink);
		c->paused = false;
	}
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: application/json; charset=utf-8\r\n"
			    "Content-Length: %zu\r\n%s%sConnection: close\r\n\r\n", code, http_reason(code), n,
			    common_header ? common_header : "", extra ? extra : "");
	evbuffer_add(out, body, n);
	c->owned_out += evbuffer_get_length(out) - before;
	c->srv->st.output_bytes += evbuffer_get_length(out) - before;
	evtimer_del(c->timer);
	c->close_after = true;
	bufferevent_disable(c->bev, EV_READ);
	set_state(c, C_WRITING);
	req_reset(c);
}

static void dispatch(struct conn *c)
{
	struct http_server *srv = c->srv;

	evtimer_del(c->timer);
	bufferevent_disable(c->bev, EV_READ);
	if (c->refusing) {
		char extra[] = "Retry-After: 1\r\n";

		conn_fail(c, c->refuse_code, c->refuse_msg, extra);
		return;
	}
	set_state(c, C_HANDLING);
	srv->st.handling++;
	srv->handler(&c->req, srv->arg);
}

static void conn_process(struct conn *c)
{
	struct http_server *srv = c->srv;
	struct evbuffer *in;

	if (!c->bev)
		return;
	in = bufferevent_get_input(c->bev);
	while ((c->state == C_IDLE || c->state == C_READING) && !c->paused) {
		struct evbuffer_iovec v;
		size_t n;
		enum http_errno e;

		if (evbuffer_get_length(in) == 0)
			break;
		if (c->state == C_IDLE) {
			/* The first byte of a request: from now, all of it must arrive within the deadline. */
			set_state(c, C_READING);
			arm_timer(c, srv->lim.request_timeout);
		}
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		n = http_parser_execute(&c->parser, &settings, v.iov_base, v.iov_len);
		e = HTTP_PARSER_ERRNO(&c->parser);
		evbuffer_drain(in, n);
		if (e == HPE_PAUSED) {
			http_parser_pause(&c->parser, 0);
			dispatch(c);
			continue;
		}
		if (e != HPE_OK) {
			srv->st.malformed++;
			if (c->err_code) {
				conn_fail(c, c->err_code, c->err_msg, NULL);
			} else {
				char msg[160];

				snprintf(msg, sizeof(msg), "malformed request: %s", http_errno_description(e));
				conn_fail(c, 400, msg, NULL);
			}
			return;
		}
		if (n < v.iov_len) {
			/* An upgrade (the rest is not HTTP): answer what was read, then close. */
			c->close_after = true;
			evbuffer_drain(in, evbuffer_get_length(in));
			break;
		}
		if (c->state == C_READING && srv->st.input_bytes > srv->lim.input_budget && c->held_in > 0) {
			/* Over the budget: this request waits (its deadline still runs) until others finish. */
			c->paused = true;
			srv->st.input_paused++;
			bufferevent_disable(c->bev, EV_READ);
			TAILQ_INSERT_TAIL(&srv->paused, c, plink);
			break;
		}
	}
	if (c->eof && (c->state == C_IDLE || c->state == C_READING))
		conn_free(c);
}

static void on_timer(evutil_socket_t fd, short ev, void *arg)
{
	struct conn *c = arg;
	struct http_server *srv = c->srv;

	if (c->state == C_IDLE) {
		if (c->had_request)
			srv->st.timeout_idle++;
		else
			srv->st.timeout_request++;
		conn_free(c);
	} else if (c->state == C_READING) {
		if (c->refusing) {
			conn_free(c);
			return;
		}
		srv->st.timeout_request++;
		conn_fail(c, 408, "request not complete within the deadline (cpregd --timeout): headers and body must "
			  "arrive in time, not byte by byte", NULL);
	}
}

static void on_read(struct bufferevent *bev, void *arg)
{
	conn_process(arg);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) > 0 || c->state != C_WRITING)
		return;
	release_out(c);
	if (c->close_after || c->eof) {
		conn_free(c);
		return;
	}
	set_state(c, C_IDLE);
	c->had_request = true;
	arm_timer(c, c->srv->lim.idle_timeout);
	bufferevent_enable(bev, EV_READ);
	conn_process(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	if (what & BEV_EVENT_TIMEOUT) {
		c->srv->st.timeout_write++;
		conn_free(c);
		return;
	}
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR)) {
		/* A half-close: a request already read is still answered. */
		c->eof = true;
		if (c->state == C_HANDLING || c->state == C_WRITING)
			return;
		/* Bytes not yet parsed may hold a whole request. */
		conn_process(c);
		return;
	}
	conn_free(c);
}

/* Close the socket; the struct stays while the handler holds its request. */
static void conn_free(struct conn *c)
{
	struct http_server *srv = c->srv;

	if (c->bev) {
		struct uid_slot *u;

		bufferevent_free(c->bev);
		c->bev = NULL;
		event_free(c->timer);
		c->timer = NULL;
		if (c->paused) {
			TAILQ_REMOVE(&srv->paused, c, plink);
			c->paused = false;
		}
		TAILQ_REMOVE(&srv->conns, c, link);
		if (c->refusing) {
			srv->nrefusing--;
		} else {
			srv->st.current--;
			if ((u = uid_slot(srv, c->uid, false)))
				u->n--;
		}
		release_out(c);
	}
	if (c->state == C_HANDLING) {
		c->gone = true;
		return;
	}
	req_reset(c);
	free(c->req.hdrs);
	free(c->req.arena);
	free(c->req.path);
	free(c->req.query);
	if (c->req.body)
		evbuffer_free(c->req.body);
	if (c->req.extra)
		evbuffer_free(c->req.extra);
	free(c);
}

/* The oldest idle keep-alive connection (of uid, or of anyone when uid < -1), or NULL. */
static struct conn *evictable(struct http_server *srv, long uid)
{
	struct conn *c, *best = NULL;

	TAILQ_FOREACH(c, &srv->conns, link) {
		if (c->refusing || c->state != C_IDLE || !c->had_request || (uid >= -1 && c->uid != uid))
			continue;
		if (!best || timercmp(&c->since, &best->since, <))
			best = c;
	}
	return best;
}

static void admit(struct http_server *srv, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	long uid = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 ? (long)cred.uid : -1;
	struct uid_slot *u = uid_slot(srv, uid, true);
	struct conn *c, *victim;
	int refuse = 0;
	char msg[160] = "";

	if (srv->st.current >= srv->lim.max_conns) {
		if ((victim = evictable(srv, -2))) {
			srv->st.evicted++;
			conn_free(victim);
		} else {
			refuse = 503;
			srv->st.refused_limit++;
			snprintf(msg, sizeof(msg), "too many connections (limit %d, cpregd --max-connections)", srv->lim.max_conns);
		}
	}
	if (!refuse && u && u->n >= srv->lim.max_per_uid) {
		if ((victim = evictable(srv, uid))) {
			srv->st.evicted++;
			conn_free(victim);
		} else {
			refuse = 503;
			srv->st.refused_uid++;
			snprintf(msg, sizeof(msg), "too many connections from uid %ld (limit %d, cpregd --max-connections-per-uid)",
				 uid, srv->lim.max_per_uid);
		}
	}
	if (refuse && srv->nrefusing >= MAX_REFUSING) {
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c) {
		c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
		c->timer = evtimer_new(srv->base, on_timer, c);
	}
	if (!c || !c->bev || !c->timer) {
		if (c) {
			if (c->timer)
				event_free(c->timer);
			if (c->bev)
				bufferevent_free(c->bev);
			else
				close(fd);
			free(c);
		} else {
			close(fd);
		}
		return;
	}
	c->srv = srv;
	c->uid = uid;
	c->req.c = c;
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	if (refuse) {
		c->refusing = true;
		c->refuse_code = refuse;
		snprintf(c->refuse_msg, sizeof(c->refuse_msg), "%s", msg);
		srv->nrefusing++;
	} else {
		srv->st.current++;
		if (u)
			u->n++;
	}
	TAILQ_INSERT_TAIL(&srv->conns, c, link);
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	/*
	 * A check's body is a whole inventory (~32 KB): read it in one go, not
	 * in libevent's default 16 KB slices (each slice is a readv, an
	 * FIONREAD ioctl and a loop turn).  Memory follows what has arrived,
	 * not this bound.
	 */
	bufferevent_set_max_single_read(c->bev, 64 * 1024);
	{
		struct timeval wt = { srv->lim.write_timeout, 0 };

		bufferevent_set_timeouts(c->bev, NULL, &wt);
	}
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	set_state(c, C_IDLE);
	/* A new connection has the request deadline to send its first request. */
	arm_timer(c, srv->lim.request_timeout);
}

void http_server_adopt(struct http_server *srv, int fd)
{
	srv->st.accepted++;
	admit(srv, fd);
}

static void backoff_done(evutil_socket_t fd, short ev, void *arg)
{
	struct http_server *srv = arg;

	if (!srv->accept_paused)
		event_add(srv->accept_ev, NULL);
	if (srv->reserve_fd < 0)
		srv->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void on_accept(evutil_socket_t lfd, short ev, void *arg)
{
	struct http_server *srv = arg;

	/* A bounded batch per wake-up: connected clients get their turn in between. */
	for (int i = 0; i < 64; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			srv->st.accepted++;
			admit(srv, fd);
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		srv->st.accept_errors++;
		if ((errno == EMFILE || errno == ENFILE) && srv->reserve_fd >= 0) {
			/*
			 * Out of descriptors: the reserved one takes the
			 * waiting client, which is closed at once, so accept
			 * does not spin and the clients already connected
			 * are served.
			 */
			close(srv->reserve_fd);
			fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0)
				close(fd);
			srv->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
			if (srv->reserve_fd >= 0)
				continue;
		}
		/* Anything else (or no reserve): stop accepting for 100 ms rather than spin. */
		{
			struct timeval tv = { 0, 100000 };

			event_del(srv->accept_ev);
			evtimer_add(srv->accept_backoff, &tv);
		}
		return;
	}
}

static void on_resume(evutil_socket_t fd, short ev, void *arg)
{
	struct http_server *srv = arg;
	struct conn *c;

	while (srv->st.input_bytes < srv->lim.input_budget && (c = TAILQ_FIRST(&srv->paused))) {
		TAILQ_REMOVE(&srv->paused, c, plink);
		c->paused = false;
		bufferevent_enable(c->bev, EV_READ);
		conn_process(c);
	}
}

void http_server_pause_accept(struct http_server *srv, bool pause)
{
	srv->accept_paused = pause;
	if (pause)
		event_del(srv->accept_ev);
	else
		event_add(srv->accept_ev, NULL);
}

struct http_server *http_server_new(struct event_base *base, int listen_fd, const struct http_limits *lim,
				    http_handler_fn handler, void *arg)
{
	struct http_server *srv = calloc(1, sizeof(*srv));

	if (!srv)
		return NULL;
	srv->base = base;
	srv->lim = *lim;
	srv->handler = handler;
	srv->arg = arg;
	srv->lfd = listen_fd;
	TAILQ_INIT(&srv->conns);
	TAILQ_INIT(&srv->paused);
	/* The descriptor kept back for EMFILE (nginx and OpenSMTPD do the same). */
	srv->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	srv->accept_ev = event_new(base, listen_fd, EV_READ | EV_PERSIST, on_accept, srv);
	srv->accept_backoff = evtimer_new(base, backoff_done, srv);
	srv->resume_ev = event_new(base, -1, 0, on_resume, srv);
	if (srv->reserve_fd < 0 || !srv->accept_ev || !srv->accept_backoff || !srv->resume_ev ||
	    event_add(srv->accept_ev, NULL) < 0) {
		http_server_free(srv);
		return NULL;
	}
	return srv;
}

void http_server_free(struct http_server *srv)
{
	struct conn *c;

	if (!srv)
		return;
	while ((c = TAILQ_FIRST(&srv->conns))) {
		/* Requests the handler still holds go too: the daemon is stopping. */
		if (c->state == C_HANDLING)
			c->state = C_WRITING;
		conn_free(c);
	}
	if (srv->accept_ev)
		event_free(srv->accept_ev);
	if (srv->accept_backoff)
		event_free(srv->accept_backoff);
	if (srv->resume_ev)
		event_free(srv->resume_ev);
	if (srv->reserve_fd >= 0)
		close(srv->reserve_fd);
	free(srv->uids);
	free(common_header);
	common_header = NULL;
	free(srv);
}

/* ---- the request, to the handler ---- */

enum http_verb http_request_verb(const struct http_request *r)
{
	return r->verb;
}

const char *http_request_method(const struct http_request *r)
{
	return http_method_str(r->c->parser.method);
}

const char *http_request_path(const struct http_request *r)
{
	return r->path;
}

static int unhex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10 : -1;
}

/* Decode s in place up to its end; false on a bad or NUL escape. */
static bool decode(char *s, bool plus)
{
	char *w = s;

	for (; *s; s++) {
		if (*s == '%') {
			int hi = unhex(s[1]), lo = hi < 0 ? -1 : unhex(s[2]);

			if (lo < 0 || (hi | lo) == 0)
				return false;
			*w++ = (char)(hi << 4 | lo);
			s += 2;
		} else {
			*w++ = plus && *s == '+' ? ' ' : *s;
		}
	}
	*w = '\0';
	return true;
}

int http_query_parse(const char *query, struct http_query *q, const char **why)
{
	char *p;

	*q = (struct http_query){ 0 };
	if (!query || !*query)
		return 0;
	if (!(q->buf = strdup(query))) {
		*why = "out of memory";
		return -1;
	}
	for (p = q->buf; p;) {
		char *part = strsep(&p, "&"), *eq = strchr(part, '=');

		if (q->n == HTTP_QUERY_MAX) {
			*why = "more than 16 parameters";
			goto bad;
		}
		if (!eq || eq == part) {
			*why = !eq ? "a parameter without '=' (expected key=value)" : "a parameter without a name";
			goto bad;
		}
		*eq = '\0';
		if (!decode(part, false) || !decode(eq + 1, true)) {
			*why = "a bad %-escape (expected % and two hex digits, not %00)";
			goto bad;
		}
		q->key[q->n] = part;
		q->value[q->n++] = eq + 1;
	}
	return 0;
bad:
	http_query_clear(q);
	return -1;
}

const char *http_query_get(const struct http_query *q, const char *key)
{
	for (size_t i = 0; i < q->n; i++)
		if (strcmp(q->key[i], key) == 0)
			return q->value[i];
	return NULL;
}

void http_query_clear(struct http_query *q)
{
	free(q->buf);
	*q = (struct http_query){ 0 };
}

const char *http_request_query(const struct http_request *r)
{
	return r->query;
}

struct evbuffer *http_request_body(struct http_request *r)
{
	return r->body;
}

long http_request_uid(const struct http_request *r)
{
	return r->c->uid;
}

int http_request_add_header(struct http_request *r, const char *name, const char *value)
{
	/* No CR or LF from anywhere reaches the response: no header injection. */
	if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
		return -1;
	if (!r->extra && !(r->extra = evbuffer_new()))
		return -1;
	return evbuffer_add_printf(r->extra, "%s: %s\r\n", name, value) < 0 ? -1 : 0;
}

/* The handler has answered: account, then write or, for a client gone meanwhile, free. */
static struct evbuffer *answer_begin(struct http_request *r)
{
	struct conn *c = r->c;

	c->srv->st.handling--;
	if (c->gone) {
		c->state = C_WRITING;
		conn_free(c);
		return NULL;
	}
	if (!r->keep_alive)
		c->close_after = true;
	set_state(c, C_WRITING);
	return bufferevent_get_output(c->bev);
}

/* What is queued is written from the loop; on_write takes the connection on from there. */
static void answer_end(struct conn *c)
{
	req_reset(c);
}

void http_reply(struct http_request *r, int code, const char *ctype, const void *body, size_t len)
{
	struct conn *c = r->c;
	struct evbuffer *out = answer_begin(r);
	size_t before;

	if (!out)
		return;
	before = evbuffer_get_length(out);
	if (code == 304) {
		/* Not Modified: no body, and no length (it would describe the body not sent). */
		evbuffer_add_printf(out, "HTTP/1.1 304 Not Modified\r\n%s", common_header ? common_header : "");
		len = 0;
	} else {
		evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s", code,
				    http_reason(code), ctype, len, common_header ? common_header : "");
	}
	if (r->extra)
		evbuffer_add_buffer(out, r->extra);
	if (c->close_after)
		evbuffer_add(out, "Connection: close\r\n", 19);
	evbuffer_add(out, "\r\n", 2);
	if (r->verb != HTTP_VERB_HEAD && len)
		evbuffer_add(out, body, len);
	c->owned_out += evbuffer_get_length(out) - before;
	c->srv->st.output_bytes += evbuffer_get_length(out) - before;
	answer_end(c);
}

/* ---- ready answers, shared by reference ---- */

struct http_blob {
	int refs;
	int code;
	size_t head_len, body_len;
	/* The head (status line, headers), the blank line, then the body: most answers go out as one reference. */
	char *data;
};

struct http_blob *http_blob_new(int code, const char *ctype, const char *extra_headers, const void *body, size_t len)
{
	struct http_blob *b = calloc(1, sizeof(*b));
	char *head = NULL;
	int n;

	if (!b)
		return NULL;
	n = asprintf(&head, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s%s", code, http_reason(code),
		     ctype, len, common_header ? common_header : "", extra_headers ? extra_headers : "");
	if (n < 0 || !(b->data = malloc((size_t)n + 2 + len + 1))) {
		free(head);
		free(b);
		return NULL;
	}
	memcpy(b->data, head, (size_t)n);
	memcpy(b->data + n, "\r\n", 2);
	memcpy(b->data + n + 2, body, len);
	b->data[n + 2 + len] = '\0';
	free(head);
	b->refs = 1;
	b->code = code;
	b->head_len = (size_t)n;
	b->body_len = len;
	return b;
}

struct http_blob *http_blob_ref(struct http_blob *b)
{
	if (b)
		b->refs++;
	return b;
}

void http_blob_unref(struct http_blob *b)
{
	if (b && --b->refs == 0) {
		free(b->data);
		free(b);
	}
}

int http_blob_code(const struct http_blob *b)
{
	return b->code;
}

static void blob_cleanup(const void *data, size_t len, void *arg)
{
	http_blob_unref(arg);
}

void http_reply_blob(struct http_request *r, struct http_blob *b)
{
	struct conn *c = r->c;
	struct evbuffer *out = answer_begin(r);
	size_t body = r->verb != HTTP_VERB_HEAD ? b->body_len : 0;

	if (!out)
		return;
	/*
	 * By reference, never copied.  The common answer (no header of the
	 * connection's own) is one reference to head, blank line and body: one
	 * buffer chain per request in flight, not three (at 256 connections
	 * the chains were half of cpregd's heap).
	 */
	if (!c->close_after && (!r->extra || !evbuffer_get_length(r->extra))) {
		if (evbuffer_add_reference(out, b->data, b->head_len + 2 + body, blob_cleanup, http_blob_ref(b)) < 0)
			http_blob_unref(b);
		answer_end(c);
		return;
	}
	if (evbuffer_add_reference(out, b->data, b->head_len, blob_cleanup, http_blob_ref(b)) < 0)
		http_blob_unref(b);
	if (r->extra)
		evbuffer_add_buffer(out, r->extra);
	if (c->close_after)
		evbuffer_add(out, "Connection: close\r\n\r\n", 21);
	else
		evbuffer_add(out, "\r\n", 2);
	if (body && evbuffer_add_reference(out, b->data + b->head_len + 2, body, blob_cleanup, http_blob_ref(b)) < 0)
		http_blob_unref(b);
	answer_end(c);
}
