/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cpregctl's fleet answers: pools, profile, plan (docs/fleet.md; cpregctl.h). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>

#include "cpregctl.h"

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
static void free_names(char **names, size_t n)
{
	for (size_t k = 0; k < n; k++)
		free(names[k]);
	free(names);
}

/* The *.json files of directory dir, sorted, into *ret (n of them); EXIT_ERR when none or on error. */
static int dir_files(const char *dir, char ***ret, size_t *ret_n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL, **nn;
	size_t n = 0;

	if (!d)
		return fail("%s: %s", dir, strerror(errno));
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);

		if (l < 6 || strcmp(e->d_name + l - 5, ".json") != 0 || e->d_name[0] == '.')
			continue;
		nn = realloc(names, (n + 1) * sizeof(*nn));
		if (!nn || asprintf(&nn[n], "%s/%s", dir, e->d_name) < 0) {
			closedir(d);
			free_names(nn ? nn : names, n);
			return fail("out of memory");
		}
		names = nn;
		n++;
	}
	closedir(d);
	if (n == 0) {
		free(names);
		return fail("%s: a directory with no *.json inventories in it", dir);
	}
	qsort(names, n, sizeof(*names), name_cmp);
	*ret = names;
	*ret_n = n;
	return 0;
}

/* One argument's files: a directory's *.json, or the file itself. */
static int arg_files(const char *path, char ***ret, size_t *ret_n)
{
	struct stat st;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return dir_files(path, ret, ret_n);
	*ret = malloc(sizeof(**ret));
	if (!*ret || !((*ret)[0] = strdup(path))) {
		free(*ret);
		return fail("out of memory");
	}
	*ret_n = 1;
	return 0;
}

/*
 * VM passports given among a fleet's files (pools, profile): the VMs to
 * place, each judged by its own registers and options (docs/passport.md).
 */
struct vms {
	char **files;
	struct cpreg_passport **p;
	size_t n;
};

static void vms_clear(struct vms *v)
{
	for (size_t i = 0; i < v->n; i++) {
		free(v->files[i]);
		cpreg_passport_unref(v->p[i]);
	}
	free(v->files);
	free(v->p);
	memset(v, 0, sizeof(*v));
}

/* A fleet file: a host inventory into f, or (with vms) a passport into vms. */
static int load_member(const char *path, struct cpreg_fleet *f, struct vms *vms)
{
	struct cpreg_inventory *inv = NULL;
	struct cpreg_passport *pp = NULL;
	struct cpreg_error err = { 0 };
	int r = 0;

	if (!vms && load(path, &inv) != 0)
		return EXIT_ERR;
	if (vms && cpreg_source_load(path, &inv, &pp, &err) < 0)
		return fail("%s: %s", err.where, err.message);
	if (inv) {
		r = cpreg_fleet_add(f, path, inv) < 0 ? fail("out of memory") : 0;
		cpreg_inventory_unref(inv);
		return r;
	}
	{
		char **nf = realloc(vms->files, (vms->n + 1) * sizeof(*nf));
		struct cpreg_passport **np = nf ? realloc(vms->p, (vms->n + 1) * sizeof(*np)) : NULL;

		if (nf)
			vms->files = nf;
		if (np)
			vms->p = np;
		if (!nf || !np || !(vms->files[vms->n] = strdup(path))) {
			cpreg_passport_unref(pp);
			return fail("out of memory");
		}
		vms->p[vms->n++] = pp;
	}
	return 0;
}

