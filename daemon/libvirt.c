/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cpregd --libvirt URI: every VM started on this host gets its passport
 * with no one doing anything (issue 24).  libvirt's client library tells
 * of each domain's lifecycle; cpregd writes the passport into the domain's
 * <metadata> (the element the libvirt hook, cpregctl libvirt-hook, reads on
 * the next migration or restore), in the running and, for a persistent
 * domain, the persistent definition:
 *
 *   started afresh (booted)      born here now, whatever passport its
 *                                persistent definition kept from an earlier
 *                                life: a new QEMU takes this host's registers;
 *   migrated in, restored,       it keeps the registers of its birth host:
 *   from a snapshot              the passport the hook wrote stays, and goes
 *                                into the persistent definition too; one
 *                                that came without a passport is left so,
 *                                since its birth host is not known;
 *   stopped                      a stopped VM has no registers: the passport
 *                                leaves its persistent definition;
 *   running when cpregd          stamped as born here if it has none (the
 *   connects                     best this host knows), logged.
 *
 * All of it runs on a thread of its own with libvirt's default event loop:
 * a libvirt call may block on libvirtd, and the HTTP loop must not.  The
 * thread reads the loop's inventory through a reference taken under a lock
 * (inventories are immutable and reference-counted atomically), and the
 * loop reads the thread's counters through atomics.  libvirtd going away is
 * survived: the thread reconnects every few seconds and, once back, looks
 * at every running domain again.
 *
 * libvirt's client library is opened when --libvirt is given (dlopen), not
 * linked: a host without libvirt (a KubeVirt node, say) runs cpregd without
 * it, and the package only suggests it.  Its functions are named here, each
 * resolved once, and called through V.
 */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpreg-internal.h"
#include "cpregd.h"

#include <event2/buffer.h>

#ifdef HAVE_LIBVIRT
#include <dlfcn.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/tree.h>

#include "domain.h"

#define LIBVIRT_SONAME "libvirt.so.0"
#define LIBVIRT_FUNCTIONS(X) \
	X(virSetErrorFunc) X(virGetLastErrorMessage) X(virInitialize) X(virEventRegisterDefaultImpl) \
	X(virEventRunDefaultImpl) X(virEventAddTimeout) X(virConnectOpen) X(virConnectClose) \
	X(virConnectRegisterCloseCallback) X(virConnectUnregisterCloseCallback) X(virConnectSetKeepAlive) \
	X(virConnectDomainEventRegisterAny) X(virConnectDomainEventDeregisterAny) X(virConnectListAllDomains) \
	X(virDomainGetUUID) X(virDomainLookupByUUID) X(virDomainGetName) X(virDomainIsPersistent) \
	X(virDomainIsActive) X(virDomainGetXMLDesc) X(virDomainSetMetadata) X(virDomainFree)
#define DECLARE(f) __typeof__(f) *f;
static struct {
	void *handle;
	LIBVIRT_FUNCTIONS(DECLARE)
} V;
#undef DECLARE

