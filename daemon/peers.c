/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Peer inventories (peers.h).
 *
 * The directory is the contract: any tool may fill it (a configuration
 * management job, a shared volume, a Kubernetes ConfigMap, whose files are
 * symlinks into a "..data" directory swapped atomically).  An inotify
 * watch on the directory, read by the event loop, starts a rescan; the
 * rescan compares each *.json file's identity (device, inode, size, mtime,
 * following symlinks) with what it saw before and reads only what changed,
 * a few files per loop turn, so a thousand files never hold the socket.
 * Files with one digest share one source; each source is judged once, on
 * a worker thread, one at a time so checks from clients interleave.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "peers.h"
#include "jsonw.h"
#include "publish.h"
#include "worker.h"

/* Bounds: a peer file is an inventory (as a check body is); a directory holds a fleet. */
#define PEER_FILE_MAX (1 << 20)
#define PEER_FILES_MAX 16384
/* How many findings a source's entry shows: the deciding ones. */
#define PEER_FINDINGS_MAX 8
/* Reading files: stop a loop turn after this long, so requests get their turn. */
#define LOAD_SLICE_NS 2000000L

struct peer_file {
	char *name;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	bool stale;                     /* changed on disk, not read yet */
	bool seen;                      /* still in the directory at the last rescan */
	char digest[CPREG_DIGEST_LEN];  /* "" when the file is invalid */
	char host[256];
	char *error;                    /* why it is skipped */
	struct cpreg_inventory *inv;    /* until its source takes it */
};

enum source_state { SRC_PENDING, SRC_RUNNING, SRC_JUDGED };

struct peer_source {
	char digest[CPREG_DIGEST_LEN];
	char short_digest[PEERS_SHORT_LEN + 1];
	struct cpreg_inventory *inv;
	bool self;
	bool removed;                   /* gone while its judgement ran: freed when it returns */
	enum source_state state;
	unsigned judged_gen;
	/* the last judgement */
	bool has_result;
	enum cpreg_result result;
	bool trial_ran;
	int64_t trial_ms;
	char trial_failed[600];
	char error[1024];               /* the judgement itself failed */
	char policy[32];
	time_t judged_at;
	/* the deciding findings of the last judgement (at most PEER_FINDINGS_MAX) */
	struct peer_finding {
		uint64_t id;
		char name[48];
		enum cpreg_finding_kind kind;
		enum cpreg_outcome outcome;
		char *message;
	} findings[PEER_FINDINGS_MAX];
	size_t n_findings;
};

static struct {
	struct peers_env env;
	struct event_base *base;
	bool enabled;
	int ifd, wd;
	struct event *inotify_ev, *rescan_ev, *load_ev, *retry_ev;
	char dir_error[512];
	struct peer_file **files;
	size_t n_files;
	struct peer_source **src;
	size_t n_src;
	unsigned gen;                   /* bumped when this host changes */
	struct peer_source *running;
	uint64_t judgements, rescans;
} P = { .ifd = -1, .wd = -1 };

static void schedule_judging(void);

void peers_short_digest(const char *digest, char *buf)
{
	const char *hex = digest && strncmp(digest, "sha256:", 7) == 0 ? digest + 7 : digest ? digest : "";

	size_t n = strnlen(hex, PEERS_SHORT_LEN);

	memcpy(buf, hex, n);
	buf[n] = '\0';
}

bool peers_enabled(void)
{
	return P.enabled;
}

static void file_free(struct peer_file *f)
{
	if (!f)
		return;
	free(f->name);
	free(f->error);
	cpreg_inventory_unref(f->inv);
	free(f);
}

static void findings_clear(struct peer_source *s)
{
	for (size_t i = 0; i < s->n_findings; i++)
		free(s->findings[i].message);
	s->n_findings = 0;
}

static void source_free(struct peer_source *s)
{
	if (!s)
		return;
	cpreg_inventory_unref(s->inv);
	findings_clear(s);
	free(s);
}

static struct peer_file *file_find(const char *name)
{
	for (size_t i = 0; i < P.n_files; i++)
		if (strcmp(P.files[i]->name, name) == 0)
			return P.files[i];
	return NULL;
}

