/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cpregctl: the command line for orchestrators and operators.
 *
 * Exit status: 0 compatible or success, 1 incompatible (or, for diff, the
 * inventories differ), 2 usage or runtime error with the reason on stderr.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <sys/ioctl.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>

#include <json.h>

#include "client.h"
#include "domain.h"
#include "jsonw.h"
#include "cpreg.h"
#include "backend.h"
#include "probe.h"

#define DEFAULT_SOCKET "/run/cpregd/cpregd.sock"

enum { EXIT_OK = 0, EXIT_NO = 1, EXIT_ERR = 2 };

static struct {
	const char *socket;
	const char *policy;
	bool json;
	bool verbose;
	bool all;
	int timeout_ms;
	const char *dev;
	const char *qemu;
	struct cpreg_vm_options vm;   /* the VM's options: --disable, --sve-max-vq, --psci-version, --domain */
	bool trial_off;
	const char *provenance;
	const char *domain;
} arg = { .timeout_ms = 60000 };

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;

	fputs("cpregctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_ERR;
}

static int load(const char *path, struct cpreg_inventory **ret)
{
	struct cpreg_error err = { 0 };

	if (cpreg_inventory_load(path, ret, &err) < 0)
		return fail("%s: %s", err.where, err.message);
	return 0;
}

/* A built-in policy name, or a site policy file. */
static int get_policy(struct cpreg_policy **ret)
{
	struct cpreg_error err = { 0 };
	int r;

	*ret = NULL;
	if (!arg.policy || strcmp(arg.policy, "auto") == 0)
		return 0;
	r = cpreg_policy_new_builtin(arg.policy, ret);
	if (r == -ENOENT) {
		if (access(arg.policy, F_OK) != 0)
			return fail("--policy: \"%s\" is neither qemu-legacy, qemu-11.1, auto, nor a policy file",
				    arg.policy);
		if (cpreg_policy_load(arg.policy, ret, &err) < 0)
			return fail("%s: %s", err.where, err.message);
		return 0;
	}
	return r < 0 ? fail("--policy: %s", strerror(-r)) : 0;
}

static const char *host_label(const struct cpreg_inventory *inv, const char *fallback)
{
	const char *h = cpreg_inventory_get_text(inv, CPREG_TEXT_HOSTNAME);

	return h ? h : fallback;
}



/*
 * The terminal's width when standard output is one (or $COLUMNS); 0 when it
 * is a file or a pipe: there each finding stays on one line, for grep.
 */
static int text_width(void)
{
	static int w = -1;
	struct winsize ws;
	const char *c = getenv("COLUMNS");

	if (w >= 0)
		return w;
	if (c && atoi(c) >= 40)
		w = atoi(c);
	else if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
		w = ws.ws_col;
	else
		w = 0;
	return w;
}

/* Text after `lead` already printed (its width `col`), wrapped at word boundaries to the width, continuation lines indented by `indent`. */
static void print_wrapped(const char *text, int col, int indent)
{
	int w = text_width();

	if (w == 0 || col + (int)strlen(text) <= w) {
		printf("%s\n", text);
		return;
	}
	while (*text) {
		int room = w - col, n = (int)strlen(text);

		if (n > room) {
			int cut = room;

			while (cut > 0 && text[cut] != ' ')
				cut--;
			n = cut > 0 ? cut : room;
		}
		printf("%.*s\n", n, text);
		text += n;
		while (*text == ' ')
			text++;
		if (*text)
			printf("%*s", indent, "");
		col = indent;
	}
}

/*
 * A verdict (typed: the library's own, or the daemon's read back with
 * cpreg_verdict_from_json) as a table, worst first: fail, unknown,
 * tolerated, then ok (ok only with -v).
 */
static void print_verdict(const struct cpreg_verdict *v, const char *src, const char *dst)
{
	static const enum cpreg_outcome order[] = { CPREG_OUT_FAIL, CPREG_OUT_UNKNOWN, CPREG_OUT_TOLERATED, CPREG_OUT_OK };
	size_t counts[4] = { 0 };
	char sum[256];

	{
		char *head = NULL;

		if (asprintf(&head, "%s -> %s: %s (policy %s: %s)", src, dst, cpreg_result_name(cpreg_verdict_result(v)),
			     cpreg_verdict_policy(v), cpreg_verdict_policy_reason(v)) >= 0)
			print_wrapped(head, 0, 4);
		free(head);
	}
	for (int rank = 0; rank < 4; rank++)
		for (size_t i = 0; i < cpreg_verdict_count(v); i++) {
			const struct cpreg_finding *f = cpreg_verdict_at(v, i);
			char a[32], b[32];

			if (f->outcome != order[rank])
				continue;
			counts[rank]++;
			if (order[rank] == CPREG_OUT_OK && !arg.verbose)
				continue;
			if (f->kind == CPREG_FIND_COUNT_EXCEEDED) {
				snprintf(a, sizeof(a), "%" PRIu64, f->source_value);
				snprintf(b, sizeof(b), "%" PRIu64, f->destination_value);
			} else {
				snprintf(a, sizeof(a), f->has_source ? "0x%016" PRIx64 : "-", f->source_value);
				snprintf(b, sizeof(b), f->has_destination ? "0x%016" PRIx64 : "-", f->destination_value);
			}
			{
				char row[160];
				/* The columns take 97 characters; a narrower terminal gets the row in words. */
				int col = text_width() && text_width() < 98
					? snprintf(row, sizeof(row), "  %s %s (%s) %s -> %s", cpreg_outcome_name(f->outcome), f->name,
						   cpreg_finding_kind_name(f->kind), a, b)
					: snprintf(row, sizeof(row), "  %-9s %-24s %-19s %18s -> %-18s", cpreg_outcome_name(f->outcome),
						   f->name, cpreg_finding_kind_name(f->kind), a, b);

				/* On a terminal narrower than the row, the message goes under it, wrapped. */
				if (text_width() && col + 1 + (int)strlen(f->message) > text_width()) {
					printf("%s\n%12s", row, "");
					col = 12;
				} else {
					col = printf("%s ", row);
				}
				print_wrapped(f->message, col, 12);
			}
		}
	printf("  %zu fail, %zu unknown, %zu tolerated, %zu ok\n", counts[0], counts[1], counts[2], counts[3]);
	if (cpreg_verdict_trial_summary(v, sum, sizeof(sum)))
		print_wrapped(sum, printf("  trial: "), 4);
	else
		printf("  static check only: no trial ran\n");
}

/* The verdict as cpreg-verdict/1 on standard output (check --json, explain --json). */
static int put_verdict_json(const struct cpreg_verdict *v)
{
	char *json = NULL;

	if (cpreg_verdict_to_json(v, &json) < 0)
		return fail("out of memory"), -1;
	fputs(json, stdout);
	free(json);
	return 0;
}

static int verdict_exit(enum cpreg_result r)
{
	return r == CPREG_COMPATIBLE ? EXIT_OK : EXIT_NO;
}

/* The VM's own options (--psci-version, --disable, --sve-max-vq, --domain). */
static struct cpreg_vm_options vm_options(void)
{
	return arg.vm;
}

/* Load SOURCE and DESTINATION and check (offline) with the VM's options, which the check applies once. */
static int offline_verdict(char **argv, struct cpreg_inventory **s, struct cpreg_inventory **d,
			   struct cpreg_policy **p, struct cpreg_verdict **v)
{
	int r;

	if (load(argv[0], s) != 0 || load(argv[1], d) != 0 || get_policy(p) != 0)
		return EXIT_ERR;
	r = cpreg_check_vm(*s, *d, *p, &arg.vm, v);
	if (r == -ENOENT)
		return fail("%s: cannot apply the VM's options (no PSCI_VERSION to pin?)", argv[0]);
	if (r < 0)
		return fail("check failed: out of memory");
	cpreg_verdict_trial_failed(*v, "offline check: no trial ran (the live trial runs in the destination's cpregd: "
			      "cpregctl check SOURCE there)");
	return 0;
}

