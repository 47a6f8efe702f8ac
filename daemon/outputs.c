/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cpregd's published files (NFD labels, Nova provider config, the metrics
 * textfile): written when what they say changes, and on a timer so that
 * NFD's expiry never passes (publish.h writes their text; cpregd.h).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cpregd.h"
#include <event2/buffer.h>
#include <event2/event.h>

#include "peers.h"
#include "publish.h"

/* ---- publishing (publish.h) ---- */

static void accept_cb(const char *short_digest, void *arg)
{
	struct { const char **v; size_t n, cap; } *a = arg;

	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		const char **v = reallocarray(a->v, cap, sizeof(*v));

		if (!v)
			return;
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = strdup(short_digest);
}

static void write_output(enum output o, const char *path, char *text)
{
	int r;

	if (!text) {
		S.out[o].ok = false;
		S.out[o].failures++;
		snprintf(S.out[o].error, sizeof(S.out[o].error), "out of memory");
		return;
	}
	/* Unchanged: nothing to write (Nova reads its file at start; NFD re-reads it anyway). */
	if (S.out[o].ok && S.out[o].last && strcmp(S.out[o].last, text) == 0) {
		free(text);
		return;
	}
	r = publish_write_atomic(path, text, strlen(text), 0644, S.out[o].error, sizeof(S.out[o].error));
	if (r < 0) {
		if (S.out[o].ok || !S.out[o].failures)
			log_warn("cannot publish %s: %s", out_names[o], S.out[o].error);
		S.out[o].ok = false;
		S.out[o].failures++;
		free(text);
		return;
	}
	S.out[o].ok = true;
	S.out[o].writes++;
	S.out[o].error[0] = '\0';
	free(S.out[o].last);
	S.out[o].last = text;
}

/* Part k of the NFD labels: the file itself, then FILE-2, FILE-3... */
static void nfd_part_path(size_t k, char *buf, size_t len)
{
	if (k == 0)
		snprintf(buf, len, "%s", opt.nfd_file);
	else
		snprintf(buf, len, "%s-%zu", opt.nfd_file, k + 1);
}

/*
 * The NFD labels, in as many files as NFD's 64 KiB limit needs; parts a
 * smaller set no longer needs are removed, and labels that fit in no file
 * are logged (once per change) and counted (cpregd_nfd_labels_dropped).
 */
static void write_nfd(const struct publish_facts *f, time_t exp)
{
	char **parts = NULL, *all = NULL, path[PATH_MAX];
	size_t n = 0, dropped = 0, len = 0;
	FILE *m;
	int r = 0;

	if (publish_nfd_parts(f, opt.nfd_prefix, exp, &parts, &n, &dropped) < 0 || !(m = open_memstream(&all, &len))) {
		write_output(OUT_NFD, opt.nfd_file, NULL);
		goto out;
	}
	for (size_t k = 0; k < n; k++)
		fputs(parts[k], m);
	if (fclose(m) != 0) {
		write_output(OUT_NFD, opt.nfd_file, NULL);
		goto out;
	}
	if (dropped && dropped != S.nfd_dropped)
		log_warn("NFD: %zu accepts- label(s) left out: more than %d files of %d bytes; see man cpregd, \"Publishing\"",
			 dropped, PUBLISH_NFD_MAX_PARTS, PUBLISH_NFD_FILE_MAX);
	S.nfd_dropped = dropped;
	if (S.out[OUT_NFD].ok && S.out[OUT_NFD].last && strcmp(S.out[OUT_NFD].last, all) == 0)
		goto out;
	for (size_t k = 0; k < n && r >= 0; k++) {
		nfd_part_path(k, path, sizeof(path));
		r = publish_write_atomic(path, parts[k], strlen(parts[k]), 0644, S.out[OUT_NFD].error,
					 sizeof(S.out[OUT_NFD].error));
	}
	for (size_t k = n; r >= 0 && k < PUBLISH_NFD_MAX_PARTS; k++) {
		nfd_part_path(k, path, sizeof(path));
		if (unlink(path) < 0 && errno != ENOENT) {
			int e = errno;

			snprintf(S.out[OUT_NFD].error, sizeof(S.out[OUT_NFD].error), "cannot remove %.300s: %s", path,
				 strerror(e));
			r = -e;
		}
	}
	if (r < 0) {
		if (S.out[OUT_NFD].ok || !S.out[OUT_NFD].failures)
			log_warn("cannot publish nfd: %s", S.out[OUT_NFD].error);
		S.out[OUT_NFD].ok = false;
		S.out[OUT_NFD].failures++;
		goto out;
	}
	S.nfd_files = n;
	S.out[OUT_NFD].ok = true;
	S.out[OUT_NFD].writes++;
	S.out[OUT_NFD].error[0] = '\0';
	free(S.out[OUT_NFD].last);
	S.out[OUT_NFD].last = all;
	all = NULL;
out:
	free(all);
	for (size_t k = 0; k < n; k++)
		free(parts[k]);
	free(parts);
}