static struct peer_source *source_find(const char *digest)
{
	for (size_t i = 0; i < P.n_src; i++)
		if (strcmp(P.src[i]->digest, digest) == 0)
			return P.src[i];
	return NULL;
}

static void set_error(struct peer_file *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(struct peer_file *f, const char *fmt, ...)
{
	va_list ap;

	free(f->error);
	f->error = NULL;
	va_start(ap, fmt);
	if (vasprintf(&f->error, fmt, ap) < 0)
		f->error = NULL;
	va_end(ap);
	f->digest[0] = '\0';
	cpreg_inventory_unref(f->inv);
	f->inv = NULL;
}

/*
 * The sources follow the files: one per distinct valid digest, plus this
 * host itself (a VM may always move between identical hosts, and the
 * label says so only when the trial agrees).
 */
static void sync_sources(void)
{
	struct cpreg_inventory *self = P.env.self ? P.env.self() : NULL;
	char self_digest[CPREG_DIGEST_LEN] = "";

	if (self)
		cpreg_inventory_digest(self, self_digest, sizeof(self_digest));
	for (size_t i = 0; i < P.n_src; i++) {
		struct peer_source *s = P.src[i];
		bool wanted = self_digest[0] && strcmp(s->digest, self_digest) == 0;

		for (size_t k = 0; k < P.n_files && !wanted; k++)
			wanted = strcmp(P.files[k]->digest, s->digest) == 0;
		if (wanted)
			continue;
		P.src[i--] = P.src[--P.n_src];
		if (s == P.running)
			s->removed = true;
		else
			source_free(s);
	}
	for (size_t i = 0; i < P.n_src; i++)
		P.src[i]->self = self_digest[0] && strcmp(P.src[i]->digest, self_digest) == 0;
	for (size_t k = 0; k <= P.n_files; k++) {
		const char *d = k < P.n_files ? P.files[k]->digest : self_digest;
		struct cpreg_inventory *inv = k < P.n_files ? P.files[k]->inv : self;
		struct peer_source *s, **n;

		if (!d[0])
			continue;
		if (source_find(d))
			continue;
		if (!inv)
			continue;  /* a known file whose inventory went to its source already */
		n = reallocarray(P.src, P.n_src + 1, sizeof(*P.src));
		s = calloc(1, sizeof(*s));
		if (!n || !s) {
			free(s);
			if (n)
				P.src = n;
			continue;
		}
		P.src = n;
		snprintf(s->digest, sizeof(s->digest), "%s", d);
		peers_short_digest(d, s->short_digest);
		s->inv = cpreg_inventory_ref(inv);
		s->self = k == P.n_files;
		s->state = SRC_PENDING;
		P.src[P.n_src++] = s;
	}
	/* Files need not keep a parsed copy: their source has one. */
	for (size_t k = 0; k < P.n_files; k++) {
		cpreg_inventory_unref(P.files[k]->inv);
		P.files[k]->inv = NULL;
	}
}

static void after_files_changed(void)
{
	sync_sources();
	schedule_judging();
	if (P.env.changed)
		P.env.changed();
}

static int64_t elapsed_ns(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000000000LL + (t1.tv_nsec - t0->tv_nsec);
}

/* Read the stale files, a time slice at a time. */
static void load_step(evutil_socket_t fd, short ev, void *arg)
{
	struct timespec t0;
	char path[4096];

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < P.n_files; i++) {
		struct peer_file *f = P.files[i];
		struct cpreg_inventory *inv = NULL;
		struct cpreg_error err = { 0 };
		const char *h;

		if (!f->stale)
			continue;
		if (elapsed_ns(&t0) > LOAD_SLICE_NS) {
			/*
			 * A zero timeout, not event_active(): libevent runs events
			 * activated from a callback in the same pass, before it polls
			 * the sockets again; a due timer waits for the next poll.
			 */
			static const struct timeval now = { 0, 0 };

			evtimer_add(P.load_ev, &now);
			return;
		}
		f->stale = false;
		snprintf(path, sizeof(path), "%s/%s", P.env.dir, f->name);
		if (cpreg_inventory_load(path, &inv, &err) < 0) {
			/* err.where starts with the path; the file's name is enough here. */
			const char *w = strncmp(err.where, path, strlen(path)) == 0 ? err.where + strlen(path) : err.where;

			set_error(f, "%s%s%s", *w == ':' ? w + 1 : w, *w ? ": " : "", err.message);
			/* Once per change of the file: the journal says which peer is skipped and why. */
			log_warn("peers: skipping %s: %s", f->name, f->error ? f->error : "unreadable");
			continue;
		}
		free(f->error);
		f->error = NULL;
		cpreg_inventory_unref(f->inv);
		f->inv = inv;
		cpreg_inventory_digest(inv, f->digest, sizeof(f->digest));
		h = cpreg_inventory_get_text(inv, CPREG_TEXT_HOSTNAME);
		if (h && *h)
			snprintf(f->host, sizeof(f->host), "%s", h);
		else
			snprintf(f->host, sizeof(f->host), "%.*s", (int)(strlen(f->name) - (strstr(f->name, ".json.gz") ? 8 : 5)),
				 f->name);
	}
	after_files_changed();
}