static int cmd_probe(int argc, char **argv)
{
	struct cpreg_probe_opts o = { .dev = arg.dev, .disable = arg.vm.disable, .qemu = arg.qemu };
	struct cpreg_inventory *inv = NULL;
	struct backend *b = NULL;
	struct cpreg_error err = { 0 };
	char *json = NULL;
	int r;

	if (argc != 0)
		return fail("probe takes no arguments");
	r = backend_get(&o.ops, &b, &err);
	if (r >= 0)
		r = cpreg_probe(&o, &inv, &err);
	if (r >= 0 && arg.provenance)
		cpreg_inventory_set_text(inv, CPREG_TEXT_PROVENANCE, arg.provenance);
	backend_put(b);
	if (r < 0)
		return fail("probe failed at %s: %s", err.where, err.message);
	if (cpreg_inventory_to_json(inv, &json) < 0) {
		cpreg_inventory_unref(inv);
		return fail("out of memory");
	}
	fputs(json, stdout);
	free(json);
	cpreg_inventory_unref(inv);
	return fflush(stdout) == 0 ? EXIT_OK : fail("cannot write: %s", strerror(errno));
}

static int request(const char *method, const char *target, const char *body, size_t len, struct http_reply *rep)
{
	const char *what = "";
	int r = http_unix_request(arg.socket, method, target, body, len, arg.timeout_ms, rep, &what);

	if (r < 0)
		return fail("%s %s: %s: %s%s", arg.socket, target, what, strerror(-r),
			    r == -ENOENT || r == -ECONNREFUSED ? " (is cpregd running? see systemctl status cpregd.socket)"
			    : r == -EACCES ? " (join the group that owns the socket)" : "");
	if (rep->status >= 400 && rep->status != 503) {
		fprintf(stderr, "cpregctl: %s %s: HTTP %d: %s", method, target, rep->status, rep->body);
		free(rep->body);
		return EXIT_ERR;
	}
	return 0;
}

/* GET: the document; refresh (POST): the health after the probe it started, answered once that probe ends. */
static int cmd_get(const char *method, const char *target, int argc)
{
	struct http_reply rep;

	if (argc != 0)
		return fail("too many arguments");
	if (request(method, target, NULL, 0, &rep) != 0)
		return EXIT_ERR;
	fputs(rep.body, stdout);
	free(rep.body);
	return rep.status == 200 ? EXIT_OK : EXIT_NO;
}

/* This host's verdicts for its peers' inventories (cpregd --peers): a table, or the document. */
static int cmd_peers(int argc)
{
	struct http_reply rep;
	json_object *o = NULL, *a;

	if (argc != 0)
		return fail("too many arguments");
	if (request("GET", "/v1/peers", NULL, 0, &rep) != 0)
		return EXIT_ERR;
	if (arg.json || rep.status != 200 || !(o = json_tokener_parse(rep.body))) {
		fputs(rep.body, rep.status == 200 ? stdout : stderr);
		free(rep.body);
		return rep.status == 200 ? EXIT_OK : EXIT_ERR;
	}
	free(rep.body);
	printf("peers in %s, judged with -cpu %s%s; %d still pending\n",
	       json_object_get_string(json_object_object_get(o, "directory")),
	       json_object_get_string(json_object_object_get(o, "vm_options")),
	       json_object_get_boolean(json_object_object_get(o, "trial")) ? " and the live trial" : "",
	       json_object_get_int(json_object_object_get(o, "pending")));
	if (json_object_object_get(o, "directory_error"))
		printf("  directory: %s\n", json_object_get_string(json_object_object_get(o, "directory_error")));
	printf("%-16s  %-8s  %-12s  %-5s  %s\n", "SOURCE", "ACCEPTED", "RESULT", "TRIAL", "HOSTS");
	a = json_object_object_get(o, "sources");
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *e = json_object_array_get_idx(a, i), *h = json_object_object_get(e, "hosts");
		json_object *fs = json_object_object_get(e, "findings");

		printf("%-16s  %-8s  %-12s  %-5s  ", json_object_get_string(json_object_object_get(e, "short_digest")),
		       json_object_get_boolean(json_object_object_get(e, "accepted")) ? "yes" : "no",
		       json_object_object_get(e, "result") ? json_object_get_string(json_object_object_get(e, "result"))
							   : json_object_get_string(json_object_object_get(e, "state")),
		       json_object_get_boolean(json_object_object_get(json_object_object_get(e, "trial"), "ran")) ? "yes" : "no");
		for (size_t k = 0; k < json_object_array_length(h); k++)
			printf("%s%s", k ? ", " : "", json_object_get_string(json_object_array_get_idx(h, k)));
		putchar('\n');
		for (size_t k = 0; k < json_object_array_length(fs) && k < 3; k++)
			printf("    %s\n", json_object_get_string(json_object_object_get(json_object_array_get_idx(fs, k), "message")));
	}
	a = json_object_object_get(o, "errors");
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *e = json_object_array_get_idx(a, i);

		printf("skipped %s: %s\n", json_object_get_string(json_object_object_get(e, "file")),
		       json_object_get_string(json_object_object_get(e, "reason")));
	}
	json_object_put(o);
	return EXIT_OK;
}

static int cmd_check(int argc, char **argv)
{
	struct cpreg_inventory *s = NULL, *d = NULL;
	struct cpreg_policy *p = NULL;
	struct cpreg_verdict *v = NULL;
	int ret = EXIT_ERR;

	if (argc < 1 || argc > 2)
		return fail("usage: cpregctl check SOURCE.json [DESTINATION.json]");
	if (argc == 1) {
		/* This host as the destination: ask the local daemon. */
		char target[160], *text = NULL;
		size_t len;
		struct http_reply rep;
		struct cpreg_error err = { 0 };
		FILE *f = strcmp(argv[0], "-") == 0 ? stdin : fopen(argv[0], "re");

		if (!f)
			return fail("%s: %s", argv[0], strerror(errno));
		{
			size_t cap = 0;

			len = 0;
			for (;;) {
				if (len + 65536 > cap) {
					char *n = realloc(text, cap = cap ? cap * 2 : 131072);

					if (!n) {
						free(text);
						return fail("out of memory");
					}
					text = n;
				}
				size_t k = fread(text + len, 1, cap - len, f);

				len += k;
				if (k == 0)
					break;
				/* The readers' own bound, applied while reading: a pipe never fills memory. */
				if (len > CPREG_JSON_MAX) {
					free(text);
					if (f != stdin)
						fclose(f);
					return fail("%s: larger than %u bytes", argv[0], CPREG_JSON_MAX);
				}
			}
		}
		if (f != stdin)
			fclose(f);
		/* Validate here too: a bad file is named locally, not by the daemon. */
		if (cpreg_inventory_from_json(text, len, &s, &err) < 0) {
			free(text);
			return fail("%s:%s: %s", argv[0], err.where, err.message);
		}
		cpreg_inventory_unref(s);
		/* The daemon takes a policy by name; a policy file stays here: check offline against a destination file. */
		if (arg.policy && strcmp(arg.policy, "qemu-legacy") != 0 && strcmp(arg.policy, "qemu-11.1") != 0 &&
		    strcmp(arg.policy, "auto") != 0 && strcmp(arg.policy, "site") != 0) {
			free(text);
			return fail("-p %s: the daemon checks under its own policies only (qemu-legacy, qemu-11.1, auto, or "
				    "site: its --policy-file); to check under a policy file, give the destination's "
				    "inventory too: cpregctl -p %s check %s DESTINATION.json", arg.policy, arg.policy, argv[0]);
		}
		{
			/* The VM's options as the daemon's query parameters (the options table's keys). */
			char vq[128];

			cpreg_vm_options_query(&arg.vm, vq, sizeof(vq));
			snprintf(target, sizeof(target), "/v1/check?trial=%d%s%s%s%s", arg.trial_off ? 0 : 1,
				 arg.policy ? "&policy=" : "", arg.policy ? arg.policy : "", *vq ? "&" : "", vq);
		}
		if (request("POST", target, text, len, &rep) != 0) {
			free(text);
			return EXIT_ERR;
		}
		free(text);
		if (rep.status != 200) {
			fprintf(stderr, "cpregctl: HTTP %d: %s", rep.status, rep.body);
			free(rep.body);
			return EXIT_ERR;
		}
		/* The exit status and the text come from the typed verdict, never from its bytes. */
		if (cpreg_verdict_from_json(rep.body, strlen(rep.body), &v, &err) < 0) {
			ret = fail("the daemon's verdict: %s: %s", err.where, err.message);
			free(rep.body);
			return ret;
		}
		if (arg.json)
			fputs(rep.body, stdout);
		else
			print_verdict(v, argv[0], "this host");
		ret = verdict_exit(cpreg_verdict_result(v));
		cpreg_verdict_unref(v);
		free(rep.body);
		return ret;
	}
	if (offline_verdict(argv, &s, &d, &p, &v) != 0)
		goto out;
	if (arg.json) {
		if (put_verdict_json(v) < 0)
			goto out;
	} else {
		print_verdict(v, host_label(s, argv[0]), host_label(d, argv[1]));
	}
	ret = verdict_exit(cpreg_verdict_result(v));
out:
	cpreg_verdict_unref(v);
	cpreg_policy_unref(p);
	cpreg_inventory_unref(s);
	cpreg_inventory_unref(d);
	return ret;
}

