/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * VM passports (lib/passport.c) on the real-migration hosts' inventories
 * (tests/data/migrate, exported by their cpregd in the test bed).  What a
 * hop does to a VM is asserted from the chains of real migrations
 * (tests/vm/migrate-expected.txt, "A>B C" lines; tests/vm/vm-migrate.sh
 * compared these passports with the cpu section QEMU sent on).
 */
#include "config.h"

#include <json.h>

#include "cpreg.h"
#include "cpreg-internal.h"
#include "probe.h"
#include "tap.h"

#define PSCI CPREG_PSCI_VERSION
#define MIDR UINT64_C(0x603000000013c000)
#define SCTLR UINT64_C(0x603000000013c080)   /* vCPU state: listed, no value carried */

static struct cpreg_inventory *host(const char *name)
{
	char path[512];
	struct cpreg_inventory *inv = NULL;
	struct cpreg_error err = { 0 };

	snprintf(path, sizeof(path), "%s/tests/data/migrate/%s.json", TOP_SRCDIR, name);
	if (cpreg_inventory_load(path, &inv, &err) < 0) {
		printf("Bail out! %s: %s: %s\n", name, err.where, err.message);
		exit(99);
	}
	return inv;
}

static bool value_of(const struct cpreg_passport *p, uint64_t id, uint64_t *v, bool *carried)
{
	for (size_t i = 0; i < cpreg_passport_count(p); i++) {
		uint64_t x;

		if (cpreg_passport_reg_at(p, i, &x, v, carried) == 0 && x == id)
			return true;
	}
	return false;
}

static enum cpreg_result judge(const struct cpreg_passport *p, const struct cpreg_inventory *dst)
{
	struct cpreg_inventory *s = NULL;
	struct cpreg_verdict *v = NULL;
	struct cpreg_vm_options vm;
	enum cpreg_result r;

	cpreg_passport_options(p, &vm);
	if (cpreg_passport_source(p, dst, &s) < 0 ||
	    cpreg_judge(&(struct cpreg_judge_args){ .source = s, .destination = dst, .vm = &vm, .source_is_vm = true }, &v) < 0)
		exit(99);
	r = cpreg_verdict_result(v);
	cpreg_verdict_unref(v);
	cpreg_inventory_unref(s);
	return r;
}

/* The passport's JSON changed by f, read back: the error's code and where. */
static int mutated(const struct cpreg_passport *p, void (*f)(json_object *root), struct cpreg_error *err)
{
	struct cpreg_passport *q = NULL;
	char *text = NULL;
	json_object *root;
	const char *out;
	int r;

	cpreg_passport_to_json(p, &text);
	root = json_tokener_parse(text);
	f(root);
	out = json_object_to_json_string(root);
	memset(err, 0, sizeof(*err));
	r = cpreg_passport_from_json(out, strlen(out), &q, err);
	cpreg_passport_unref(q);
	json_object_put(root);
	free(text);
	return r;
}

static json_object *reg_obj(json_object *root, uint64_t id)
{
	json_object *regs = json_object_object_get(root, "registers");
	char want[24];

	snprintf(want, sizeof(want), "0x%016" PRIx64, id);
	for (size_t i = 0; i < json_object_array_length(regs); i++) {
		json_object *r = json_object_array_get_idx(regs, i);

		if (strcmp(json_object_get_string(json_object_object_get(r, "id")), want) == 0)
			return r;
	}
	return NULL;
}

static void m_value(json_object *root)
{
	json_object_object_add(reg_obj(root, MIDR), "value", json_object_new_string("0x410fd0c1"));
}
static void m_schema(json_object *root)
{
	json_object_object_add(root, "schema", json_object_new_string("cpreg-passport/2"));
}
static void m_option(json_object *root)
{
	json_object_object_add(json_object_object_get(root, "options"), "smt", json_object_new_boolean(0));
}
static void m_qemu(json_object *root)
{
	json_object_object_add(json_object_object_get(root, "options"), "qemu_cpu", json_object_new_string("host,pmu=off"));
}
static void m_state_value(json_object *root)
{
	json_object_object_add(reg_obj(root, SCTLR), "value", json_object_new_string("0x0"));
}
static void m_chain(json_object *root)
{
	json_object *h = json_object_array_get_idx(json_object_object_get(root, "hops"), 0);

	json_object_object_add(h, "from", json_object_new_string(
		"sha256:0000000000000000000000000000000000000000000000000000000000000000"));
}