static int load_fleet(int argc, char **argv, struct cpreg_fleet **ret, struct vms *vms)
{
	struct cpreg_fleet *f = NULL;
	int r = 0;

	if (cpreg_fleet_new(&f) < 0)
		return fail("out of memory");
	for (int i = 0; i < argc && r == 0; i++) {
		char **names = NULL;
		size_t n = 0;

		r = arg_files(argv[i], &names, &n);
		for (size_t k = 0; k < n && r == 0; k++)
			r = load_member(names[k], f, vms);
		free_names(names, n);
	}
	if (r == 0 && cpreg_fleet_group_count(f) == 0)
		r = fail("no inventories given");
	if (r != 0) {
		cpreg_fleet_unref(f);
		if (vms)
			vms_clear(vms);
		return EXIT_ERR;
	}
	*ret = f;
	return 0;
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

/*
 * The verdict that keeps groups i and j apart in that direction, or NULL:
 * judged again for the document (the fleet keeps results, not verdicts);
 * unref it.
 */
static struct cpreg_verdict *apart_verdict(const struct cpreg_fleet *f, size_t i, size_t j)
{
	struct cpreg_verdict *v = NULL;

	if (i == j || cpreg_fleet_result(f, i, j) == CPREG_COMPATIBLE || cpreg_fleet_pair_verdict(f, i, j, &v) < 0)
		return NULL;
	return v;
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
			struct cpreg_verdict *v = apart_verdict(f, i, j);

			if (!v)
				continue;
			fails_line(v, line, sizeof(line));
			printf("apart: group %zu -> group %zu %s (%s): %s\n", i + 1, j + 1,
			       cpreg_result_name(cpreg_verdict_result(v)), cpreg_verdict_policy(v), line);
			cpreg_verdict_unref(v);
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
			struct cpreg_verdict *v = apart_verdict(f, i, j);

			if (!v)
				continue;
			jw_object(w, NULL);
			jw_int(w, "from", (int64_t)i + 1);
			jw_int(w, "to", (int64_t)j + 1);
			jw_string(w, "result", cpreg_result_name(cpreg_verdict_result(v)));
			jw_string(w, "policy", cpreg_verdict_policy(v));
			fails_json(w, v, true);
			jw_end_object(w);
			cpreg_verdict_unref(v);
		}
	jw_end_array(w);
}

/* The VM of passport p judged for group g: its own options, the given policy. */
static int vm_verdict(const struct cpreg_passport *p, const struct cpreg_fleet_group *g, const struct cpreg_policy *pol,
		      struct cpreg_verdict **ret)
{
	struct cpreg_inventory *src = NULL;
	struct cpreg_vm_options vm;
	int r;

	cpreg_passport_options(p, &vm);
	if ((r = cpreg_passport_source(p, g->inventory, &src)) < 0)
		return r;
	r = cpreg_judge(&(struct cpreg_judge_args){ .source = src, .destination = g->inventory, .policy = pol,
						    .vm = &vm, .source_is_vm = true }, ret);
	cpreg_inventory_unref(src);
	return r;
}

/*
 * Where each VM of vms may go: the groups that take it, and the pools every
 * group of which takes it; into w (JSON "vms") or in words (w NULL).
 */
static int vms_out(struct jw *w, const struct cpreg_fleet *f, const struct vms *vms, const struct cpreg_policy *pol)
{
	size_t ng = cpreg_fleet_group_count(f), np = cpreg_fleet_pool_count(f);
	bool *ok = calloc(ng + 1, sizeof(*ok));
	char q[160], line[512];

	if (!ok)
		return -ENOMEM;
	if (w)
		jw_array(w, "vms");
	for (size_t i = 0; i < vms->n; i++) {
		struct cpreg_vm_options vm;

		cpreg_passport_options(vms->p[i], &vm);
		cpreg_vm_options_qemu(&vm, q, sizeof(q));
		if (w) {
			jw_object(w, NULL);
			jw_string(w, "file", vms->files[i]);
			jw_string(w, "digest", cpreg_passport_digest(vms->p[i]));
			jw_string(w, "qemu_cpu", q);
			jw_int(w, "hops", (int64_t)cpreg_passport_hop_count(vms->p[i]));
			jw_array(w, "groups");
		} else {
			printf("VM %s (passport, %zu hop%s, -cpu %s):\n", vms->files[i], cpreg_passport_hop_count(vms->p[i]),
			       cpreg_passport_hop_count(vms->p[i]) == 1 ? "" : "s", q);
		}
		for (size_t g = 0; g < ng; g++) {
			struct cpreg_verdict *v = NULL;

			if (vm_verdict(vms->p[i], cpreg_fleet_group_at(f, g), pol, &v) < 0) {
				free(ok);
				return -ENOMEM;
			}
			ok[g] = cpreg_verdict_result(v) == CPREG_COMPATIBLE;
			if (w) {
				jw_object(w, NULL);
				jw_int(w, "group", (int64_t)g + 1);
				jw_string(w, "result", cpreg_result_name(cpreg_verdict_result(v)));
				fails_json(w, v, false);
				jw_end_object(w);
			} else {
				fails_line(v, line, sizeof(line));
				printf("  group %zu: %s%s%s%s\n", g + 1, cpreg_result_name(cpreg_verdict_result(v)),
				       line[0] ? " (" : "", line, line[0] ? ")" : "");
			}
			cpreg_verdict_unref(v);
		}
		if (w) {
			jw_end_array(w);
			jw_array(w, "pools");
		} else {
			printf("  pools every host of which takes it:");
		}
		for (size_t p = 0, any = 0; p < np; p++) {
			const size_t *gs;
			size_t n = cpreg_fleet_pool_at(f, p, &gs), k = 0;

			while (k < n && ok[gs[k]])
				k++;
			if (k < n)
				continue;
			if (w)
				jw_int(w, NULL, (int64_t)p + 1);
			else
				printf("%s %zu", any++ ? "," : "", p + 1);
		}
		if (w) {
			jw_end_array(w);
			jw_end_object(w);
		} else {
			printf("\n");
		}
	}
	if (w)
		jw_end_array(w);
	free(ok);
	return 0;
}

