/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cpregctl: the commands that ask the local cpregd over its socket (cpregctl.h). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json.h>

#include "backend.h"
#include "client.h"
#include "cpregctl.h"
#include "probe.h"

int cmd_probe(int argc, char **argv)
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

int request(const char *method, const char *target, const char *body, size_t len, struct http_reply *rep)
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
static int get(const char *method, const char *target, int argc)
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
int cmd_peers(int argc, char **argv)
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

int cmd_inventory(int argc, char **argv)
{
	return get("GET", "/v1/inventory", argc);
}

int cmd_health(int argc, char **argv)
{
	return get("GET", "/v1/health", argc);
}

int cmd_refresh(int argc, char **argv)
{
	return get("POST", "/v1/refresh", argc);
}

/* A source file (or "-": standard input), at most CPREG_JSON_MAX bytes, bounded while reading: a pipe never fills memory. */
static int read_source(const char *path, char **ret, size_t *ret_len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	size_t cap = 0, len = 0, k;
	char *text = NULL, *n;
	int r = 0;

	if (!f)
		return fail("%s: %s", path, strerror(errno));
	do {
		if (len + 65536 > cap) {
			n = realloc(text, cap = cap ? cap * 2 : 131072);
			if (!n) {
				r = fail("out of memory");
				break;
			}
			text = n;
		}
		k = fread(text + len, 1, cap - len, f);
		len += k;
		if (len > CPREG_JSON_MAX)
			r = fail("%s: larger than %u bytes", path, CPREG_JSON_MAX);
	} while (k && !r);
	if (f != stdin)
		fclose(f);
	if (r) {
		free(text);
		return r;
	}
	*ret = text;
	*ret_len = len;
	return 0;
}

/* The daemon takes a policy by name; a policy file stays here: check offline against a destination file. */
static int daemon_policy_ok(const char *path)
{
	if (!arg.policy || strcmp(arg.policy, "qemu-legacy") == 0 || strcmp(arg.policy, "qemu-11.1") == 0 ||
	    strcmp(arg.policy, "auto") == 0 || strcmp(arg.policy, "site") == 0)
		return 0;
	return fail("-p %s: the daemon checks under its own policies only (qemu-legacy, qemu-11.1, auto, or "
		    "site: its --policy-file); to check under a policy file, give the destination's "
		    "inventory too: cpregctl -p %s check %s DESTINATION.json", arg.policy, arg.policy, path);
}

/* The daemon's verdict: the exit status and the text come from the typed verdict, never from its bytes. */
static int daemon_verdict(const char *path, struct http_reply *rep)
{
	struct cpreg_error err = { 0 };
	struct cpreg_verdict *v = NULL;
	int ret;

	if (rep->status != 200) {
		fprintf(stderr, "cpregctl: HTTP %d: %s", rep->status, rep->body);
		return EXIT_ERR;
	}
	if (cpreg_verdict_from_json(rep->body, strlen(rep->body), &v, &err) < 0)
		return fail("the daemon's verdict: %s: %s", err.where, err.message);
	if (arg.json)
		fputs(rep->body, stdout);
	else
		print_verdict(v, path, "this host");
	ret = verdict_exit(cpreg_verdict_result(v));
	cpreg_verdict_unref(v);
	return ret;
}

int check_with_daemon(const char *path)
{
	struct cpreg_inventory *s = NULL;
	struct cpreg_passport *pp = NULL;
	struct cpreg_error err = { 0 };
	struct http_reply rep;
	char target[160], vq[128], *text = NULL;
	size_t len = 0;
	int ret;

	if (read_source(path, &text, &len) != 0)
		return EXIT_ERR;
	/* A gzip file goes to the daemon as the JSON it holds. */
	if (cpreg_gunzip_maybe(&text, &len, CPREG_JSON_MAX, &err) < 0) {
		free(text);
		return fail("%s: %s", path, err.message);
	}
	/* Validate here too: a bad file is named locally, not by the daemon. */
	if (cpreg_source_from_json(text, len, &s, &pp, &err) < 0) {
		free(text);
		return fail("%s:%s: %s", path, err.where, err.message);
	}
	cpreg_inventory_unref(s);
	cpreg_passport_unref(pp);
	if (pp && cpreg_vm_options_any(&arg.vm)) {
		free(text);
		return fail("%s: a VM passport carries the VM's options; give no --disable, --sve-max-vq, "
			    "--psci-version or --domain with it", path);
	}
	if (daemon_policy_ok(path) != 0) {
		free(text);
		return EXIT_ERR;
	}
	/* The VM's options as the daemon's query parameters (the options table's keys). */
	cpreg_vm_options_query(&arg.vm, vq, sizeof(vq));
	snprintf(target, sizeof(target), "/v1/check?trial=%d%s%s%s%s", arg.trial_off ? 0 : 1,
		 arg.policy ? "&policy=" : "", arg.policy ? arg.policy : "", *vq ? "&" : "", vq);
	ret = request("POST", target, text, len, &rep);
	free(text);
	if (ret != 0)
		return EXIT_ERR;
	ret = daemon_verdict(path, &rep);
	free(rep.body);
	return ret;
}