static bool is_peer_name(const char *n)
{
	size_t l = strlen(n);

	/* Dot-files are other tools' temporaries (and ConfigMaps' ..data); only *.json and *.json.gz count. */
	return n[0] != '.' && ((l > 5 && strcmp(n + l - 5, ".json") == 0) || (l > 8 && strcmp(n + l - 8, ".json.gz") == 0));
}

static void rescan(evutil_socket_t fd, short ev, void *arg)
{
	DIR *d;
	struct dirent *de;
	bool changed = false;

	P.rescans++;
	d = opendir(P.env.dir);
	if (!d) {
		snprintf(P.dir_error, sizeof(P.dir_error), "cannot read the peers directory %s: %s", P.env.dir, strerror(errno));
		return;
	}
	P.dir_error[0] = '\0';
	for (size_t i = 0; i < P.n_files; i++)
		P.files[i]->seen = false;
	while ((de = readdir(d))) {
		struct peer_file *f;
		struct stat st;

		if (!is_peer_name(de->d_name))
			continue;
		f = file_find(de->d_name);
		if (!f) {
			struct peer_file **n;

			if (P.n_files >= PEER_FILES_MAX)
				continue;
			n = reallocarray(P.files, P.n_files + 1, sizeof(*P.files));
			f = calloc(1, sizeof(*f));
			if (!n || !f || !(f->name = strdup(de->d_name))) {
				if (n)
					P.files = n;
				file_free(f);
				continue;
			}
			P.files = n;
			P.files[P.n_files++] = f;
			f->stale = true;
		}
		f->seen = true;
		/* Follow symlinks (ConfigMaps); anything but a regular file is reported, never opened. */
		if (fstatat(dirfd(d), de->d_name, &st, 0) < 0) {
			set_error(f, "cannot stat: %s", strerror(errno));
			f->stale = false;
			f->dev = 0, f->ino = 0;
			changed = true;
			continue;
		}
		if (!S_ISREG(st.st_mode)) {
			if (!f->error || f->ino != st.st_ino)
				changed = true;
			set_error(f, "not a regular file");
			f->stale = false;
			f->dev = st.st_dev, f->ino = st.st_ino;
			continue;
		}
		if (st.st_size > PEER_FILE_MAX) {
			set_error(f, "larger than %d bytes", PEER_FILE_MAX);
			f->stale = false;
			f->dev = st.st_dev, f->ino = st.st_ino, f->size = st.st_size;
			changed = true;
			continue;
		}
		if (f->dev != st.st_dev || f->ino != st.st_ino || f->size != st.st_size ||
		    f->mtime.tv_sec != st.st_mtim.tv_sec || f->mtime.tv_nsec != st.st_mtim.tv_nsec) {
			f->stale = true;
			f->dev = st.st_dev, f->ino = st.st_ino, f->size = st.st_size, f->mtime = st.st_mtim;
		}
		changed |= f->stale;
	}
	closedir(d);
	for (size_t i = 0; i < P.n_files; i++)
		if (!P.files[i]->seen) {
			file_free(P.files[i]);
			P.files[i--] = P.files[--P.n_files];
			changed = true;
		}
	if (changed)
		load_step(-1, 0, NULL);
}