int cmd_pools(int argc, char **argv)
{
	struct cpreg_fleet *f = NULL;
	struct cpreg_policy *p = NULL;
	struct cpreg_vm_options vm = vm_options();
	struct vms vms = { 0 };
	int r;

	if (argc < 1)
		return fail("usage: cpregctl pools FILE...|DIR");
	if (get_policy(&p) != 0 || load_fleet(argc, argv, &f, &vms) != 0) {
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
		if (vms.n && vms_out(&w, f, &vms, p) < 0)
			w.err = -ENOMEM;
		jw_end_object(&w);
		r = jw_done(&w, r);
	} else {
		pools_text(f, &vm);
		if (vms.n && vms_out(NULL, f, &vms, p) < 0)
			r = fail("out of memory");
	}
	vms_clear(&vms);
	cpreg_fleet_unref(f);
	cpreg_policy_unref(p);
	return r;
}

/* The SVE vector lengths every host offers, into vls; false when some host lists none. */
static bool common_vls(const struct cpreg_fleet *f, uint64_t vls[8])
{
	bool have = true;

	memset(vls, 0xff, 8 * sizeof(*vls));
	for (size_t i = 0; i < cpreg_fleet_group_count(f); i++) {
		const uint64_t *v = cpreg_inventory_sve_vls(cpreg_fleet_group_at(f, i)->inventory);

		if (!v)
			have = false;
		for (int k = 0; k < 8 && v; k++)
			vls[k] &= v[k];
	}
	return have;
}

/* What keeps the groups apart under the closest profile, each direction's deciding findings in words. */
static void unfixable_text(const struct cpreg_fleet *f)
{
	printf("What no VM option fixes, and why (QEMU offers no option to lower an ID register field or to "
	       "change MIDR_EL1; a field named here is one a future QEMU could lower):\n");
	for (size_t i = 0; i < cpreg_fleet_group_count(f); i++)
		for (size_t j = 0; j < cpreg_fleet_group_count(f); j++) {
			struct cpreg_verdict *v = apart_verdict(f, i, j);
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
			cpreg_verdict_unref(v);
		}
}

int cmd_profile(int argc, char **argv)
{
	char psci_note[160];
	struct cpreg_fleet *f = NULL;
	struct cpreg_policy *p = NULL;
	struct cpreg_fleet_profile prof;
	uint64_t vls[8];
	bool have_vls, offered;
	char q[160], *xml = NULL;
	struct vms vms = { 0 };
	int r, ret = EXIT_ERR;

	if (argc < 1)
		return fail("usage: cpregctl profile FILE...|DIR");
	snprintf(psci_note, sizeof(psci_note), "the hosts implement different PSCI versions, but %s needs QEMU 11.1 "
		 "or later on every host", cpreg_vm_option_at(CPREG_VMOPT_PSCI_VERSION)->qemu);
	if (get_policy(&p) != 0 || load_fleet(argc, argv, &f, &vms) != 0)
		goto out;
	if (cpreg_fleet_profile(f, p, &prof) < 0) {
		fail("cannot compute a profile");
		goto out;
	}
	have_vls = common_vls(f, vls);
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
		if (vms.n && vms_out(&w, f, &vms, p) < 0)
			w.err = -ENOMEM;
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
		unfixable_text(f);
	}
	if (prof.psci_unpinnable)
		printf("note: %s\n", psci_note);
	/* Running VMs keep their own options: where each may go, the profile notwithstanding. */
	if (vms.n && vms_out(NULL, f, &vms, p) < 0)
		ret = fail("out of memory");
