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
#include "http-internal.h"

char *common_header;

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



void release_out(struct conn *c)
{
	c->srv->st.output_bytes -= c->owned_out;
	c->owned_out = 0;
}

/* ---- connections ---- */


void set_state(struct conn *c, enum cstate s)
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

static size_t error_doc(struct http_server *srv, int code, const char *msg, char *buf, size_t len)
{
	if (srv->error_body)
		return srv->error_body(code, msg, buf, len);
	return (size_t)snprintf(buf, len, "%s\n", msg) < len ? strlen(buf) : 0;
}

/*
 * An answer the server writes itself (the request could not be read, or
 * the client is refused): always the last on its connection.
 */
void conn_fail(struct conn *c, int code, const char *msg, const char *extra)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	char body[512];
	size_t n = error_doc(c->srv, code, msg, body, sizeof(body));
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

void conn_process(struct conn *c)
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
		n = http_parser_execute(&c->parser, &http_settings, v.iov_base, v.iov_len);
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
void conn_free(struct conn *c)
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

/*
 * Room for one more connection of this uid: an idle keep-alive one is
 * evicted when the server or the uid is full; otherwise the 503 to
 * answer (msg says why), 0 to admit.
 */
static int room_for(struct http_server *srv, long uid, struct uid_slot *u, char *msg, size_t len)
{
	struct conn *victim;

	if (srv->st.current >= srv->lim.max_conns) {
		if (!(victim = evictable(srv, -2))) {
			srv->st.refused_limit++;
			snprintf(msg, len, "too many connections (limit %d, cpregd --max-connections)", srv->lim.max_conns);
			return 503;
		}
		srv->st.evicted++;
		conn_free(victim);
	}
	if (u && u->n >= srv->lim.max_per_uid) {
		if (!(victim = evictable(srv, uid))) {
			srv->st.refused_uid++;
			snprintf(msg, len, "too many connections from uid %ld (limit %d, cpregd --max-connections-per-uid)",
				 uid, srv->lim.max_per_uid);
			return 503;
		}
		srv->st.evicted++;
		conn_free(victim);
	}
	return 0;
}

/* A connection on fd, its bufferevent and timer; NULL (fd closed) when out of memory. */
static struct conn *conn_new(struct http_server *srv, int fd)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (c) {
		c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
		c->timer = evtimer_new(srv->base, on_timer, c);
	}
	if (c && c->bev && c->timer)
		return c;
	if (c && c->timer)
		event_free(c->timer);
	if (c && c->bev)
		bufferevent_free(c->bev);
	else
		close(fd);
	free(c);
	return NULL;
}

static void admit(struct http_server *srv, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	long uid = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 ? (long)cred.uid : -1;
	struct uid_slot *u = uid_slot(srv, uid, true);
	struct timeval wt = { srv->lim.write_timeout, 0 };
	struct conn *c;
	char msg[160] = "";
	int refuse = room_for(srv, uid, u, msg, sizeof(msg));

	if (refuse && srv->nrefusing >= MAX_REFUSING) {
		close(fd);
		return;
	}
	c = conn_new(srv, fd);
	if (!c)
		return;
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
	bufferevent_set_timeouts(c->bev, NULL, &wt);
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

/* ---- answers ---- */

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