static void schedule_rescan(void)
{
	/* Writers make several events per file (create, write, rename): one rescan for the burst. */
	struct timeval tv = { 0, 50000 };

	evtimer_add(P.rescan_ev, &tv);
}

static int watch_dir(void);

static void on_inotify(evutil_socket_t fd, short ev, void *arg)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool lost = false;
	ssize_t n;

	while ((n = read(P.ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *e = (const struct inotify_event *)p;

			lost |= (e->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) != 0;
			p += sizeof(*e) + e->len;
		}
	}
	if (lost) {
		/* The directory went away: its files with it; watch for it to come back. */
		inotify_rm_watch(P.ifd, P.wd);
		P.wd = -1;
		watch_dir();
	}
	schedule_rescan();
}

static void retry_watch(evutil_socket_t fd, short ev, void *arg)
{
	if (watch_dir() == 0)
		schedule_rescan();
}

static int watch_dir(void)
{
	P.wd = inotify_add_watch(P.ifd, P.env.dir, IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE |
				 IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR);
	if (P.wd < 0) {
		/*
		 * Not there (yet): the only polling, and only for the directory
		 * itself; a missing directory is a configuration error shown in
		 * /v1/peers and /metrics until it appears.
		 */
		struct timeval tv = { 5, 0 };

		snprintf(P.dir_error, sizeof(P.dir_error), "cannot watch the peers directory %s: %s; retrying every 5 s",
			 P.env.dir, strerror(errno));
		evtimer_add(P.retry_ev, &tv);
		return -errno;
	}
	P.dir_error[0] = '\0';
	return 0;
}

/* ---- judging ---- */

struct peer_judge {
	struct judge jd;
	struct peer_source *src;
	unsigned gen;
};

/* The findings that decided a verdict, kept with the source for /v1/peers. */
static void keep_deciding(struct peer_source *s, const struct cpreg_verdict *v)
{
	enum cpreg_outcome want = cpreg_verdict_result(v) == CPREG_INCOMPATIBLE ? CPREG_OUT_FAIL : CPREG_OUT_UNKNOWN;

	for (size_t i = 0; i < cpreg_verdict_count(v) && s->n_findings < PEER_FINDINGS_MAX; i++) {
		const struct cpreg_finding *f;
		struct peer_finding *k;

		if (cpreg_verdict_outcome_at(v, i) != want)
			continue;
		f = cpreg_verdict_at(v, i);     /* only the deciding ones are worded */
		k = &s->findings[s->n_findings++];
		k->id = f->id;
		snprintf(k->name, sizeof(k->name), "%s", f->name);
		k->kind = f->kind;
		k->outcome = f->outcome;
		k->message = strdup(f->message ? f->message : "");
	}
}

static void findings_json(struct jw *w, const struct peer_source *s)
{
	jw_array(w, "findings");
	for (size_t i = 0; i < s->n_findings; i++) {
		const struct peer_finding *f = &s->findings[i];
		char id[24];

		snprintf(id, sizeof(id), "0x%016" PRIx64, f->id);
		jw_object(w, NULL);
		jw_string(w, "id", f->id ? id : NULL);
		jw_string(w, "name", f->name[0] ? f->name : NULL);
		jw_string(w, "kind", cpreg_finding_kind_name(f->kind));
		jw_string(w, "outcome", cpreg_outcome_name(f->outcome));
		jw_string(w, "message", f->message);
		jw_end_object(w);
	}
	jw_end_array(w);
}