out:
	vms_clear(&vms);
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

/*
 * The VMs a move is about: born on its source group (the host pair's
 * answer), or, for a roll-back, evacuated from the group they go back to:
 * born there, one hop to the source (a passport after that hop, by the
 * kernel model), which is what a rollback moves (docs/passport.md).
 */
enum lineage { BORN_HERE, EVACUATED };

/*
 * One try of a move: the verdict for the move's VMs (NULL with *why set
 * when an evacuated VM could not have come: its evacuation fails).
 */
static int plan_try(const struct cpreg_fleet_group *s, const struct cpreg_fleet_group *d, enum lineage lin,
		    const struct cpreg_policy *pol, const struct cpreg_vm_options *vm, struct cpreg_verdict **ret,
		    const char **why)
{
	struct cpreg_passport *born = NULL, *hop = NULL;
	struct cpreg_inventory *src = NULL;
	struct cpreg_verdict *ev = NULL;
	int r;

	*ret = NULL;
	*why = NULL;
	if (lin == BORN_HERE)
		return cpreg_check_vm(s->inventory, d->inventory, pol, vm, ret);
	/* Born on d, evacuated to s: only a VM whose evacuation works is there to roll back. */
	if ((r = cpreg_passport_born(d->inventory, vm, NULL, &born)) < 0 ||
	    (r = cpreg_check_vm(d->inventory, s->inventory, pol, vm, &ev)) < 0)
		goto out;
	if (cpreg_verdict_result(ev) != CPREG_COMPATIBLE) {
		*why = "not evacuated: the evacuation fails with these options";
		goto out;
	}
	if ((r = cpreg_passport_hop(born, s->inventory, NULL, NULL, &hop)) < 0 ||
	    (r = cpreg_passport_source(hop, d->inventory, &src)) < 0)
		goto out;
	r = cpreg_judge(&(struct cpreg_judge_args){ .source = src, .destination = d->inventory, .policy = pol,
						    .vm = vm, .source_is_vm = true }, ret);
out:
	cpreg_verdict_unref(ev);
	cpreg_inventory_unref(src);
	cpreg_passport_unref(hop);
	cpreg_passport_unref(born);
	return r;
}