/* Open libvirt's client library and find every function this file calls; -1 said in the log. */
static int load_libvirt(void)
{
	const char *missing = NULL;

	if (!(V.handle = dlopen(LIBVIRT_SONAME, RTLD_NOW | RTLD_LOCAL))) {
		log_err("--libvirt: libvirt's client library cannot be opened (install libvirt0): %s", dlerror());
		return -1;
	}
#define RESOLVE(f) \
	if (!missing && !(*(void **)&V.f = dlsym(V.handle, #f))) \
		missing = #f;
	LIBVIRT_FUNCTIONS(RESOLVE)
#undef RESOLVE
	if (missing) {
		log_err("--libvirt: %s has no %s: libvirt 6.0 or later is needed", LIBVIRT_SONAME, missing);
		dlclose(V.handle);
		V.handle = NULL;
		return -1;
	}
	return 0;
}

/* Seconds between attempts to reach libvirtd. */
#define RECONNECT_S 5

enum why { WHY_BOOTED, WHY_ARRIVED, WHY_STOPPED, WHY_RUNNING, WHY_DEFINED };

/* What became of a domain looked at: the metric's label. */
enum fate { F_BORN, F_KEPT, F_CLEARED, F_HAD_ONE, F_NO_PASSPORT, F_NOT_JUDGED, F_FAILED, _F_MAX };
static const char *const fate_names[] = { "born", "kept", "cleared", "had-one", "arrived-without", "not-judged",
					  "failed" };

struct pending {
	unsigned char uuid[VIR_UUID_BUFLEN];
	enum why why;
};

static struct {
	pthread_t thread;
	bool started;
	atomic_bool stop;
	pthread_mutex_t lock;          /* guards inv */
	struct cpreg_inventory *inv;   /* the loop's last probed inventory, referenced */
	atomic_int connected;
	atomic_uint_fast64_t fates[_F_MAX];
	atomic_uint_fast64_t connects;
	/* The thread's own. */
	virConnectPtr conn;
	int cb_id;
	bool lost;
	time_t next_try;
	struct pending *q;
	size_t n, cap;
} L = { .lock = PTHREAD_MUTEX_INITIALIZER, .cb_id = -1 };

/* libvirt reports errors to stderr unless told otherwise: cpregd logs them itself. */
static void quiet(void *opaque, virErrorPtr e)
{
	(void)opaque, (void)e;
}

static const char *last_error(void)
{
	const char *m = V.virGetLastErrorMessage();

	return m && *m ? m : "unknown error";
}

static void enqueue(virDomainPtr dom, enum why why)
{
	struct pending *n;

	if (L.n == L.cap) {
		size_t cap = L.cap ? 2 * L.cap : 16;

		if (!(n = realloc(L.q, cap * sizeof(*n)))) {
			log_err("libvirt: out of memory: domain %s not looked at", V.virDomainGetName(dom));
			atomic_fetch_add(&L.fates[F_FAILED], 1);
			return;
		}
		L.q = n;
		L.cap = cap;
	}
	if (V.virDomainGetUUID(dom, L.q[L.n].uuid) == 0) {
		L.q[L.n].why = why;
		L.n++;
	}
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
	(void)conn, (void)opaque;
	if (event == VIR_DOMAIN_EVENT_STARTED && detail == VIR_DOMAIN_EVENT_STARTED_BOOTED)
		enqueue(dom, WHY_BOOTED);
	else if (event == VIR_DOMAIN_EVENT_STARTED && (detail == VIR_DOMAIN_EVENT_STARTED_MIGRATED ||
						       detail == VIR_DOMAIN_EVENT_STARTED_RESTORED ||
						       detail == VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT))
		enqueue(dom, WHY_ARRIVED);
	else if (event == VIR_DOMAIN_EVENT_STOPPED)
		enqueue(dom, WHY_STOPPED);
	else if (event == VIR_DOMAIN_EVENT_DEFINED ||
		 (event == VIR_DOMAIN_EVENT_RESUMED && detail == VIR_DOMAIN_EVENT_RESUMED_MIGRATED))
		/*
		 * A live migration's destination defines the persistent domain at
		 * its end (--persistent), from the source's definition: the
		 * passport of the running VM goes into it again.
		 */
		enqueue(dom, WHY_DEFINED);
	return 0;
}

static void on_close(virConnectPtr conn, int reason, void *opaque)
{
	(void)conn, (void)opaque;
	log_warn("libvirt: the connection to %s closed (reason %d); reconnecting every %d s", opt.libvirt_uri, reason,
		 RECONNECT_S);
	L.lost = true;
}

/* Write (json) or remove (NULL) the passport in the definitions flags name. */
static int set_passport(virDomainPtr dom, const char *json, unsigned int flags)
{
	xmlChar *text = NULL;
	char *element = NULL;
	int r;

	if (json) {
		text = xmlEncodeSpecialChars(NULL, (const xmlChar *)json);
		if (!text || asprintf(&element, "<passport>%s</passport>", (const char *)text) < 0) {
			xmlFree(text);
			return -1;
		}
	}
	r = V.virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, element, json ? "cpregd" : NULL, CPREG_PASSPORT_NS,
				 flags);
	xmlFree(text);
	free(element);
	return r;
}

/* A passport for a VM born here now, with the options of its live definition. */
static enum fate born(virDomainPtr dom, const char *name, const char *xml, unsigned int flags)
{
	struct cpreg_vm_options vmo = { 0 };
	struct cpreg_passport *p = NULL;
	struct cpreg_inventory *inv;
	char why[600], t[32], *json = NULL;
	enum fate f = F_BORN;

	if (cpreg_domain_vm_options_mem(xml, strlen(xml), name, &vmo, why, sizeof(why)) < 0) {
		log_warn("libvirt: domain %s gets no passport: %s", name, why);
		return F_NOT_JUDGED;
	}
	pthread_mutex_lock(&L.lock);
	inv = cpreg_inventory_ref(L.inv);
	pthread_mutex_unlock(&L.lock);
	cpreg_utc_now(t, sizeof(t));
	if (cpreg_passport_born(inv, &vmo, t, &p) < 0 || cpreg_passport_to_json(p, &json) < 0) {
		log_warn("libvirt: domain %s gets no passport: its options do not fit this host", name);
		f = F_NOT_JUDGED;
	} else if (set_passport(dom, json, flags) < 0) {
		log_err("libvirt: domain %s: writing its passport failed: %s", name, last_error());
		f = F_FAILED;
	} else {
		log_info("libvirt: domain %s is born on this host: passport %s", name, cpreg_passport_digest(p));
	}
	free(json);
	cpreg_passport_unref(p);
	cpreg_inventory_unref(inv);
	return f;
}

/* Whether the persistent definition already holds this passport. */
static bool same_in_definition(virDomainPtr dom, const char *name, const char *passport)
{
	char *xml = V.virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE), *conf = NULL, why[600];
	bool same;

	if (!xml)
		return false;
	same = cpreg_domain_passport_get(xml, strlen(xml), name, &conf, why, sizeof(why)) == 0 && conf &&
	       strcmp(conf, passport) == 0;
	free(conf);
	free(xml);
	return same;
}

/* The running definition's passport into the persistent one (flags: the domain is persistent). */
static enum fate keep(virDomainPtr dom, const char *name, const char *passport, unsigned int flags)
{
	if (flags && set_passport(dom, passport, VIR_DOMAIN_AFFECT_CONFIG) < 0) {
		log_err("libvirt: domain %s: writing its passport into its definition failed: %s", name, last_error());
		return F_FAILED;
	}
	return F_KEPT;
}

/* What a running domain's event does to its passport; _F_MAX: nothing to count. */
static enum fate decide(virDomainPtr dom, const char *name, const char *xml, const char *passport, enum why why,
			unsigned int flags)
{
	switch (why) {
	case WHY_BOOTED:
		return born(dom, name, xml, VIR_DOMAIN_AFFECT_LIVE | flags);
	case WHY_ARRIVED:
		if (passport)
			return keep(dom, name, passport, flags);
		log_warn("libvirt: domain %s arrived without a passport: its birth host is not known, so it gets none "
			 "(CPREGD_HOOK_POLICY decides its next move)", name);
		return F_NO_PASSPORT;
	case WHY_DEFINED:
		/*
		 * Only a running VM's definition, only to carry the passport it runs
		 * with, and only when it holds another (so no write answers a write).
		 */
		if (!flags || !passport || same_in_definition(dom, name, passport))
			return _F_MAX;
		return keep(dom, name, passport, flags);
	default: /* WHY_RUNNING */
		if (passport)
			return F_HAD_ONE;
		log_info("libvirt: domain %s runs without a passport: stamped as born on this host now", name);
		return born(dom, name, xml, VIR_DOMAIN_AFFECT_LIVE | flags);
	}
}

/* Look at one domain; false when it must wait for an inventory. */
static bool look_at(const struct pending *pd)
{
	virDomainPtr dom = V.virDomainLookupByUUID(L.conn, pd->uuid);
	const char *name;
	char *xml = NULL, *passport = NULL, why[600];
	unsigned int flags;
	enum fate f;
	bool has_inv;

	if (!dom)
		return true; /* gone (undefined) meanwhile */
	name = V.virDomainGetName(dom);
	flags = V.virDomainIsPersistent(dom) == 1 ? VIR_DOMAIN_AFFECT_CONFIG : 0;
	if (pd->why == WHY_STOPPED) {
		/* The definition's passport, if any, is an earlier life's: it goes. */
		f = F_CLEARED;
		if (flags && set_passport(dom, NULL, VIR_DOMAIN_AFFECT_CONFIG) < 0) {
			log_warn("libvirt: domain %s stopped; removing its passport failed: %s", name, last_error());
			f = F_FAILED;
		}
		goto out;
	}
	pthread_mutex_lock(&L.lock);
	has_inv = L.inv != NULL;
	pthread_mutex_unlock(&L.lock);
	if (!has_inv && pd->why != WHY_ARRIVED && pd->why != WHY_DEFINED) {
		V.virDomainFree(dom);
		return false;
	}
	if (V.virDomainIsActive(dom) != 1) {
		V.virDomainFree(dom);
		return true;
	}
	if (!(xml = V.virDomainGetXMLDesc(dom, 0))) {
		log_err("libvirt: domain %s: reading its definition failed: %s", name, last_error());
		f = F_FAILED;
		goto out;
	}
	if (cpreg_domain_passport_get(xml, strlen(xml), name, &passport, why, sizeof(why)) < 0) {
		log_warn("libvirt: domain %s: %s", name, why);
		passport = NULL;
	}
	f = decide(dom, name, xml, passport, pd->why, flags);
out:
	if (f != _F_MAX)
		atomic_fetch_add(&L.fates[f], 1);
	free(passport);
	free(xml);
	V.virDomainFree(dom);
	return true;
}

static void drain(void)
{
	size_t kept = 0;

	for (size_t i = 0; i < L.n && L.conn && !L.lost && !atomic_load(&L.stop); i++)
		if (!look_at(&L.q[i]))
			L.q[kept++] = L.q[i];
	L.n = L.conn && !L.lost ? kept : 0;
}

static void disconnect(void)
{
	if (!L.conn)
		return;
	if (L.cb_id >= 0)
		V.virConnectDomainEventDeregisterAny(L.conn, L.cb_id);
	V.virConnectUnregisterCloseCallback(L.conn, on_close);
	V.virConnectClose(L.conn);
	L.conn = NULL;
	L.cb_id = -1;
	atomic_store(&L.connected, 0);
}

static void try_connect(void)
{
	virDomainPtr *doms = NULL;
	int n;

	L.next_try = time(NULL) + RECONNECT_S;
	if (!(L.conn = V.virConnectOpen(opt.libvirt_uri))) {
		if (atomic_load(&L.connects) == 0 && !L.lost) {
			const char *e = last_error();
			bool denied = strstr(e, "authentication") || strstr(e, "Permission denied") || strstr(e, "access denied");

			log_warn("libvirt: cannot connect to %s: %s; trying every %d s%s", opt.libvirt_uri, e, RECONNECT_S,
				 denied ? " (is cpregd's user allowed to manage it? on Debian: adduser cpregd libvirt)" : "");
			L.lost = true;
		}
		return;
	}
	L.lost = false;
	V.virConnectRegisterCloseCallback(L.conn, on_close, NULL, NULL);
	V.virConnectSetKeepAlive(L.conn, 5, 3);
	L.cb_id = V.virConnectDomainEventRegisterAny(L.conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
						    VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), NULL, NULL);
	if (L.cb_id < 0) {
		log_err("libvirt: %s: cannot listen to domain events: %s", opt.libvirt_uri, last_error());
		disconnect();
		return;
	}
	/* Subscribed first, listed second: a domain started in between is seen twice, never missed. */
	n = V.virConnectListAllDomains(L.conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
	for (int i = 0; i < n; i++) {
		enqueue(doms[i], WHY_RUNNING);
		V.virDomainFree(doms[i]);
	}
	free(doms);
	atomic_store(&L.connected, 1);
	atomic_fetch_add(&L.connects, 1);
	log_info("libvirt: connected to %s; %d domain%s running", opt.libvirt_uri, n < 0 ? 0 : n, n == 1 ? "" : "s");
}

static void tick(int timer, void *opaque)
{
	(void)timer, (void)opaque;
}

static void *libvirt_main(void *arg)
{
	(void)arg;
	/* A timer wakes the loop every second: reconnecting, an inventory come, stopping. */
	V.virEventAddTimeout(1000, tick, NULL, NULL);
	while (!atomic_load(&L.stop)) {
		if (L.lost && L.conn)
			disconnect();
		if (!L.conn && time(NULL) >= L.next_try)
			try_connect();
		drain();
		if (V.virEventRunDefaultImpl() < 0)
			break;
	}
	disconnect();
	return NULL;
}

int libvirt_init(void)
{
	if (!opt.libvirt_uri)
		return 0;
	if (load_libvirt() < 0)
		return -1;
	V.virSetErrorFunc(NULL, quiet);
	if (V.virInitialize() < 0 || V.virEventRegisterDefaultImpl() < 0) {
		log_err("libvirt: the client library cannot start: %s", last_error());
		return -1;
	}
	if (pthread_create(&L.thread, NULL, libvirt_main, NULL) != 0) {
		log_err("libvirt: cannot start its thread");
		return -1;
	}
	L.started = true;
	log_info("stamping the passports of VMs that libvirt (%s) starts", opt.libvirt_uri);
	return 0;
}

void libvirt_fini(void)
{
	if (L.started) {
		atomic_store(&L.stop, true);
		pthread_join(L.thread, NULL);
		L.started = false;
	}
	cpreg_inventory_unref(L.inv);
	L.inv = NULL;
	free(L.q);
	L.q = NULL;
	L.n = L.cap = 0;
}

void libvirt_inventory(struct cpreg_inventory *inv)
{
	struct cpreg_inventory *old;

	if (!L.started)
		return;
	pthread_mutex_lock(&L.lock);
	old = L.inv;
	L.inv = cpreg_inventory_ref(inv);
	pthread_mutex_unlock(&L.lock);
	cpreg_inventory_unref(old);
}

void libvirt_metrics(struct evbuffer *b)
{
	if (!opt.libvirt_uri)
		return;
	evbuffer_add_printf(b, "# HELP cpregd_libvirt_connected Whether cpregd is connected to libvirt (--libvirt).\n"
			    "# TYPE cpregd_libvirt_connected gauge\ncpregd_libvirt_connected %d\n"
			    "# HELP cpregd_libvirt_domains_total Domains looked at on a lifecycle event, by what "
			    "became of their passport.\n# TYPE cpregd_libvirt_domains_total counter\n",
			    atomic_load(&L.connected));
	for (int f = 0; f < _F_MAX; f++)
		evbuffer_add_printf(b, "cpregd_libvirt_domains_total{passport=\"%s\"} %" PRIuFAST64 "\n", fate_names[f],
				    (uint_fast64_t)atomic_load(&L.fates[f]));
}
#else
int libvirt_init(void)
{
	if (opt.libvirt_uri) {
		log_err("--libvirt: this cpregd was built without libvirt's client library");
		return -1;
	}
	return 0;
}

void libvirt_fini(void)
{
}

void libvirt_inventory(struct cpreg_inventory *inv)
{
	(void)inv;
}

void libvirt_metrics(struct evbuffer *b)
{
	(void)b;
}
#endif