static void judged(struct worker_job *j)
{
	struct peer_judge *pj = (struct peer_judge *)j;
	struct peer_source *s = pj->src;

	P.running = NULL;
	if (s->removed || j->cancelled) {
		if (s->removed)
			source_free(s);
		goto out;
	}
	P.judgements++;
	s->judged_at = time(NULL);
	s->judged_gen = pj->gen;
	s->state = pj->gen == P.gen ? SRC_JUDGED : SRC_PENDING;
	s->has_result = pj->jd.r >= 0;
	findings_clear(s);
	s->error[0] = '\0';
	if (pj->jd.r < 0) {
		snprintf(s->error, sizeof(s->error), "%.256s: %.700s", pj->jd.err.where, pj->jd.err.message);
	} else {
		s->result = cpreg_verdict_result(pj->jd.verdict);
		s->trial_ran = pj->jd.trial_ran;
		s->trial_ms = pj->jd.trial_ms;
		snprintf(s->trial_failed, sizeof(s->trial_failed), "%s", pj->jd.trial_failed);
		snprintf(s->policy, sizeof(s->policy), "%s", cpreg_verdict_policy(pj->jd.verdict) ?: "");
		keep_deciding(s, pj->jd.verdict);
		if (P.env.judged)
			P.env.judged(s->digest, s->trial_ran, s->trial_ms, s->result);
	}
	if (P.env.changed)
		P.env.changed();
out:
	judge_clear(&pj->jd);
	free(pj);
	schedule_judging();
}

static void schedule_judging(void)
{
	struct cpreg_inventory *self;
	struct peer_judge *pj;
	struct peer_source *s = NULL;

	if (!P.enabled || P.running || !P.env.self || !(self = P.env.self()))
		return;
	for (size_t i = 0; i < P.n_src && !s; i++)
		if (P.src[i]->state == SRC_PENDING || P.src[i]->judged_gen != P.gen)
			s = P.src[i];
	if (!s)
		return;
	pj = calloc(1, sizeof(*pj));
	if (!pj)
		return;
	pj->src = s;
	pj->gen = P.gen;
	pj->jd.job.run = judge_run;
	pj->jd.job.done = judged;
	pj->jd.src = cpreg_inventory_ref(s->inv);
	pj->jd.dst = cpreg_inventory_ref(self);
	pj->jd.policy = P.env.policy ? P.env.policy() : NULL;
	pj->jd.vm = P.env.vm;
	pj->jd.trial = P.env.trial;
	pj->jd.dev = P.env.dev;
	s->state = SRC_RUNNING;
	P.running = s;
	worker_submit(&pj->jd.job);
}

void peers_host_changed(void)
{
	if (!P.enabled)
		return;
	P.gen++;
	for (size_t i = 0; i < P.n_src; i++)
		if (P.src[i] != P.running)
			P.src[i]->state = SRC_PENDING;
	sync_sources();
	schedule_judging();
	if (P.env.changed)
		P.env.changed();
}

unsigned peers_pending(void)
{
	unsigned n = 0;

	for (size_t i = 0; i < P.n_src; i++)
		n += P.src[i]->state != SRC_JUDGED || P.src[i]->judged_gen != P.gen;
	for (size_t i = 0; i < P.n_files; i++)
		n += P.files[i]->stale;
	/*
	 * A rescan that is due (the first one after start, or one an inotify
	 * event asked for) may find files not judged yet: until it has run,
	 * nothing is settled (a client saw "pending": 0 before the first scan).
	 */
	if (P.rescan_ev && evtimer_pending(P.rescan_ev, NULL))
		n++;
	if (P.load_ev && evtimer_pending(P.load_ev, NULL))
		n++;
	return n;
}

/* ---- reports ---- */

static int cmp_short(const void *a, const void *b)
{
	const struct peer_source *x = *(struct peer_source *const *)a, *y = *(struct peer_source *const *)b;
	int c = strcmp(x->short_digest, y->short_digest);

	return c ? c : strcmp(x->digest, y->digest);
}

static bool accepted(const struct peer_source *s)
{
	return s->has_result && s->judged_gen == P.gen && s->result == CPREG_COMPATIBLE;
}