static void value_text(const struct cpreg_reg *r, char *buf, size_t len)
{
	if (!r)
		snprintf(buf, len, "-");
	else if (r->state == CPREG_WIDE)
		snprintf(buf, len, "(wide)");
	else if (r->state == CPREG_UNREADABLE)
		snprintf(buf, len, "(%s)", strerrorname_np(r->read_errno));
	else
		snprintf(buf, len, "0x%" PRIx64, r->value);
}

/* "ID_AA64ISAR0_EL1.Atomic (FEAT_LSE): 2 -> 0" for each field that differs. */
static void print_fields(uint64_t id, uint64_t a, uint64_t b, const char *indent)
{
	struct cpreg_field_change ch[40];
	int n = cpreg_field_diff(id, a, b, ch, 40);

	for (int i = 0; i < n; i++) {
		char name[80];

		cpreg_field_change_name(&ch[i], name, sizeof(name));
		if (ch[i].field.width > 4)
			/* Wide fields (MIDR's implementer and part number, CTR's, CLIDR's) read best in hex. */
			printf("%s%s%s%s%s: %#" PRIx64 " -> %#" PRIx64 "\n", indent, name, ch[i].field.feat ? " (" : "",
			       ch[i].field.feat ? ch[i].field.feat : "", ch[i].field.feat ? ")" : "", (uint64_t)ch[i].a,
			       (uint64_t)ch[i].b);
		else
			printf("%s%s%s%s%s: %" PRId64 " -> %" PRId64 "\n", indent, name, ch[i].field.feat ? " (" : "",
			       ch[i].field.feat ? ch[i].field.feat : "", ch[i].field.feat ? ")" : "", ch[i].a, ch[i].b);
	}
}