static void born_and_json(void)
{
	struct cpreg_inventory *n1_612 = host("n1-612-q11");
	struct cpreg_passport *p = NULL, *q = NULL;
	struct cpreg_error err = { 0 };
	char *a = NULL, *b = NULL;
	uint64_t v = 0;
	bool carried = false, all_decided = true;
	size_t n_carried = 0;

	tap_ok(cpreg_passport_born(n1_612, NULL, "2026-12-04T10:00:00Z", &p) == 0, "a VM is born on n1 6.12");
	/* The VM's list is what QEMU sends: the migration view (258 on this host; the real stream's cpu section has 258). */
	tap_ok(cpreg_passport_count(p) == cpreg_inventory_migration_count(n1_612) && cpreg_passport_count(p) == 258,
	       "its register list is the host's migration view (%zu)", cpreg_passport_count(p));
	for (size_t i = 0; i < cpreg_passport_count(p); i++) {
		uint64_t id;

		cpreg_passport_reg_at(p, i, &id, NULL, &carried);
		n_carried += carried;
		if (carried != cpreg_id_value_decided(id))
			all_decided = false;
	}
	/* 85 values decide on this host: the same count vm-migrate.sh compared against the stream. */
	tap_ok(all_decided && n_carried == 85, "it carries exactly the values that decide (%zu of them)", n_carried);
	tap_ok(value_of(p, PSCI, &v, &carried) && carried && v == 0x10001, "PSCI 1.1, from its birth host");
	tap_ok(value_of(p, SCTLR, &v, &carried) && !carried, "SCTLR_EL1 (vCPU state) is listed without a value");
	tap_ok(strcmp(cpreg_passport_born_digest(p), cpreg_passport_current_digest(p)) == 0 &&
	       cpreg_passport_hop_count(p) == 0, "born: no hops, the VM is on its birth host");
	cpreg_passport_to_json(p, &a);
	tap_ok(a && cpreg_passport_from_json(a, strlen(a), &q, &err) == 0, "its JSON reads back (%s %s)", err.where,
	       err.message);
	cpreg_passport_to_json(q, &b);
	tap_ok(a && b && strcmp(a, b) == 0 && strcmp(cpreg_passport_digest(p), cpreg_passport_digest(q)) == 0,
	       "and writes back the same, with the same digest");

	tap_ok(mutated(p, m_value, &err) == -EBADMSG && strcmp(err.where, "digest") == 0,
	       "a changed value: the digest is refused (%s: %s)", err.where, err.message);
	tap_ok(mutated(p, m_schema, &err) == -EPROTONOSUPPORT && strcmp(err.where, "schema") == 0,
	       "an unknown schema version is named (%s: %s)", err.where, err.message);
	tap_ok(mutated(p, m_option, &err) == -EINVAL && strcmp(err.where, "options.smt") == 0,
	       "an option the table does not know is named (%s: %s)", err.where, err.message);
	tap_ok(mutated(p, m_qemu, &err) == -EINVAL && strcmp(err.where, "options.qemu_cpu") == 0,
	       "qemu_cpu saying other than the option keys is named (%s: %s)", err.where, err.message);
	tap_ok(mutated(p, m_state_value, &err) == -EINVAL && strstr(err.where, "].value"),
	       "a value for a register whose value does not decide is named (%s: %s)", err.where, err.message);
	{
		struct cpreg_inventory *inv = NULL;
		struct cpreg_passport *pp = NULL;
		char *t = NULL;

		cpreg_inventory_to_json(n1_612, &t);
		tap_ok(cpreg_source_from_json(a, strlen(a), &inv, &pp, &err) == 0 && pp && !inv,
		       "a source document: a passport is read as a passport");
		cpreg_passport_unref(pp);
		pp = NULL;
		tap_ok(cpreg_source_from_json(t, strlen(t), &inv, &pp, &err) == 0 && inv && !pp,
		       "and an inventory as an inventory");
		cpreg_inventory_unref(inv);
		free(t);
	}
	free(a);
	free(b);
	cpreg_passport_unref(q);
	cpreg_passport_unref(p);
	cpreg_inventory_unref(n1_612);
}