void peers_foreach_accepted(void (*cb)(const char *short_digest, void *arg), void *arg)
{
	struct peer_source **v;

	if (!P.n_src || !(v = malloc(P.n_src * sizeof(*v))))
		return;
	memcpy(v, P.src, P.n_src * sizeof(*v));
	qsort(v, P.n_src, sizeof(*v), cmp_short);
	for (size_t i = 0; i < P.n_src;) {
		size_t k = i;
		bool all = true;

		for (; k < P.n_src && strcmp(v[k]->short_digest, v[i]->short_digest) == 0; k++)
			all &= accepted(v[k]);
		if (all)
			cb(v[i]->short_digest, arg);
		i = k;
	}
	free(v);
}

/* The hosts whose files carry this digest, and those files. */
static void hosts_json(struct jw *w, const char *digest, bool self)
{
	jw_array(w, "hosts");
	if (self)
		jw_string(w, NULL, "(this host)");
	for (size_t k = 0; k < P.n_files; k++)
		if (strcmp(P.files[k]->digest, digest) == 0)
			jw_string(w, NULL, P.files[k]->host);
	jw_end_array(w);
	jw_array(w, "files");
	for (size_t k = 0; k < P.n_files; k++)
		if (strcmp(P.files[k]->digest, digest) == 0)
			jw_string(w, NULL, P.files[k]->name);
	jw_end_array(w);
}

static void source_json(struct jw *w, const struct peer_source *s)
{
	bool current = s->has_result && s->judged_gen == P.gen;
	char when[32];

	jw_object(w, NULL);
	jw_string(w, "digest", s->digest);
	jw_string(w, "short_digest", s->short_digest);
	jw_bool(w, "self", s->self);
	hosts_json(w, s->digest, s->self);
	jw_string(w, "state", s->state == SRC_RUNNING ? "running" : current ? "judged" : "pending");
	jw_bool(w, "accepted", accepted(s));
	jw_string(w, "result", s->has_result ? cpreg_result_name(s->result) : NULL);
	jw_string(w, "error", s->error[0] ? s->error : NULL);
	jw_string(w, "policy", s->policy[0] ? s->policy : NULL);
	if (s->judged_at)
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&s->judged_at));
	jw_string(w, "judged_at", s->judged_at ? when : NULL);
	jw_object(w, "trial");
	jw_bool(w, "ran", s->trial_ran);
	if (s->trial_ran)
		jw_int(w, "duration_ms", s->trial_ms);
	else
		jw_null(w, "duration_ms");
	jw_string(w, "error", s->trial_failed[0] ? s->trial_failed : NULL);
	jw_end_object(w);
	findings_json(w, s);
	jw_end_object(w);
}

char *peers_json(void)
{
	struct jw w = { .first = true };
	char q[128], *text = NULL;

	cpreg_vm_options_qemu(&P.env.vm, q, sizeof(q));
	jw_object(&w, NULL);
	jw_string(&w, "schema", "cpreg-peers/1");
	jw_string(&w, "directory", P.env.dir ? P.env.dir : "");
	jw_string(&w, "directory_error", P.dir_error[0] ? P.dir_error : NULL);
	jw_string(&w, "vm_options", q);
	jw_bool(&w, "trial", P.env.trial);
	jw_int(&w, "files", (int64_t)P.n_files);
	jw_int(&w, "pending", peers_pending());
	jw_array(&w, "sources");
	for (size_t i = 0; i < P.n_src; i++)
		source_json(&w, P.src[i]);
	jw_end_array(&w);
	jw_array(&w, "errors");
	for (size_t k = 0; k < P.n_files; k++)
		if (P.files[k]->error) {
			jw_object(&w, NULL);
			jw_string(&w, "file", P.files[k]->name);
			jw_string(&w, "reason", P.files[k]->error);
			jw_end_object(&w);
		}
	jw_end_array(&w);
	jw_end_object(&w);
	if (jw_finish_text(&w, &text) < 0) {
		free(text);
		return NULL;
	}
	return text;
}