/* Side by side, by register name: the migrated registers (all with --all), counters aside. */
static int cmd_diff(int argc, char **argv)
{
	struct cpreg_inventory *a = NULL, *b = NULL;
	size_t i = 0, j = 0, na, nb, ndiff = 0;
	json_object *doc = NULL, *diffs = NULL;
	int ret = EXIT_ERR;

	if (argc != 2)
		return fail("usage: cpregctl diff A.json B.json");
	if (load(argv[0], &a) != 0 || load(argv[1], &b) != 0)
		goto out;
	na = cpreg_inventory_count(a);
	nb = cpreg_inventory_count(b);
	if (arg.json) {
		/* cpreg-diff-1 (docs/schemas): built with json-c, which escapes the file names. */
		doc = json_object_new_object();
		diffs = json_object_new_array();
		json_object_object_add(doc, "a", json_object_new_string(argv[0]));
		json_object_object_add(doc, "b", json_object_new_string(argv[1]));
	} else {
		printf("%-28s %-22s %-22s\n", "REGISTER", host_label(a, argv[0]), host_label(b, argv[1]));
	}
	while (i < na || j < nb) {
		const struct cpreg_reg *x = i < na ? cpreg_inventory_at(a, i) : NULL;
		const struct cpreg_reg *y = j < nb ? cpreg_inventory_at(b, j) : NULL;
		char name[64], va[40], vb[40];
		uint64_t id;

		if (x && (!y || x->id < y->id)) {
			y = NULL;
			i++;
		} else if (y && (!x || y->id < x->id)) {
			x = NULL;
			j++;
		} else if (x && y) {
			i++;
			j++;
		} else {
			break;
		}
		id = x ? x->id : y ? y->id : 0;
		if (!arg.all && (!cpreg_id_migrates(id) || cpreg_id_is_counter(id)))
			continue;
		if (x && y && x->state == y->state && x->value == y->value)
			continue;
		ndiff++;
		cpreg_id_name(id, name, sizeof(name));
		value_text(x, va, sizeof(va));
		value_text(y, vb, sizeof(vb));
		if (arg.json) {
			json_object *o = json_object_new_object();
			char hex[24];

			snprintf(hex, sizeof(hex), "0x%016" PRIx64, id);
			json_object_object_add(o, "id", json_object_new_string(hex));
			json_object_object_add(o, "name", json_object_new_string(name));
			json_object_object_add(o, "a", x ? json_object_new_string(va) : NULL);
			json_object_object_add(o, "b", y ? json_object_new_string(vb) : NULL);
			json_object_array_add(diffs, o);
		} else {
			printf("%-28s %-22s %-22s\n", name, va, vb);
			if (x && y && x->state == CPREG_VALUE && y->state == CPREG_VALUE && cpreg_id_is_id_register(id))
				print_fields(id, x->value, y->value, "    ");
		}
	}
	if (arg.json) {
		json_object_object_add(doc, "differences", diffs);
		json_object_object_add(doc, "count", json_object_new_int64((int64_t)ndiff));
		puts(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(doc);
		doc = NULL;
	} else {
		printf("%zu difference%s\n", ndiff, ndiff == 1 ? "" : "s");
	}
	ret = ndiff ? EXIT_NO : EXIT_OK;
out:
	json_object_put(doc);
	cpreg_inventory_unref(a);
	cpreg_inventory_unref(b);
	return ret;
}

/*
 * Every ordered pair of a fleet.  Hosts with the same digest and the same
 * destination policy form a pool, and each pair of pools is checked once.
 */
static int cmd_matrix(int argc, char **argv)
{
	struct pool {
		char digest[CPREG_DIGEST_LEN];
		const char *policy;
		struct cpreg_inventory *inv;
		const char **members;
		size_t n;
	} *pools = NULL;
	struct cpreg_policy *forced = NULL;
	size_t npools = 0, bad = 0;
	json_object *mdoc = NULL, *pairs = NULL;
	int ret = EXIT_ERR;

	if (argc < 1)
		return fail("usage: cpregctl matrix FILE...");
	if (get_policy(&forced) != 0)
		return EXIT_ERR;
	for (int i = 0; i < argc; i++) {
		struct cpreg_inventory *inv;
		char digest[CPREG_DIGEST_LEN];
		const char *pol;
		size_t k;

		if (load(argv[i], &inv) != 0)
			goto out;
		cpreg_inventory_digest(inv, digest, sizeof(digest));
		pol = forced ? cpreg_policy_name(forced)
			     : cpreg_policy_for_qemu_version(cpreg_inventory_get_text(inv, CPREG_TEXT_QEMU_VERSION));
		if (!pol)
			pol = "qemu-legacy";
		for (k = 0; k < npools; k++)
			if (strcmp(pools[k].digest, digest) == 0 && strcmp(pools[k].policy, pol) == 0)
				break;
		if (k == npools) {
			struct pool *np = realloc(pools, (npools + 1) * sizeof(*pools));

			if (!np) {
				cpreg_inventory_unref(inv);
				fail("out of memory");
				goto out;
			}
			pools = np;
			memset(&pools[k], 0, sizeof(*pools));
			memcpy(pools[k].digest, digest, sizeof(digest));
			pools[k].policy = pol;
			pools[k].inv = cpreg_inventory_ref(inv);
			npools++;
		}
		{
			const char **nm = realloc(pools[k].members, (pools[k].n + 1) * sizeof(char *));

			if (!nm) {
				cpreg_inventory_unref(inv);
				fail("out of memory");
				goto out;
			}
			pools[k].members = nm;
			pools[k].members[pools[k].n++] = argv[i];
		}
		cpreg_inventory_unref(inv);
	}
	if (arg.json) {
		/* cpreg-matrix-1 (docs/schemas), built with json-c. */
		json_object *pl = json_object_new_array();

		mdoc = json_object_new_object();
		pairs = json_object_new_array();
		for (size_t k = 0; k < npools; k++) {
			json_object *o = json_object_new_object(), *mem = json_object_new_array();

			json_object_object_add(o, "pool", json_object_new_int64((int64_t)k));
			json_object_object_add(o, "digest", json_object_new_string(pools[k].digest));
			json_object_object_add(o, "policy", json_object_new_string(pools[k].policy));
			for (size_t m = 0; m < pools[k].n; m++)
				json_object_array_add(mem, json_object_new_string(pools[k].members[m]));
			json_object_object_add(o, "members", mem);
			json_object_array_add(pl, o);
		}
		json_object_object_add(mdoc, "pools", pl);
	} else {
		for (size_t k = 0; k < npools; k++) {
			printf("pool %zu (%s, %.19s…):", k, pools[k].policy, pools[k].digest);
			for (size_t m = 0; m < pools[k].n; m++)
				printf(" %s", pools[k].members[m]);
			printf("\n");
		}
		printf("\n%-8s", "src\\dst");
		for (size_t k = 0; k < npools; k++)
			printf(" %6zu", k);
		printf("\n");
	}
	for (size_t s = 0; s < npools; s++) {
		if (!arg.json)
			printf("%-8zu", s);
		for (size_t d = 0; d < npools; d++) {
			struct cpreg_verdict *v = NULL;
			enum cpreg_result res;
			size_t nfail = 0;

			if (cpreg_check(pools[s].inv, pools[d].inv, forced, &v) < 0) {
				fail("check failed: out of memory");
				goto out;
			}
			res = cpreg_verdict_result(v);
			bad += res != CPREG_COMPATIBLE;
			for (size_t i = 0; i < cpreg_verdict_count(v); i++)
				nfail += cpreg_verdict_outcome_at(v, i) == CPREG_OUT_FAIL;
			if (arg.json) {
				json_object *o = json_object_new_object();

				json_object_object_add(o, "source", json_object_new_int64((int64_t)s));
				json_object_object_add(o, "destination", json_object_new_int64((int64_t)d));
				json_object_object_add(o, "result", json_object_new_string(cpreg_result_name(res)));
				json_object_object_add(o, "policy", json_object_new_string(cpreg_verdict_policy(v)));
				json_object_object_add(o, "failing_registers", json_object_new_int64((int64_t)nfail));
				json_object_array_add(pairs, o);
			} else
				printf(" %6s", res == CPREG_COMPATIBLE ? "ok" : res == CPREG_UNDECIDED ? "?" : "FAIL");
			cpreg_verdict_unref(v);
		}
		if (!arg.json)
			printf("\n");
	}
	if (arg.json) {
		json_object_object_add(mdoc, "pairs", pairs);
		pairs = NULL;
		puts(json_object_to_json_string_ext(mdoc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	} else
		printf("\n%zu host%s in %zu pool%s; %zu of %zu ordered pool pairs not compatible "
		       "(ok compatible, ? undecided without the trial, FAIL incompatible)\n",
		       (size_t)argc, argc == 1 ? "" : "s", npools, npools == 1 ? "" : "s", bad, npools * npools);
	ret = bad ? EXIT_NO : EXIT_OK;
out:
	for (size_t k = 0; k < npools; k++) {
		cpreg_inventory_unref(pools[k].inv);
		free(pools[k].members);
	}
	free(pools);
	json_object_put(pairs);
	json_object_put(mdoc);
	cpreg_policy_unref(forced);
	return ret;
}

/* A readable report, worst first, of why a pair is or is not compatible and what would change it. */
static int cmd_explain(int argc, char **argv)
{
	static const enum cpreg_outcome order[] = { CPREG_OUT_FAIL, CPREG_OUT_UNKNOWN, CPREG_OUT_TOLERATED };
	struct cpreg_inventory *s = NULL, *d = NULL;
	struct cpreg_policy *p = NULL;
	struct cpreg_verdict *v = NULL;
	int ret = EXIT_ERR, k = 0;

	if (argc != 2)
		return fail("usage: cpregctl explain SOURCE.json DESTINATION.json");
	if (offline_verdict(argv, &s, &d, &p, &v) != 0)
		goto out;
	if (arg.json) {
		/* The verdict itself: every finding with its reason and structured remedies. */
		if (put_verdict_json(v) < 0)
			goto out;
		ret = verdict_exit(cpreg_verdict_result(v));
		goto out;
	}
	{
		char *q = NULL;

		if (asprintf(&q, "Can a VM on %s (%s) migrate to %s (%s)?", host_label(s, argv[0]),
			     cpreg_inventory_get_text(s, CPREG_TEXT_KERNEL) ?: "kernel unknown", host_label(d, argv[1]),
			     cpreg_inventory_get_text(d, CPREG_TEXT_KERNEL) ?: "kernel unknown") >= 0)
			print_wrapped(q, 0, 4);
		free(q);
	}
	printf("%s: %s under %s (%s)%s\n\n",
	       cpreg_verdict_result(v) == CPREG_COMPATIBLE ? "YES" : cpreg_verdict_result(v) == CPREG_UNDECIDED ? "MAYBE" : "NO",
	       cpreg_result_name(cpreg_verdict_result(v)), cpreg_verdict_policy(v), cpreg_verdict_policy_reason(v),
	       arg.vm.psci_version ? ", with the VM's PSCI version pinned" : "");
	for (size_t o = 0; o < 3; o++)
		for (size_t i = 0; i < cpreg_verdict_count(v); i++) {
			const struct cpreg_finding *f = cpreg_verdict_at(v, i);
			const struct cpreg_reg *x = cpreg_inventory_find(s, f->id), *y = cpreg_inventory_find(d, f->id);
			/* The source's value as the VM's options made it: the finding's, which the check judged. */
			uint64_t xv = f->source_value;

			if (f->outcome != order[o])
				continue;
			printf("%2d. %s %s (%s)\n     ", ++k, cpreg_outcome_name(f->outcome), f->name,
			       cpreg_finding_kind_name(f->kind));
			print_wrapped(f->message, 5, 5);
			if (f->kind == CPREG_FIND_VALUE_DIFFERS && cpreg_id_is_id_register(f->id) && x && y &&
			    x->state == CPREG_VALUE && y->state == CPREG_VALUE)
				print_fields(f->id, xv, y->value, "       ");
			{
				/* The library's remedies: the same data explain --json and the daemon's verdict carry. */
				struct cpreg_remedy rem[4];
				size_t nr = cpreg_verdict_remedies(v, i, rem, 4);

				for (size_t r = 0; r < nr; r++)
					print_wrapped(rem[r].text, printf("     remedy (%s): ", cpreg_remedy_kind_name(rem[r].kind)), 7);
			}
		}
	if (k == 0)
		printf("Nothing fails: every difference is accepted by the destination or tolerated by its QEMU.\n");
	putchar('\n');
	print_wrapped("Static check only: the destination's cpregd (cpregctl check SOURCE there) adds the live trial.", 0, 0);
	ret = verdict_exit(cpreg_verdict_result(v));
out:
	cpreg_verdict_unref(v);
	cpreg_policy_unref(p);
	cpreg_inventory_unref(s);
	cpreg_inventory_unref(d);
	return ret;
}

/* ---- fleets: pools and profiles (docs/fleet.md) ---- */

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Every FILE, and every *.json in a DIR (sorted), into a fleet.  Any file
 * that cannot be read is named with its JSON path and the command gives
 * no partial answer.
 */
static int load_fleet(int argc, char **argv, struct cpreg_fleet **ret)
{
	struct cpreg_fleet *f = NULL;
	int r = EXIT_ERR;

	if (cpreg_fleet_new(&f) < 0)
		return fail("out of memory");
	for (int i = 0; i < argc; i++) {
		struct stat st;
		char **names = NULL;
		size_t n = 0;

		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			DIR *d = opendir(argv[i]);
			struct dirent *e;

			if (!d) {
				fail("%s: %s", argv[i], strerror(errno));
				goto out;
			}
			while ((e = readdir(d))) {
				size_t l = strlen(e->d_name);
				char **nn;

				if (l < 6 || strcmp(e->d_name + l - 5, ".json") != 0 || e->d_name[0] == '.')
					continue;
				nn = realloc(names, (n + 1) * sizeof(*nn));
				if (!nn || asprintf(&nn[n], "%s/%s", argv[i], e->d_name) < 0) {
					names = nn ? nn : names;
					closedir(d);
					for (size_t k = 0; k < n; k++)
						free(names[k]);
					free(names);
					fail("out of memory");
					goto out;
				}
				names = nn;
				n++;
			}
			closedir(d);
			if (n == 0) {
				free(names);
				fail("%s: a directory with no *.json inventories in it", argv[i]);
				goto out;
			}
			qsort(names, n, sizeof(*names), name_cmp);
		} else {
			names = malloc(sizeof(*names));
			if (!names || !(names[0] = strdup(argv[i]))) {
				free(names);
				fail("out of memory");
				goto out;
			}
			n = 1;
		}
		for (size_t k = 0; k < n; k++) {
			struct cpreg_inventory *inv = NULL;
			int bad = load(names[k], &inv) != 0 || cpreg_fleet_add(f, names[k], inv) < 0;

			cpreg_inventory_unref(inv);
			if (bad) {
				for (size_t q = 0; q < n; q++)
					free(names[q]);
				free(names);
				goto out;
			}
		}
		for (size_t k = 0; k < n; k++)
			free(names[k]);
		free(names);
	}
	if (cpreg_fleet_group_count(f) == 0) {
		fail("no inventories given");
		goto out;
	}
	*ret = f;
	f = NULL;
	r = 0;
out:
	cpreg_fleet_unref(f);
	return r;
}

/* A group in a line: "neoverse-n1 6.12.117+deb13-cloud-arm64, QEMU 11.1.3 (qemu-11.1), 2 hosts". */
static void group_line(const struct cpreg_fleet_group *g, char *buf, size_t len)
{
	const char *k = cpreg_inventory_get_text(g->inventory, CPREG_TEXT_KERNEL);
	const char *q = cpreg_inventory_get_text(g->inventory, CPREG_TEXT_QEMU_VERSION);
	const struct cpreg_reg *midr = cpreg_inventory_find(g->inventory, CPREG_MIDR_EL1);

	const char *pol = arg.policy && strcmp(arg.policy, "auto") != 0 ? arg.policy : g->policy;

	snprintf(buf, len, "MIDR %#" PRIx64 ", %s, QEMU %s (%s), %.19s...", midr ? midr->value : 0, k ? k : "kernel ?",
		 q ? q : "?", pol, g->digest);
}

static bool deciding(enum cpreg_outcome o)
{
	return o == CPREG_OUT_FAIL || o == CPREG_OUT_UNKNOWN;
}

/* The failing findings of a verdict, by name: "MIDR_EL1, ID_AA64ISAR0_EL1 (+3 more)". */
static void fails_line(const struct cpreg_verdict *v, char *buf, size_t len)
{
	size_t off = 0, shown = 0, total = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < cpreg_verdict_count(v); i++) {
		const struct cpreg_finding *f;

		if (!deciding(cpreg_verdict_outcome_at(v, i)))
			continue;
		total++;
		if (shown == 6 || off >= len)
			continue;
		f = cpreg_verdict_at(v, i);     /* worded only now: most findings of a pair are never read */
		off += (size_t)snprintf(buf + off, len - off, "%s%s%s", shown ? ", " : "", f->name,
					f->outcome == CPREG_OUT_UNKNOWN ? " (undecided)" : "");
		shown++;
	}
	if (total > shown && off < len)
		snprintf(buf + off, len - off, " (+%zu more)", total - shown);
}

/* The failing findings' names ("deciding") and, with reasons, what each one is. */
static void fails_json(struct jw *w, const struct cpreg_verdict *v, bool reasons)
{
	size_t n = cpreg_verdict_count(v);

	jw_array(w, "deciding");
	for (size_t i = 0; i < n; i++)
		if (deciding(cpreg_verdict_outcome_at(v, i)))
			jw_string(w, NULL, cpreg_verdict_name_at(v, i));
	jw_end_array(w);
	if (!reasons)
		return;
	jw_array(w, "reasons");
	for (size_t i = 0; i < n; i++) {
		const struct cpreg_finding *f;

		if (!deciding(cpreg_verdict_outcome_at(v, i)))
			continue;
		f = cpreg_verdict_at(v, i);
		jw_object(w, NULL);
		jw_string(w, "name", f->name);
		jw_string(w, "kind", cpreg_finding_kind_name(f->kind));
		jw_string(w, "rule", f->rule ? cpreg_kernel_rule_name(f->rule) : NULL);
		jw_string(w, "message", f->message);
		jw_end_object(w);
	}
	jw_end_array(w);
}

static struct jw jw_stdout(void)
{
	return (struct jw){ .out = stdout, .first = true };
}

static int jw_done(struct jw *w, int ret)
{
	int r = jw_finish(w);

	return r < 0 ? fail("cannot write the answer: %s", strerror(-r)) : ret;
}

/* A pool's hosts. */
static size_t pool_hosts(const struct cpreg_fleet *f, size_t p)
{
	const size_t *gs;
	size_t n = cpreg_fleet_pool_at(f, p, &gs), hosts = 0;

	for (size_t k = 0; k < n; k++)
		hosts += cpreg_fleet_group_at(f, gs[k])->n_members;
	return hosts;
}

/* Pools a and b are one way apart: VMs of a may move to b, not back. */
static bool one_way(const struct cpreg_fleet *f, size_t a, size_t b)
{
	return a != b && cpreg_fleet_pool_moves(f, a, b) && !cpreg_fleet_pool_moves(f, b, a);
}

/* The verdict that keeps groups i and j apart in that direction, or NULL. */
static const struct cpreg_verdict *apart_verdict(const struct cpreg_fleet *f, size_t i, size_t j)
{
	const struct cpreg_verdict *v = i == j ? NULL : cpreg_fleet_verdict(f, i, j);

	return v && cpreg_verdict_result(v) != CPREG_COMPATIBLE ? v : NULL;
}

/* The pools of a judged fleet, in words. */
static void pools_text(const struct cpreg_fleet *f, const struct cpreg_vm_options *vm)
{
	size_t ng = cpreg_fleet_group_count(f), np = cpreg_fleet_pool_count(f), nh = 0;
	char line[512], q[160];

	for (size_t i = 0; i < ng; i++)
		nh += cpreg_fleet_group_at(f, i)->n_members;
	cpreg_vm_options_qemu(vm, q, sizeof(q));
	printf("%zu host%s, %zu group%s of identical hosts, %zu migration pool%s for VMs with -cpu %s\n", nh,
	       nh == 1 ? "" : "s", ng, ng == 1 ? "" : "s", np, np == 1 ? "" : "s", q);
	for (size_t i = 0; i < ng; i++) {
		const struct cpreg_fleet_group *g = cpreg_fleet_group_at(f, i);

		group_line(g, line, sizeof(line));
		printf("  group %zu: %s\n", i + 1, line);
		for (size_t k = 0; k < g->n_members; k++)
			printf("    %s\n", g->members[k]);
	}
	for (size_t p = 0; p < np; p++) {
		const size_t *gs;
		size_t n = cpreg_fleet_pool_at(f, p, &gs), off = 0, hosts = pool_hosts(f, p);

		line[0] = '\0';
		for (size_t k = 0; k < n && off < sizeof(line); k++)
			off += (size_t)snprintf(line + off, sizeof(line) - off, "%s%zu", k ? ", " : "", gs[k] + 1);
		printf("pool %zu: group%s %s (%zu host%s)\n", p + 1, n == 1 ? "" : "s", line, hosts, hosts == 1 ? "" : "s");
	}
	for (size_t a = 0; a < np; a++)
		for (size_t b = 0; b < np; b++)
			if (one_way(f, a, b))
				printf("one way: pool %zu -> pool %zu (its VMs may move there, not back)\n", a + 1, b + 1);
	for (size_t i = 0; i < ng; i++)
		for (size_t j = 0; j < ng; j++) {
			const struct cpreg_verdict *v = apart_verdict(f, i, j);

			if (!v)
				continue;
			fails_line(v, line, sizeof(line));
			printf("apart: group %zu -> group %zu %s (%s): %s\n", i + 1, j + 1,
			       cpreg_result_name(cpreg_verdict_result(v)), cpreg_verdict_policy(v), line);
		}
}

/* A group's hosts, into the open array. */
static void members_json(struct jw *w, const struct cpreg_fleet_group *g)
{
	for (size_t k = 0; k < g->n_members; k++)
		jw_string(w, NULL, g->members[k]);
}

/* The members of cpreg-pools/1 (which cpreg-profile/1 extends), into the open object. */
static void pools_json(struct jw *w, const struct cpreg_fleet *f, const struct cpreg_vm_options *vm, const char *schema)
{
	size_t ng = cpreg_fleet_group_count(f), np = cpreg_fleet_pool_count(f);

	jw_string(w, "schema", schema);
	jw_string(w, "policy", arg.policy ? arg.policy : "auto");
	cpreg_vm_options_json(w, "vm_options", vm);
	jw_array(w, "groups");
	for (size_t i = 0; i < ng; i++) {
		const struct cpreg_fleet_group *g = cpreg_fleet_group_at(f, i);

		jw_object(w, NULL);
		jw_int(w, "group", (int64_t)i + 1);
		jw_string(w, "digest", g->digest);
		jw_string(w, "policy", g->policy);
		jw_string(w, "kernel", cpreg_inventory_get_text(g->inventory, CPREG_TEXT_KERNEL));
		jw_string(w, "qemu_version", cpreg_inventory_get_text(g->inventory, CPREG_TEXT_QEMU_VERSION));
		jw_array(w, "members");
		members_json(w, g);
		jw_end_array(w);
		jw_end_object(w);
	}
	jw_end_array(w);
	jw_array(w, "pools");
	for (size_t p = 0; p < np; p++) {
		const size_t *gs;
		size_t n = cpreg_fleet_pool_at(f, p, &gs);

		jw_object(w, NULL);
		jw_int(w, "pool", (int64_t)p + 1);
		jw_array(w, "groups");
		for (size_t k = 0; k < n; k++)
			jw_int(w, NULL, (int64_t)gs[k] + 1);
		jw_end_array(w);
		jw_array(w, "members");
		for (size_t k = 0; k < n; k++)
			members_json(w, cpreg_fleet_group_at(f, gs[k]));
		jw_end_array(w);
		jw_end_object(w);
	}
	jw_end_array(w);
	jw_array(w, "one_way");
	for (size_t a = 0; a < np; a++)
		for (size_t b = 0; b < np; b++)
			if (one_way(f, a, b)) {
				jw_object(w, NULL);
				jw_int(w, "from", (int64_t)a + 1);
				jw_int(w, "to", (int64_t)b + 1);
				jw_end_object(w);
			}
	jw_end_array(w);
	/* Why groups in no common pool are apart: each failing direction and what fails. */
	jw_array(w, "apart");
	for (size_t i = 0; i < ng; i++)
		for (size_t j = 0; j < ng; j++) {
			const struct cpreg_verdict *v = apart_verdict(f, i, j);

			if (!v)
				continue;
			jw_object(w, NULL);
			jw_int(w, "from", (int64_t)i + 1);
			jw_int(w, "to", (int64_t)j + 1);
			jw_string(w, "result", cpreg_result_name(cpreg_verdict_result(v)));
			jw_string(w, "policy", cpreg_verdict_policy(v));
			fails_json(w, v, true);
			jw_end_object(w);
		}
	jw_end_array(w);
}

static int cmd_pools(int argc, char **argv)
{
	struct cpreg_fleet *f = NULL;
	struct cpreg_policy *p = NULL;
	struct cpreg_vm_options vm = vm_options();
	int r;

	if (argc < 1)
		return fail("usage: cpregctl pools FILE...|DIR");
	if (get_policy(&p) != 0 || load_fleet(argc, argv, &f) != 0) {
		cpreg_policy_unref(p);
		return EXIT_ERR;
	}
	r = cpreg_fleet_judge(f, p, &vm);
	if (r < 0) {
		cpreg_fleet_unref(f);
		cpreg_policy_unref(p);
		return fail("cannot judge the fleet: %s", strerror(-r));
	}
	r = cpreg_fleet_pool_count(f) == 1 ? EXIT_OK : EXIT_NO;
	if (arg.json) {
		struct jw w = jw_stdout();

		jw_object(&w, NULL);
		pools_json(&w, f, &vm, "cpreg-pools/1");
		jw_end_object(&w);
		r = jw_done(&w, r);
	} else {
		pools_text(f, &vm);
	}
	cpreg_fleet_unref(f);
	cpreg_policy_unref(p);
	return r;
}

static int cmd_profile(int argc, char **argv)
{
	static const char psci_note[] = "the hosts implement different PSCI versions, but kvm-psci-version needs QEMU 11.1 "
					"or later on every host";
	struct cpreg_fleet *f = NULL;
	struct cpreg_policy *p = NULL;
	struct cpreg_fleet_profile prof;
	uint64_t vls[8];
	bool have_vls = true, offered;
	char q[160], *xml = NULL;
	int r, ret = EXIT_ERR;

	if (argc < 1)
		return fail("usage: cpregctl profile FILE...|DIR");
	if (get_policy(&p) != 0 || load_fleet(argc, argv, &f) != 0)
		goto out;
	if (cpreg_fleet_profile(f, p, &prof) < 0) {
		fail("cannot compute a profile");
		goto out;
	}
	/* The vector lengths every host offers. */
	memset(vls, 0xff, sizeof(vls));
	for (size_t i = 0; i < cpreg_fleet_group_count(f); i++) {
		const uint64_t *v = cpreg_inventory_sve_vls(cpreg_fleet_group_at(f, i)->inventory);

		if (!v)
			have_vls = false;
		for (int k = 0; k < 8 && v; k++)
			vls[k] &= v[k];
	}
	/* Verified by the same check that judges a pair: every ordered pair with the profile applied. */
	r = cpreg_fleet_judge(f, p, &prof.vm);
	if (r < 0) {
		fail("cannot judge the fleet: %s", strerror(-r));
		goto out;
	}
	cpreg_vm_options_qemu(&prof.vm, q, sizeof(q));
	offered = cpreg_fleet_pool_count(f) == 1;
	if (offered && cpreg_vm_options_libvirt(&prof.vm, have_vls ? vls : NULL, &xml) < 0)
		xml = NULL;
	ret = offered ? EXIT_OK : EXIT_NO;
	if (arg.json) {
		struct jw w = jw_stdout();

		jw_object(&w, NULL);
		pools_json(&w, f, &prof.vm, "cpreg-profile/1");
		jw_object(&w, "profile");
		jw_bool(&w, "offered", offered);
		jw_string(&w, "qemu_cpu", q);
		if (prof.psci_unpinnable)
			jw_string(&w, "psci_note", psci_note);
		if (offered)
			jw_string(&w, "libvirt_xml", xml ? xml : "");
		jw_end_object(&w);
		jw_end_object(&w);
		ret = jw_done(&w, ret);
		goto out;
	}
	if (offered) {
		printf("One pool: every ordered pair of these hosts is compatible for a VM with\n"
		       "  QEMU:    -cpu %s\n  libvirt:\n%s", q, xml ? xml : "");
	} else {
		printf("No VM options make these hosts one pool.  With the closest profile, -cpu %s:\n", q);
		pools_text(f, &prof.vm);
		printf("What no VM option fixes, and why (QEMU offers no option to lower an ID register field or to "
		       "change MIDR_EL1; a field named here is one a future QEMU could lower):\n");
		for (size_t i = 0; i < cpreg_fleet_group_count(f); i++)
			for (size_t j = 0; j < cpreg_fleet_group_count(f); j++) {
				const struct cpreg_verdict *v = apart_verdict(f, i, j);
				size_t shown = 0, total = 0;

				if (!v)
					continue;
				printf("  group %zu -> group %zu:\n", i + 1, j + 1);
				for (size_t k = 0; k < cpreg_verdict_count(v); k++) {
					const struct cpreg_finding *x;

					if (!deciding(cpreg_verdict_outcome_at(v, k)))
						continue;
					if (total++ >= 8)
						continue;
					x = cpreg_verdict_at(v, k);
					printf("    %s: %s\n", x->name, x->message);
					shown++;
				}
				if (total > shown)
					printf("    (+%zu more: --json lists them all)\n", total - shown);
			}
	}
	if (prof.psci_unpinnable)
		printf("note: %s\n", psci_note);
out:
	free(xml);
	cpreg_fleet_unref(f);
	cpreg_policy_unref(p);
	return ret;
}

/*
 * Rolling upgrades: hosts before and after (a canary's inventories).  For
 * every group before and after: may its VMs evacuate before -> after, and
 * roll back after -> before, with the VM's options as given, with the
 * fleet's profile, and with QEMU 11.1 at the destination; which answers
 * rest on values only the destination kernel judges exactly (its cpregd's
 * trial should confirm them); and what blocks a direction nothing fixes.
 */
static struct {
	char **before, **after;
	int n_before, n_after;
} plan_args;

/* One direction of a move, into w (JSON) or in words (w NULL); whether anything makes it work. */
static bool plan_direction(struct jw *w, const struct cpreg_fleet_group *s, const struct cpreg_fleet_group *d,
			   const struct cpreg_policy *forced, const struct cpreg_vm_options *given,
			   const struct cpreg_vm_options *profile, const struct cpreg_vm_options *profile11,
			   const char *dir)
{
	struct cpreg_policy *tolerant = NULL;
	const char *works = NULL;
	char fl[512], q[160];
	struct {
		const char *name;
		const struct cpreg_vm_options *vm;
		const struct cpreg_policy *pol;
	} t[3] = {
		{ "as given", given, forced },
		{ "with the profile", profile, forced },
		{ "with QEMU 11.1 on both hosts and its profile", profile11, NULL },
	};

	cpreg_policy_new_builtin("qemu-11.1", &tolerant);
	t[2].pol = tolerant;
	if (w) {
		jw_object(w, NULL);
		jw_string(w, "direction", dir);
		jw_string(w, "from", s->members[0]);
		jw_string(w, "to", d->members[0]);
		jw_array(w, "tries");
	}
	for (int k = 0; k < 3; k++) {
		struct cpreg_verdict *v = NULL;

		if (k == 2 && (forced || strcmp(d->policy, "qemu-11.1") == 0))
			break;  /* the destination already runs (or is forced to) 11.1 */
		if (cpreg_check_vm(s->inventory, d->inventory, t[k].pol, t[k].vm, &v) < 0)
			break;
		cpreg_vm_options_qemu(t[k].vm, q, sizeof(q));
		if (w) {
			jw_object(w, NULL);
			jw_string(w, "try", t[k].name);
			jw_string(w, "qemu_cpu", q);
			jw_string(w, "policy", cpreg_verdict_policy(v));
			jw_string(w, "result", cpreg_result_name(cpreg_verdict_result(v)));
			jw_bool(w, "needs_trial", cpreg_verdict_trial_advised(v) > 0);
			fails_json(w, v, false);
			jw_end_object(w);
		} else {
			fails_line(v, fl, sizeof(fl));
			printf("    %-52s -cpu %s, %s: %s%s%s%s\n", t[k].name, q, cpreg_verdict_policy(v),
			       cpreg_result_name(cpreg_verdict_result(v)), fl[0] ? " (" : "", fl, fl[0] ? ")" : "");
		}
		if (!works && cpreg_verdict_result(v) == CPREG_COMPATIBLE) {
			works = t[k].name;
			if (cpreg_verdict_trial_advised(v) && !w)
				printf("    %-52s the destination's cpregd should confirm %zu value(s) with its trial\n", "",
				       cpreg_verdict_trial_advised(v));
		}
		cpreg_verdict_unref(v);
	}
	if (w) {
		jw_end_array(w);
		jw_string(w, "works", works);
		jw_end_object(w);
	} else if (!works) {
		printf("    cannot move: nothing above makes it compatible (see the deciding registers)\n");
	}
	cpreg_policy_unref(tolerant);
	return works != NULL;
}

static int cmd_plan(int argc, char **argv)
{
	struct cpreg_fleet *b = NULL, *a = NULL, *all = NULL;
	struct cpreg_policy *p = NULL;
	struct cpreg_fleet_profile prof, prof11;
	struct cpreg_vm_options given = vm_options();
	struct jw jw = jw_stdout(), *w = arg.json ? &jw : NULL;
	size_t blocked = 0;
	int ret = EXIT_ERR;

	(void)argv;
	if (argc > 0 || !plan_args.n_before || !plan_args.n_after) {
		fail("usage: cpregctl plan --before FILE...|DIR --after FILE...|DIR");
		goto out;
	}
	if (get_policy(&p) != 0 || load_fleet(plan_args.n_before, plan_args.before, &b) != 0 ||
	    load_fleet(plan_args.n_after, plan_args.after, &a) != 0)
		goto out;
	/* The profile of both sides together: the options that keep VMs movable both ways (each file read once). */
	if (cpreg_fleet_new(&all) < 0) {
		fail("out of memory");
		goto out;
	}
	for (const struct cpreg_fleet *side = b; side; side = side == b ? a : NULL)
		for (size_t j = 0; j < cpreg_fleet_group_count(side); j++) {
			const struct cpreg_fleet_group *g = cpreg_fleet_group_at(side, j);

			for (size_t k = 0; k < g->n_members; k++)
				if (cpreg_fleet_add(all, g->members[k], g->inventory) < 0) {
					fail("out of memory");
					goto out;
				}
		}
	cpreg_fleet_profile(all, p, &prof);
	{
		struct cpreg_policy *tol = NULL;

		cpreg_policy_new_builtin("qemu-11.1", &tol);
		cpreg_fleet_profile(all, tol, &prof11);
		cpreg_policy_unref(tol);
	}
	if (w) {
		jw_object(w, NULL);
		jw_string(w, "schema", "cpreg-plan/1");
		cpreg_vm_options_json(w, "vm_options", &given);
		cpreg_vm_options_json(w, "profile", &prof.vm);
		cpreg_vm_options_json(w, "profile_qemu_11_1", &prof11.vm);
		jw_array(w, "moves");
	}
	for (size_t i = 0; i < cpreg_fleet_group_count(b); i++)
		for (size_t j = 0; j < cpreg_fleet_group_count(a); j++) {
			const struct cpreg_fleet_group *gb = cpreg_fleet_group_at(b, i), *ga = cpreg_fleet_group_at(a, j);
			bool e, r;

			if (!w) {
				char lb[512], la[512];

				group_line(gb, lb, sizeof(lb));
				group_line(ga, la, sizeof(la));
				printf("before group %zu (%s, %zu host%s)\n  <-> after group %zu (%s, %zu host%s)\n  evacuate, "
				       "before -> after:\n", i + 1, lb, gb->n_members, gb->n_members == 1 ? "" : "s", j + 1, la,
				       ga->n_members, ga->n_members == 1 ? "" : "s");
			}
			e = plan_direction(w, gb, ga, p, &given, &prof.vm, &prof11.vm, "evacuate");
			if (!w)
				printf("  roll back, after -> before:\n");
			r = plan_direction(w, ga, gb, p, &given, &prof.vm, &prof11.vm, "roll-back");
			blocked += !e || !r;
		}
	ret = blocked ? EXIT_NO : EXIT_OK;
	if (w) {
		jw_end_array(w);
		jw_end_object(w);
		ret = jw_done(w, ret);
	}
out:
	cpreg_fleet_unref(a);
	cpreg_fleet_unref(b);
	cpreg_fleet_unref(all);
	cpreg_policy_unref(p);
	return ret;
}

/* Take "--before FILE..." and "--after FILE..." out of argv before option parsing. */
static int take_plan_lists(int *argc, char **argv)
{
	int w = 0;
	char ***list = NULL;
	int *n = NULL;

	for (int i = 0; i < *argc; i++) {
		if (strcmp(argv[i], "--before") == 0 || strcmp(argv[i], "--after") == 0) {
			bool before = argv[i][2] == 'b';

			list = before ? &plan_args.before : &plan_args.after;
			n = before ? &plan_args.n_before : &plan_args.n_after;
			*list = &argv[i + 1];
			*n = 0;
			while (i + 1 < *argc && argv[i + 1][0] != '-') {
				i++;
				(*n)++;
			}
			continue;
		}
		argv[w++] = argv[i];
	}
	*argc = w;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: cpregctl [OPTIONS] COMMAND [ARGS]\n"
		"\n"
		"Commands:\n"
		"  inventory                 this host's inventory, from the local cpregd\n"
		"  health                    the local cpregd's health\n"
		"  refresh                   have the local cpregd probe again now; its health after that probe\n"
		"  peers                     the local cpregd's verdicts for its peers' inventories (cpregd --peers)\n"
		"  probe                     probe /dev/kvm directly (no daemon) and print the inventory\n"
		"  check SOURCE [DEST]       can a VM on SOURCE migrate here (local cpregd) or to DEST (offline)?\n"
		"  diff A B                  registers that differ, side by side by name\n"
		"  matrix FILE...            every ordered pair of a fleet, grouped into pools\n"
		"  explain SOURCE DEST       why a pair is or is not compatible, worst first, and what would change it\n"
		"  pools FILE...|DIR         migration pools: maximal sets of hosts where every ordered pair is\n"
		"                            compatible for the VM (its options from --disable, --psci-version...)\n"
		"  profile FILE...|DIR       the VM options that make these hosts one pool, verified pair by pair,\n"
		"                            as a QEMU -cpu string and libvirt domain XML\n"
		"  plan --before FILE...|DIR --after FILE...|DIR\n"
		"                            a rolling upgrade: may VMs evacuate before -> after and roll back,\n"
		"                            as given, with the profile, with QEMU 11.1; what blocks them\n"
		"\n"
		"Options:\n"
		"  -s, --socket PATH         cpregd's socket (default " DEFAULT_SOCKET ", or $CPREGD_SOCKET)\n"
		"  -p, --policy NAME|FILE    qemu-legacy, qemu-11.1, auto (default) or a site policy file\n"
		"  -j, --json                machine-readable output\n"
		"  -v, --verbose             also list differences that do not matter\n"
		"  -a, --all                 diff: every register, not only the migrated ones\n"
		"      --no-trial            check: the static answer alone\n"
		"      --psci-version X.Y    check: the VM pins this PSCI version (QEMU -cpu host,kvm-psci-version=X.Y)\n"
		"      --timeout SECONDS     for daemon requests (default 60)\n"
		"      --disable LIST        vCPU options, e.g. pmu=off,sve=off,pauth=off: for probe, the vCPU\n"
		"                            to build; for check/explain, the VM's (the source is adjusted)\n"
		"      --sve-max-vq N        check/explain: the VM's SVE vector lengths up to 128*N bits\n"
		"      --domain FILE.xml     the VM's options from its libvirt domain definition (host-passthrough,\n"
		"                            <pmu>, sve features, kvm-psci-version through <qemu:commandline>)\n"
		"      --dev PATH            probe: the KVM device (default /dev/kvm)\n"
		"      --qemu PATH           probe: record this QEMU's version\n"
		"      --provenance TEXT     probe: record where the inventory comes from\n"
		"%s\n"
		"Exit status: 0 compatible or success, 1 incompatible (diff: different), 2 error.\n", backend_usage);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "policy", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "all", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "no-trial", no_argument, NULL, 'T' },
		{ "timeout", required_argument, NULL, 't' },
		{ "disable", required_argument, NULL, 'D' },
		{ "dev", required_argument, NULL, 'd' },
		{ "qemu", required_argument, NULL, 'q' },
		{ "provenance", required_argument, NULL, 'P' },
		{ "psci-version", required_argument, NULL, 'S' },
		{ "sve-max-vq", required_argument, NULL, 'M' },
		{ "domain", required_argument, NULL, 'X' },
		{}
	};
	struct cpreg_error err = { 0 };
	const char *cmd;
	int c;

	arg.socket = getenv("CPREGD_SOCKET") ? getenv("CPREGD_SOCKET") : DEFAULT_SOCKET;
	take_plan_lists(&argc, argv);
	struct option *all = backend_merge_options(opts);

	if (!all)
		return fail("out of memory");
	while ((c = getopt_long(argc, argv, "s:p:jvah", all, NULL)) != -1) {
		switch (c) {
		case 's': arg.socket = optarg; break;
		case 'p': arg.policy = optarg; break;
		case 'j': arg.json = true; break;
		case 'v': arg.verbose = true; break;
		case 'a': arg.all = true; break;
		case 'T': arg.trial_off = true; break;
		case 'd': arg.dev = optarg; break;
		case 'q': arg.qemu = optarg; break;
		case 'P': arg.provenance = optarg; break;
		case 'M':
			if (cpreg_vm_option_set(&arg.vm, cpreg_vm_option_find("sve-max-vq"), optarg, &err) < 0)
				return fail("--sve-max-vq: %s", err.message);
			break;
		case 'S':
			if (cpreg_vm_option_set(&arg.vm, cpreg_vm_option_find("kvm-psci-version"), optarg, &err) < 0)
				return fail("--psci-version: %s", err.message);
			break;
		case 'h': usage(stdout); return EXIT_OK;
		case 'V': printf("cpregctl " PACKAGE_VERSION "\n"); return EXIT_OK;
		case 't': {
			char *end;
			long s = strtol(optarg, &end, 10);

			if (*end || s < 1 || s > 3600)
				return fail("--timeout: expected 1 to 3600 seconds, got \"%s\"", optarg);
			arg.timeout_ms = (int)s * 1000;
			break;
		}
		case 'X': arg.domain = optarg; break;
		case 'D':
			if (cpreg_vm_options_parse_disable(optarg, &arg.vm.disable, &err) < 0)
				return fail("--disable: %s", err.message);
			break;
		default:
			if (c >= 3000 && backend_option(c, optarg) == 0)
				break;
			usage(stderr);
			return EXIT_ERR;
		}
	}
	free(all);
	if (optind >= argc) {
		usage(stderr);
		return EXIT_ERR;
	}
	if (arg.domain) {
		/* The VM as libvirt defines it; options given on the command line add to it. */
		struct cpreg_vm_options vm;
		char why[512];

		if (cpreg_domain_vm_options(arg.domain, &vm, why, sizeof(why)) < 0)
			return fail("--domain %s", why);
		arg.vm.disable |= vm.disable;
		if (!arg.vm.sve_max_vq)
			arg.vm.sve_max_vq = vm.sve_max_vq;
		if (!arg.vm.psci_version)
			arg.vm.psci_version = vm.psci_version;
	}
	cmd = argv[optind++];
	argc -= optind;
	argv += optind;
	if (strcmp(cmd, "probe") == 0)
		return cmd_probe(argc, argv);
	if (strcmp(cmd, "inventory") == 0)
		return cmd_get("GET", "/v1/inventory", argc);
	if (strcmp(cmd, "health") == 0)
		return cmd_get("GET", "/v1/health", argc);
	if (strcmp(cmd, "refresh") == 0)
		return cmd_get("POST", "/v1/refresh", argc);
	if (strcmp(cmd, "peers") == 0)
		return cmd_peers(argc);
	if (strcmp(cmd, "check") == 0)
		return cmd_check(argc, argv);
	if (strcmp(cmd, "diff") == 0)
		return cmd_diff(argc, argv);
	if (strcmp(cmd, "matrix") == 0)
		return cmd_matrix(argc, argv);
	if (strcmp(cmd, "explain") == 0)
		return cmd_explain(argc, argv);
	if (strcmp(cmd, "pools") == 0)
		return cmd_pools(argc, argv);
	if (strcmp(cmd, "profile") == 0)
		return cmd_profile(argc, argv);
	if (strcmp(cmd, "plan") == 0)
		return cmd_plan(argc, argv);
	return fail("unknown command \"%s\" (see cpregctl --help)", cmd);
}