/*
 * The rollback measured (migrate-expected.txt, n1-612-q11>n1-72-q11
 * n1-612-q11: compatible): a VM born on 6.12, evacuated to 7.2, goes back,
 * where the host pair 7.2 -> 6.12 is refused for PSCI 1.3 (n1-72-q11
 * n1-612-q11: incompatible, refused PSCI_VERSION).
 */
static void rollback(void)
{
	struct cpreg_inventory *n1_612 = host("n1-612-q11"), *n1_72 = host("n1-72-q11");
	struct cpreg_passport *p = NULL, *h = NULL;
	struct cpreg_verdict *v = NULL;
	struct cpreg_error err = { 0 };
	uint64_t val = 0;
	bool carried = false;
	const char *to = NULL;
	char *text = NULL;

	cpreg_passport_born(n1_612, NULL, NULL, &p);
	tap_ok(judge(p, n1_72) == CPREG_COMPATIBLE, "born on 6.12, the VM may evacuate to 7.2 (real: loads)");
	tap_ok(cpreg_passport_hop(p, n1_72, NULL, "2026-12-04T11:00:00Z", &h) == 0, "its passport after the hop");
	tap_ok(cpreg_passport_count(h) == cpreg_inventory_migration_count(n1_72),
	       "after the hop its list is 7.2's (%zu registers, as QEMU sent on)", cpreg_passport_count(h));
	tap_ok(value_of(h, PSCI, &val, &carried) && carried && val == 0x10001,
	       "and it still has PSCI 1.1 from its birth (7.2 itself reports 1.3)");
	tap_ok(cpreg_passport_hop_count(h) == 1 && cpreg_passport_hop_at(h, 0, &to, NULL) == 0 &&
	       strcmp(to, cpreg_passport_current_digest(h)) == 0 &&
	       strcmp(cpreg_passport_born_digest(h), cpreg_passport_born_digest(p)) == 0,
	       "one hop, to 7.2's digest; born where it was");
	cpreg_check(n1_72, n1_612, NULL, &v);
	tap_ok(cpreg_verdict_result(v) == CPREG_INCOMPATIBLE && judge(h, n1_612) == CPREG_COMPATIBLE,
	       "the host pair 7.2 -> 6.12 is refused, the VM's rollback is not (real: loads)");
	cpreg_verdict_unref(v);
	/* The hop's record: another birth in "from" does not chain. */
	tap_ok(mutated(h, m_chain, &err) == -EINVAL && strcmp(err.where, "hops[0].from") == 0,
	       "hops that do not chain are named (%s: %s)", err.where, err.message);

	/* A verdict carries the passport after its hop, and reads it back. */
	{
		struct cpreg_inventory *s = NULL;
		struct cpreg_verdict *w = NULL, *x = NULL;

		memset(&err, 0, sizeof(err));
		cpreg_passport_source(p, n1_72, &s);
		cpreg_judge(&(struct cpreg_judge_args){ .source = s, .destination = n1_72, .source_is_vm = true }, &w);
		tap_ok(cpreg_verdict_set_passport_after(w, h) == 0 && cpreg_verdict_to_json(w, &text) == 0 &&
		       cpreg_verdict_from_json(text, strlen(text), &x, &err) == 0 && cpreg_verdict_passport_after(x) &&
		       strcmp(cpreg_passport_digest(cpreg_verdict_passport_after(x)), cpreg_passport_digest(h)) == 0,
		       "a compatible verdict carries passport_after through its JSON (%s %s)", err.where, err.message);
		{
			json_object *o = text ? json_tokener_parse(text) : NULL, *src = NULL, *d = NULL;

			tap_ok(o && json_object_object_get_ex(o, "source", &src) && json_object_object_get_ex(src, "digest", &d) &&
			       strcmp(json_object_get_string(d), cpreg_passport_digest(p)) == 0,
			       "the verdict's source is the VM: its digest is the passport's");
			json_object_put(o);
		}
		cpreg_verdict_unref(w);
		cpreg_verdict_unref(x);
		cpreg_inventory_unref(s);
		w = NULL;
		cpreg_check(n1_72, n1_612, NULL, &w);
		tap_ok(cpreg_verdict_set_passport_after(w, h) == -EINVAL, "an incompatible verdict takes no passport_after");
		cpreg_verdict_unref(w);
	}
	free(text);
	cpreg_passport_unref(h);
	cpreg_passport_unref(p);
	cpreg_inventory_unref(n1_612);
	cpreg_inventory_unref(n1_72);
}