void peers_metrics(struct evbuffer *b)
{
	size_t bad = 0;

	if (!P.enabled)
		return;
	for (size_t k = 0; k < P.n_files; k++)
		bad += P.files[k]->error != NULL;
	evbuffer_add_printf(b,
		"# HELP cpregd_peer_directory_ok Whether the peers directory is watched.\n"
		"# TYPE cpregd_peer_directory_ok gauge\ncpregd_peer_directory_ok %d\n"
		"# HELP cpregd_peer_files Peer inventory files in the directory.\n"
		"# TYPE cpregd_peer_files gauge\ncpregd_peer_files %zu\n"
		"# HELP cpregd_peer_files_invalid Peer files skipped as unreadable or invalid.\n"
		"# TYPE cpregd_peer_files_invalid gauge\ncpregd_peer_files_invalid %zu\n"
		"# HELP cpregd_peer_sources Distinct source inventories (by digest), this host included.\n"
		"# TYPE cpregd_peer_sources gauge\ncpregd_peer_sources %zu\n"
		"# HELP cpregd_peer_pending Peer files or sources not judged yet.\n"
		"# TYPE cpregd_peer_pending gauge\ncpregd_peer_pending %u\n"
		"# HELP cpregd_peer_judgements_total Peer judgements run.\n"
		"# TYPE cpregd_peer_judgements_total counter\ncpregd_peer_judgements_total %" PRIu64 "\n",
		!P.dir_error[0], P.n_files, bad, P.n_src, peers_pending(), P.judgements);
	evbuffer_add_printf(b, "# HELP cpregd_peer_file_invalid A peer file skipped, by file name.\n"
			    "# TYPE cpregd_peer_file_invalid gauge\n");
	for (size_t k = 0; k < P.n_files; k++)
		if (P.files[k]->error) {
			evbuffer_add_printf(b, "cpregd_peer_file_invalid{file=\"");
			publish_metric_label(b, P.files[k]->name);
			evbuffer_add_printf(b, "\"} 1\n");
		}
	evbuffer_add_printf(b, "# HELP cpregd_peer_accepted Whether this host accepts VMs from a source inventory "
			    "(1: judged compatible, with the trial when it ran).\n# TYPE cpregd_peer_accepted gauge\n");
	for (size_t i = 0; i < P.n_src; i++) {
		const struct peer_source *s = P.src[i];

		if (!s->has_result)
			continue;
		evbuffer_add_printf(b, "cpregd_peer_accepted{digest=\"%s\",short_digest=\"%s\",result=\"%s\",trial=\"%s\"} %d\n",
				    s->digest, s->short_digest, cpreg_result_name(s->result), s->trial_ran ? "yes" : "no",
				    accepted(s));
	}
}

/* ---- life cycle ---- */

int peers_start(struct event_base *base, const struct peers_env *env)
{
	P.env = *env;
	P.base = base;
	P.ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (P.ifd < 0)
		return -errno;
	P.inotify_ev = event_new(base, P.ifd, EV_READ | EV_PERSIST, on_inotify, NULL);
	P.rescan_ev = evtimer_new(base, rescan, NULL);
	P.load_ev = evtimer_new(base, load_step, NULL);
	P.retry_ev = evtimer_new(base, retry_watch, NULL);
	if (!P.inotify_ev || !P.rescan_ev || !P.load_ev || !P.retry_ev || event_add(P.inotify_ev, NULL) < 0)
		return -ENOMEM;
	P.enabled = true;
	if (watch_dir() == 0)
		schedule_rescan();
	return 0;
}

void peers_stop(void)
{
	struct event **evs[] = { &P.inotify_ev, &P.rescan_ev, &P.load_ev, &P.retry_ev };

	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		if (*evs[i]) {
			event_free(*evs[i]);
			*evs[i] = NULL;
		}
	if (P.ifd >= 0)
		close(P.ifd);
	P.ifd = -1;
	for (size_t i = 0; i < P.n_files; i++)
		file_free(P.files[i]);
	free(P.files);
	for (size_t i = 0; i < P.n_src; i++)
		if (P.src[i] != P.running)
			source_free(P.src[i]);
		else
			P.src[i]->removed = true;
	free(P.src);
	P.files = NULL;
	P.src = NULL;
	P.n_files = P.n_src = 0;
	P.enabled = false;
}