/* One direction of a move, into w (JSON) or in words (w NULL); whether anything makes it work. */
static bool plan_direction(struct jw *w, const struct cpreg_fleet_group *s, const struct cpreg_fleet_group *d,
			   const struct cpreg_policy *forced, const struct cpreg_vm_options *given,
			   const struct cpreg_vm_options *profile, const struct cpreg_vm_options *profile11,
			   const char *dir, enum lineage lin)
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
		jw_string(w, "vms", lin == BORN_HERE ? "born-on-source" : "evacuated-from-destination");
		jw_string(w, "from", s->members[0]);
		jw_string(w, "to", d->members[0]);
		jw_array(w, "tries");
	}
	for (int k = 0; k < 3; k++) {
		struct cpreg_verdict *v = NULL;
		const char *why = NULL;

		if (k == 2 && (forced || strcmp(d->policy, "qemu-11.1") == 0))
			break;  /* the destination already runs (or is forced to) 11.1 */
		if (plan_try(s, d, lin, t[k].pol, t[k].vm, &v, &why) < 0)
			break;
		cpreg_vm_options_qemu(t[k].vm, q, sizeof(q));
		if (w) {
			jw_object(w, NULL);
			jw_string(w, "try", t[k].name);
			jw_string(w, "qemu_cpu", q);
			jw_string(w, "policy", v ? cpreg_verdict_policy(v) : NULL);
			jw_string(w, "result", v ? cpreg_result_name(cpreg_verdict_result(v)) : "not-evacuated");
			jw_bool(w, "needs_trial", v && cpreg_verdict_trial_advised(v) > 0);
			fails_json(w, v, false);
			jw_end_object(w);
		} else if (!v) {
			printf("    %-52s -cpu %s: %s\n", t[k].name, q, why);
		} else {
			fails_line(v, fl, sizeof(fl));
			printf("    %-52s -cpu %s, %s: %s%s%s%s\n", t[k].name, q, cpreg_verdict_policy(v),
			       cpreg_result_name(cpreg_verdict_result(v)), fl[0] ? " (" : "", fl, fl[0] ? ")" : "");
		}
		if (v && !works && cpreg_verdict_result(v) == CPREG_COMPATIBLE) {
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

/* The profiles of before and after together, under the given policy and under QEMU 11.1's. */
static int plan_profiles(const struct cpreg_fleet *b, const struct cpreg_fleet *a, const struct cpreg_policy *p,
			 struct cpreg_fleet_profile *prof, struct cpreg_fleet_profile *prof11)
{
	struct cpreg_fleet *all = NULL;
	struct cpreg_policy *tol = NULL;

	if (cpreg_fleet_new(&all) < 0)
		return -ENOMEM;
	for (const struct cpreg_fleet *side = b; side; side = side == b ? a : NULL)
		for (size_t j = 0; j < cpreg_fleet_group_count(side); j++) {
			const struct cpreg_fleet_group *g = cpreg_fleet_group_at(side, j);

			for (size_t k = 0; k < g->n_members; k++)
				if (cpreg_fleet_add(all, g->members[k], g->inventory) < 0) {
					cpreg_fleet_unref(all);
					return -ENOMEM;
				}
		}
	cpreg_fleet_profile(all, p, prof);
	cpreg_policy_new_builtin("qemu-11.1", &tol);
	cpreg_fleet_profile(all, tol, prof11);
	cpreg_policy_unref(tol);
	cpreg_fleet_unref(all);
	return 0;
}

/* Before group i and after group j, both ways (in words when w is NULL): whether both may move. */
static bool plan_pair(struct jw *w, const struct cpreg_fleet *b, size_t i, const struct cpreg_fleet *a, size_t j,
		      const struct cpreg_policy *p, const struct cpreg_vm_options *given,
		      const struct cpreg_fleet_profile *prof, const struct cpreg_fleet_profile *prof11)
{
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
	e = plan_direction(w, gb, ga, p, given, &prof->vm, &prof11->vm, "evacuate", BORN_HERE);
	if (!w)
		printf("  roll back, after -> before, VMs born after:\n");
	r = plan_direction(w, ga, gb, p, given, &prof->vm, &prof11->vm, "roll-back", BORN_HERE);
	/* What a rollback mostly moves: the VMs evacuated from these very hosts, which keep their registers. */
	if (!w)
		printf("  roll back, after -> before, VMs evacuated from before (born there, one hop):\n");
	r = plan_direction(w, ga, gb, p, given, &prof->vm, &prof11->vm, "roll-back", EVACUATED) && r;
	return e && r;
}

int cmd_plan(int argc, char **argv)
{
	struct cpreg_fleet *b = NULL, *a = NULL;
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
	if (get_policy(&p) != 0 || load_fleet(plan_args.n_before, plan_args.before, &b, NULL) != 0 ||
	    load_fleet(plan_args.n_after, plan_args.after, &a, NULL) != 0)
		goto out;
	/* The profile of both sides together: the options that keep VMs movable both ways (each file read once). */
	if (plan_profiles(b, a, p, &prof, &prof11) < 0) {
		fail("out of memory");
		goto out;
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
		for (size_t j = 0; j < cpreg_fleet_group_count(a); j++)
			blocked += !plan_pair(w, b, i, a, j, p, &given, &prof, &prof11);
	ret = blocked ? EXIT_NO : EXIT_OK;
	if (w) {
		jw_end_array(w);
		jw_end_object(w);
		ret = jw_done(w, ret);
	}
out:
	cpreg_fleet_unref(a);
	cpreg_fleet_unref(b);
	cpreg_policy_unref(p);
	return ret;
}

/* Take "--before FILE..." and "--after FILE..." out of argv before option parsing. */
int take_plan_lists(int *argc, char **argv)
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