/*
 * The VM pinned to PSCI 1.1 on 7.2, evacuated to 6.12 and back
 * (n1-72-q11>n1-612-q11 n1-72-q11 kvm-psci-version=1.1: compatible); and
 * born on 6.1, through 6.12, back to 6.1 (n1-61-q72>n1-612-q11 n1-61-q72:
 * incompatible: after the hop its list is 6.12's).
 */
static void chains(void)
{
	struct cpreg_inventory *n1_72 = host("n1-72-q11"), *n1_612 = host("n1-612-q11"), *n1_61 = host("n1-61-q72");
	struct cpreg_vm_options vm = { .psci_version = 0x10001 }, got;
	struct cpreg_passport *p = NULL, *h = NULL;
	uint64_t val = 0;
	bool carried = false;

	cpreg_passport_born(n1_72, &vm, NULL, &p);
	cpreg_passport_options(p, &got);
	tap_ok(got.psci_version == 0x10001 && value_of(p, PSCI, &val, &carried) && val == 0x10001,
	       "born on 7.2 with kvm-psci-version=1.1: its options and PSCI 1.1 travel");
	cpreg_passport_hop(p, n1_612, NULL, NULL, &h);
	tap_ok(judge(h, n1_72) == CPREG_COMPATIBLE, "evacuated to 6.12, it may go back to 7.2 (real: loads)");
	cpreg_passport_unref(p);
	cpreg_passport_unref(h);
	p = h = NULL;
	cpreg_passport_born(n1_61, NULL, NULL, &p);
	cpreg_passport_hop(p, n1_612, NULL, NULL, &h);
	tap_ok(judge(p, n1_612) == CPREG_COMPATIBLE && judge(h, n1_61) == CPREG_INCOMPATIBLE,
	       "born on 6.1, it may go to 6.12 and then not back (real: loads, then fails)");
	tap_ok(cpreg_passport_count(h) == cpreg_inventory_migration_count(n1_612),
	       "after that hop its list is 6.12's (%zu, 6.1 lists %zu)", cpreg_passport_count(h),
	       cpreg_inventory_migration_count(n1_61));
	cpreg_passport_unref(p);
	cpreg_passport_unref(h);
	cpreg_inventory_unref(n1_72);
	cpreg_inventory_unref(n1_612);
	cpreg_inventory_unref(n1_61);
}

/* The live trial's read-back (replayed kernel: keeps what it takes, as KVM does) against the kernel model's hop. */
static void read_back(void)
{
	struct cpreg_inventory *n1_612 = host("n1-612-q11"), *n1_72 = host("n1-72-q11"), *s = NULL;
	struct cpreg_replay *rp = cpreg_replay_new(n1_612);
	struct cpreg_vm_options vm = { .psci_version = 0x10001 };
	struct cpreg_passport *p = NULL, *model = NULL, *trial = NULL;
	struct cpreg_trial t = { 0 };
	struct cpreg_error err = { 0 };
	bool same = true;

	cpreg_passport_born(n1_72, &vm, NULL, &p);
	cpreg_passport_source(p, n1_612, &s);
	tap_ok(cpreg_trial_run_read_back(cpreg_replay_ops(rp), NULL, s, 0, true, &t, &err) == 0 && t.after,
	       "the trial reads the vCPU back after its writes (%s %s)", err.where, err.message);
	cpreg_passport_hop(p, n1_612, NULL, NULL, &model);
	cpreg_passport_hop(p, n1_612, t.after, NULL, &trial);
	same = model && trial && cpreg_passport_count(model) == cpreg_passport_count(trial);
	for (size_t i = 0; same && i < cpreg_passport_count(model); i++) {
		uint64_t a, b, va, vb;
		bool ca, cb;

		cpreg_passport_reg_at(model, i, &a, &va, &ca);
		cpreg_passport_reg_at(trial, i, &b, &vb, &cb);
		same = a == b && ca == cb && (!ca || va == vb);
	}
	tap_ok(same, "the passport after the hop from the read-back equals the kernel model's");
	cpreg_trial_clear(&t);
	cpreg_passport_unref(p);
	cpreg_passport_unref(model);
	cpreg_passport_unref(trial);
	cpreg_inventory_unref(s);
	cpreg_replay_free(rp);
	cpreg_inventory_unref(n1_612);
	cpreg_inventory_unref(n1_72);
}

