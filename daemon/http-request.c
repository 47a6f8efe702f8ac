// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * One request of cpregd's HTTP server: parsed by http-parser into the
 * connection's arena (bounded header fields, one body), handed to the
 * handler with its accessors (path, query, headers, body, the client's
 * uid), and answered, from a buffer or by a shared ready answer (blob).
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

/* ---- requests ---- */

void hold_in(struct conn *c, size_t n)
{
	c->held_in += n;
	c->srv->st.input_bytes += n;
}

void release_in(struct conn *c)
{
	struct http_server *srv = c->srv;

	srv->st.input_bytes -= c->held_in;
	c->held_in = 0;
	/* Someone waits for the budget: let them go on from a callback of their own (no re-entry). */
	if (!TAILQ_EMPTY(&srv->paused) && srv->st.input_bytes < srv->lim.input_budget)
		event_active(srv->resume_ev, EV_TIMEOUT, 0);
}

void req_reset(struct conn *c)
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

/* The request target ends in the arena, NUL-terminated, at the first header field or the end of the head. */
static int end_url(struct conn *c)
{
	struct http_request *r = &c->req;

	if (r->url_done)
		return 0;
	if (arena_nul(c) < 0)
		return -1;
	r->url_end = (uint32_t)r->alen;
	r->url_done = true;
	return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
	struct conn *c = p->data;
	struct http_request *r = &c->req;

	if (end_url(c) < 0)
		return -1;
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

/* A refusal of the request: the status and words the connection answers with; -1 for the parser. */
static int refuse(struct conn *c, int code, const char *msg)
{
	c->err_code = code;
	c->err_msg = msg;
	return -1;
}

/* The target and the last header field end in the arena, each NUL-terminated. */
static int end_fields(struct conn *c)
{
	struct http_request *r = &c->req;

	if (!r->url_done) {
		if (end_url(c) < 0)
			return -1;
	} else if (r->nhdrs > 0) {
		/* A field with no value at all: give it an empty one. */
		if (!r->in_value && arena_nul(c) < 0)
			return -1;
		if (!r->in_value)
			r->hdrs[r->nhdrs - 1].value = (uint32_t)r->alen;
		if (arena_nul(c) < 0)
			return -1;
	}
	/*
	 * Field names are tokens (RFC 9110 5.1): http-parser lets a space
	 * through, which a proxy in front could read differently (smuggling).
	 */
	for (int i = 0; i < r->nhdrs; i++)
		for (const char *k = r->arena + r->hdrs[i].name; *k; k++)
			if (!strchr("!#$%&'*+-.^_`|~", *k) && !(*k >= '0' && *k <= '9') && !((*k | 0x20) >= 'a' && (*k | 0x20) <= 'z'))
				return refuse(c, 400, "malformed request: a header field name that is not a token");
	return 0;
}

/* The request target: an absolute path, and its query. */
static int parse_target(struct conn *c, bool connect)
{
	struct http_request *r = &c->req;
	struct http_parser_url u;
	const char *url = r->arena;
	size_t ulen = r->url_end - 1;

	http_parser_url_init(&u);
	if (ulen == 0 || http_parser_parse_url(url, ulen, connect, &u) != 0 || !(u.field_set & (1 << UF_PATH)))
		return refuse(c, 400, "malformed request target: expected an absolute path such as /v1/health");
	r->path = strndup(url + u.field_data[UF_PATH].off, u.field_data[UF_PATH].len);
	if (u.field_set & (1 << UF_QUERY))
		r->query = strndup(url + u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len);
	if (!r->path || ((u.field_set & (1 << UF_QUERY)) && !r->query))
		return refuse(c, 503, "out of memory");
	return 0;
}

static int on_headers_complete(http_parser *p)
{
	struct conn *c = p->data;
	struct http_request *r = &c->req;
	const char *e;

	if (end_fields(c) < 0 || parse_target(c, p->method == HTTP_CONNECT) < 0)
		return -1;
	if (p->http_major != 1)
		return refuse(c, 505, "only HTTP/1.0 and HTTP/1.1 are spoken here");
	switch (p->method) {
	case HTTP_GET: r->verb = HTTP_VERB_GET; break;
	case HTTP_HEAD: r->verb = HTTP_VERB_HEAD; break;
	case HTTP_POST: r->verb = HTTP_VERB_POST; break;
	default: r->verb = HTTP_VERB_OTHER; break;
	}
	if ((p->flags & F_CONTENTLENGTH) && p->content_length > c->srv->lim.max_body)
		return refuse(c, 413, "request body too large (limit: cpregd --max-body)");
	r->keep_alive = http_should_keep_alive(p) && !p->upgrade;
	e = http_request_header(r, "Expect");
	if (e && strcasecmp(e, "100-continue") == 0 && p->http_minor >= 1 && !c->refusing)
		send_continue(c);
	else if (e && strcasecmp(e, "100-continue") != 0)
		return refuse(c, 417, "the only expectation understood is 100-continue");
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

const http_parser_settings http_settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

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

