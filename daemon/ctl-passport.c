/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cpregctl passport: a VM's passport (docs/passport.md), born on a host
 * (from its inventory offline, or from the local cpregd) or after a hop to
 * a destination by the kernel model (cpregctl.h).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "cpregctl.h"
#include "domain.h"

static int put_passport(const struct cpreg_passport *p)
{
	char *text = NULL;

	if (cpreg_passport_to_json(p, &text) < 0)
		return fail("out of memory");
	fputs(text, stdout);
	free(text);
	return fflush(stdout) == 0 ? EXIT_OK : fail("cannot write: %s", strerror(errno));
}

/* Born on the host of HOST.json with the command line's options. */
static int born(const char *path)
{
	struct cpreg_inventory *host = NULL;
	struct cpreg_passport *p = NULL;
	char t[32];
	int r;

	if (load(path, &host) != 0)
		return EXIT_ERR;
	cpreg_utc_now(t, sizeof(t));
	r = cpreg_passport_born(host, &arg.vm, t, &p);
	cpreg_inventory_unref(host);
	if (r == -ENOENT)
		return fail("%s: cannot apply the VM's options (no PSCI_VERSION to pin?)", path);
	if (r < 0)
		return fail("%s: %s", path, strerror(-r));
	r = put_passport(p);
	cpreg_passport_unref(p);
	return r;
}

/*
 * After a hop to DESTINATION, by the kernel model: only a hop the static
 * check finds compatible has an after; otherwise exit 1 and print nothing
 * (the reason goes to stderr).
 */
static int hop(const char *dst_path, const char *path)
{
	struct cpreg_inventory *d = NULL;
	struct cpreg_policy *pol = NULL;
	struct cpreg_verdict *v = NULL;
	struct cpreg_passport *after = NULL;
	struct source s = { 0 };
	int ret = EXIT_ERR, r;
	char t[32];

	if (load(dst_path, &d) != 0 || load_source(path, d, &s) != 0 || get_policy(&pol) != 0)
		goto out;
	if (!s.passport) {
		fail("%s: a host inventory; --hop takes a VM passport (cpregctl passport %s makes one)", path, path);
		goto out;
	}
	if ((r = judge_source(&s, d, pol, &v)) < 0) {
		fail("check failed: %s", strerror(-r));
		goto out;
	}
	if (cpreg_verdict_result(v) != CPREG_COMPATIBLE) {
		fprintf(stderr, "cpregctl: the VM cannot hop to %s: %s (cpregctl check %s %s says why)\n",
			host_label(d, dst_path), cpreg_result_name(cpreg_verdict_result(v)), path, dst_path);
		ret = EXIT_NO;
		goto out;
	}
	cpreg_utc_now(t, sizeof(t));
	if ((r = cpreg_passport_hop(s.passport, d, NULL, t, &after)) < 0) {
		fail("%s: %s", path, strerror(-r));
		goto out;
	}
	ret = put_passport(after);
out:
	cpreg_passport_unref(after);
	cpreg_verdict_unref(v);
	cpreg_policy_unref(pol);
	source_clear(&s);
	cpreg_inventory_unref(d);
	return ret;
}

/* Born here: the local cpregd's GET /v1/passport, the options as its query parameters. */
static int born_here(void)
{
	struct http_reply rep;
	char target[160], vq[128];

	cpreg_vm_options_query(&arg.vm, vq, sizeof(vq));
	snprintf(target, sizeof(target), "/v1/passport%s%s", *vq ? "?" : "", vq);
	if (request("GET", target, NULL, 0, &rep) != 0)
		return EXIT_ERR;
	if (rep.status != 200) {
		fprintf(stderr, "cpregctl: GET %s: HTTP %d: %s", target, rep.status, rep.body);
		free(rep.body);
		return EXIT_ERR;
	}
	fputs(rep.body, stdout);
	free(rep.body);
	return EXIT_OK;
}

/*
 * passport --domain-xml DOMAIN.xml HOST.json|PASSPORT.json: that domain XML
 * with the passport in its <metadata> (a VM born on HOST with the domain's
 * options, or the passport given), for operators and tests (issue 24).
 */
static int domain_xml(const char *xml_path, const char *path)
{
	struct cpreg_inventory *inv = NULL;
	struct cpreg_passport *p = NULL;
	struct cpreg_error err = { 0 };
	char why[512], t[32], *xml = NULL, *json = NULL, *out = NULL;
	size_t len = 0;
	int ret = EXIT_ERR;

	if (cpreg_read_file(xml_path, CPREG_JSON_MAX, &xml, &len, &err) < 0) {
		fail("%s: %s", err.where, err.message);
		goto out;
	}
	if (cpreg_source_load(path, &inv, &p, &err) < 0) {
		fail("%s: %s", err.where, err.message);
		goto out;
	}
	if (inv) {
		struct cpreg_vm_options vm = arg.vm;

		if (!cpreg_vm_options_any(&vm) && cpreg_domain_vm_options(xml_path, &vm, why, sizeof(why)) < 0) {
			fail("--domain-xml %s", why);
			goto out;
		}
		cpreg_utc_now(t, sizeof(t));
		if (cpreg_passport_born(inv, &vm, t, &p) < 0) {
			fail("%s: cannot apply the VM's options (no PSCI_VERSION to pin?)", path);
			goto out;
		}
	}
	if (cpreg_passport_to_json(p, &json) < 0 || cpreg_domain_passport_set(xml, len, xml_path, json, &out, why, sizeof(why)) < 0) {
		fail("%s", json ? why : "out of memory");
		goto out;
	}
	fputs(out, stdout);
	ret = fflush(stdout) == 0 ? EXIT_OK : fail("cannot write: %s", strerror(errno));
out:
	free(xml);
	free(json);
	free(out);
	cpreg_inventory_unref(inv);
	cpreg_passport_unref(p);
	return ret;
}

int cmd_passport(int argc, char **argv)
{
	if (arg.domain_xml) {
		if (argc != 1)
			return fail("usage: cpregctl passport --domain-xml DOMAIN.xml HOST.json|PASSPORT.json");
		return domain_xml(arg.domain_xml, argv[0]);
	}
	if (arg.hop) {
		if (argc != 1)
			return fail("usage: cpregctl passport --hop DESTINATION.json PASSPORT.json");
		return hop(arg.hop, argv[0]);
	}
	if (argc > 1)
		return fail("usage: cpregctl passport [VM OPTIONS] [HOST.json]");
	return argc ? born(argv[0]) : born_here();
}