/*
 * Issue 27: a fleet judges each pair of judged states once (hosts that
 * differ only in vCPU state share one) and keeps results, not verdicts.
 * Every ordered pair's result must still be the pair check's, and a pair's
 * verdict judged again must be that check's too.  The hosts: the
 * real-migration inventories, and variants of n1 6.12 with another
 * SCTLR_EL1 (vCPU state), another lowered ID_AA64ISAR0 (a writable field:
 * a judged state of its own), and both; with and without VM options.
 */
static void fleet_states(void)
{
	static const char *const names[] = { "n1-612-q11", "n1-72-q11", "n1-61-q72", "a57-612-q10", "a64fx-612-q11",
					     "max-612-q11" };
	struct cpreg_inventory *h[10];
	struct cpreg_fleet *f = NULL;
	struct cpreg_vm_options opts[2] = { { 0 }, { .disable = 1u << CPREG_FEAT_PMU_V3 } };
	size_t n = 0, bad = 0, pairs = 0, refuted = 0;
	int r;

	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		h[n++] = host(names[i]);
	for (int k = 0; k < 4; k++) {
		uint64_t isar0 = cpreg_inventory_find(h[0], UINT64_C(0x603000000013c030))->value;

		cpreg_inventory_copy(h[0], &h[n]);
		if (k & 1)
			cpreg_inventory_set_value(h[n], SCTLR, 0x30d00800 + (uint64_t)k);
		if (k & 2)
			cpreg_inventory_set_value(h[n], UINT64_C(0x603000000013c030), isar0 & ~(UINT64_C(0xf) << 4));
		if (k == 0)
			cpreg_inventory_set_value(h[n], SCTLR, 0x30d00810);
		n++;
	}
	for (int o = 0; o < 2; o++) {
		cpreg_fleet_new(&f);
		for (size_t i = 0; i < n; i++) {
			char name[16];

			snprintf(name, sizeof(name), "h%zu", i);
			cpreg_fleet_add(f, name, h[i]);
		}
		/* Six hosts; n1 6.12 with another SCTLR twice (its state), with ISAR0 lowered twice (a new one). */
		r = cpreg_fleet_judge(f, NULL, &opts[o]);
		tap_ok(r == 0 && cpreg_fleet_group_count(f) == n && cpreg_fleet_judged_states(f) == 7,
		       "a fleet of %zu distinct hosts is judged as %zu judged states (%s)", n, cpreg_fleet_judged_states(f),
		       o ? "pmu=off" : "no options");
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < n; j++) {
				const struct cpreg_fleet_group *a = cpreg_fleet_group_at(f, i), *b = cpreg_fleet_group_at(f, j);
				struct cpreg_verdict *v = NULL, *w = NULL;

				if (i == j)
					continue;
				cpreg_check_vm(a->inventory, b->inventory, NULL, &opts[o], &v);
				cpreg_fleet_pair_verdict(f, i, j, &w);
				pairs++;
				refuted += cpreg_verdict_result(v) != CPREG_COMPATIBLE;
				if (cpreg_fleet_result(f, i, j) != cpreg_verdict_result(v) || !w ||
				    cpreg_verdict_result(w) != cpreg_verdict_result(v) ||
				    cpreg_verdict_count(w) != cpreg_verdict_count(v))
					bad++;
				cpreg_verdict_unref(v);
				cpreg_verdict_unref(w);
			}
		cpreg_fleet_unref(f);
		f = NULL;
	}
	tap_ok(bad == 0 && refuted > 0 && refuted < pairs,
	       "every ordered pair's fleet result and verdict judged again are the pair check's (%zu pairs, %zu refused, %zu differ)",
	       pairs, refuted, bad);
	for (size_t i = 0; i < n; i++)
		cpreg_inventory_unref(h[i]);
}

int main(void)
{
	fleet_states();
	born_and_json();
	rollback();
	chains();
	read_back();
	return tap_done();
}