static void publish_now(evutil_socket_t fd, short ev, void *arg)
{
	struct { const char **v; size_t n, cap; } acc = { 0 };
	struct publish_facts f = { 0 };
	char sd[PEERS_SHORT_LEN + 1];

	if (S.inv) {
		peers_short_digest(S.digest, sd);
		f.short_digest = sd;
		f.kernel = cpreg_inventory_get_text(S.inv, CPREG_TEXT_KERNEL);
		f.qemu_version = cpreg_inventory_get_text(S.inv, CPREG_TEXT_QEMU_VERSION);
		f.policy = S.site_policy ? cpreg_policy_name(S.site_policy)
					 : cpreg_policy_for_qemu_version(f.qemu_version);
	}
	peers_foreach_accepted(accept_cb, &acc);
	f.accepts = acc.v;
	f.n_accepts = acc.n;
	f.complete = peers_pending() == 0;
	if (opt.nfd_file) {
		/* The labels age out if cpregd dies: NFD drops them at the next discovery after this. */
		time_t exp = time(NULL) + (opt.nfd_expiry > 3 * opt.publish_interval ? opt.nfd_expiry : 3 * opt.publish_interval);

		write_nfd(&f, exp);
	}
	if (opt.nova_file)
		write_output(OUT_NOVA, opt.nova_file, publish_nova_text(&f));
	if (opt.textfile) {
		struct evbuffer *b = evbuffer_new();
		char *text = NULL;
		size_t n;

		if (b) {
			metrics_build(b, true);
			n = evbuffer_get_length(b);
			text = malloc(n + 1);
			if (text) {
				evbuffer_copyout(b, text, n);
				text[n] = '\0';
			}
			evbuffer_free(b);
		}
		write_output(OUT_TEXTFILE, opt.textfile, text);
	}
	for (size_t i = 0; i < acc.n; i++)
		free((char *)acc.v[i]);
	free(acc.v);
}

void schedule_publish(void)
{
	/* Once per loop turn however many changes came in it. */
	if (S.publish_ev && !event_pending(S.publish_ev, EV_TIMEOUT, NULL))
		event_active(S.publish_ev, EV_TIMEOUT, 0);
}

struct cpreg_inventory *peers_self(void)
{
	return S.inv;
}

struct cpreg_policy *peers_policy(void)
{
	return S.site_policy ? cpreg_policy_ref(S.site_policy) : NULL;
}

void peers_judged(const char *digest, bool trial_ran, int64_t trial_ms, enum cpreg_result result)
{
	if (trial_ran) {
		S.trials++;
		S.trial_ms_total += trial_ms;
	}
	log_full(LOG_INFO, &(struct log_fields){ .msgid = MSGID_PEER_JUDGED, .digest = digest, .result = cpreg_result_name(result),
						 .uid = -1 },
		 "peer %s judged: %s%s", digest, cpreg_result_name(result), trial_ran ? " (with the trial)" : "");
}

const char *const out_names[] = { "nfd", "nova", "textfile" };

int outputs_init(void)
{
	S.publish_ev = evtimer_new(S.base, publish_now, NULL);
	if (opt.nfd_file || opt.nova_file || opt.textfile) {
		struct timeval tv = { opt.publish_interval, 0 };

		S.publish_timer = event_new(S.base, -1, EV_PERSIST, publish_now, NULL);
		if (S.publish_timer)
			event_add(S.publish_timer, &tv);
	}
	return 0;
}

void outputs_fini(void)
{
	if (S.publish_ev)
		event_free(S.publish_ev);
	if (S.publish_timer)
		event_free(S.publish_timer);
	S.publish_ev = S.publish_timer = NULL;
	for (int o = 0; o < _OUT_MAX; o++)
		free(S.out[o].last);
}
