/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fleets: many hosts' inventories judged as a whole.  Identical hosts (one
 * digest, one QEMU policy as a destination) form a group and are judged
 * once, so the work grows with the number of distinct hosts, not of files.
 * Every ordered pair of groups is checked with the pair check itself
 * (cpreg_check_vm); a migration pool is a maximal set of groups where every
 * ordered pair is compatible (a maximal clique of the mutual graph,
 * Bron-Kerbosch with pivoting); a VM profile is the set of VM options under
 * which the hosts look most alike, offered only when the same check passes
 * every ordered pair with it applied.
 */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "cpreg-internal.h"

struct cpreg_fleet {
	int refcount;
	struct cpreg_fleet_group *g;
	size_t n, cap;
	/*
	 * n * n, [i * n + j]: the result (enum cpreg_result + 1; 0 not judged)
	 * for a VM on group i moving to group j.  A byte a pair, not a verdict:
	 * a thousand distinct hosts are a million pairs, and their verdicts
	 * were gigabytes; the few a document names are judged again
	 * (cpreg_fleet_pair_verdict).
	 */
	uint8_t *res;
	bool judged;
	size_t n_states;               /* judged states among the groups (what was checked pairwise) */
	struct cpreg_policy *policy;   /* as judged, for the pairs judged again */
	struct cpreg_inventory **as_src, **as_dst;  /* each group with the VM's options applied, or NULL */
	struct cpreg_vm_options vm;
	size_t **pools;                /* each a sorted list of group indices */
	size_t *pool_len;
	size_t n_pools;
	const char *grouping_policy;   /* groups by this policy's name instead of each host's own, or NULL */
};

int cpreg_fleet_new(struct cpreg_fleet **ret)
{
	struct cpreg_fleet *f;

	if (!ret)
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->refcount = 1;
	*ret = f;
	return 0;
}

static void drop_results(struct cpreg_fleet *f)
{
	free(f->res);
	f->res = NULL;
	f->judged = false;
	for (size_t i = 0; i < f->n; i++) {
		if (f->as_src)
			cpreg_inventory_unref(f->as_src[i]);
		if (f->as_dst)
			cpreg_inventory_unref(f->as_dst[i]);
	}
	free(f->as_src);
	free(f->as_dst);
	f->as_src = f->as_dst = NULL;
	f->policy = cpreg_policy_unref(f->policy);
	for (size_t k = 0; k < f->n_pools; k++)
		free(f->pools[k]);
	free(f->pools);
	free(f->pool_len);
	f->pools = NULL;
	f->pool_len = NULL;
	f->n_pools = 0;
}

struct cpreg_fleet *cpreg_fleet_unref(struct cpreg_fleet *f)
{
	if (!f || cpreg_ref_dec(&f->refcount) > 0)
		return NULL;
	drop_results(f);
	for (size_t i = 0; i < f->n; i++) {
		cpreg_inventory_unref(f->g[i].inventory);
		for (size_t k = 0; k < f->g[i].n_members; k++)
			free(f->g[i].members[k]);
		free(f->g[i].members);
	}
	free(f->g);
	free(f);
	return NULL;
}

/* The policy a destination's own QEMU implies (legacy when unknown, as cpreg_check does). */
static const char *own_policy(const struct cpreg_inventory *inv)
{
	const char *p = cpreg_policy_for_qemu_version(cpreg_inventory_get_text(inv, CPREG_TEXT_QEMU_VERSION));

	return p ? p : "qemu-legacy";
}

int cpreg_fleet_add(struct cpreg_fleet *f, const char *name, struct cpreg_inventory *inv)
{
	char digest[CPREG_DIGEST_LEN];
	const char *pol;
	struct cpreg_fleet_group *g = NULL;
	char **m, *copy;

	if (!f || !name || !inv)
		return -EINVAL;
	cpreg_inventory_digest(inv, digest, sizeof(digest));
	pol = f->grouping_policy ? f->grouping_policy : own_policy(inv);
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->g[i].digest, digest) == 0 && strcmp(f->g[i].policy, pol) == 0)
			g = &f->g[i];
	if (!g) {
		if (f->n == f->cap) {
			size_t ncap = f->cap ? f->cap * 2 : 16;
			struct cpreg_fleet_group *n = reallocarray(f->g, ncap, sizeof(*n));

			if (!n)
				return -ENOMEM;
			f->g = n;
			f->cap = ncap;
		}
		drop_results(f);
		g = &f->g[f->n++];
		memset(g, 0, sizeof(*g));
		snprintf(g->digest, sizeof(g->digest), "%s", digest);
		g->policy = pol;
		g->inventory = cpreg_inventory_ref(inv);
	}
	copy = strdup(name);
	m = copy ? reallocarray(g->members, g->n_members + 1, sizeof(*m)) : NULL;
	if (!m) {
		free(copy);
		return -ENOMEM;
	}
	g->members = m;
	g->members[g->n_members++] = copy;
	return 0;
}

int cpreg_fleet_group_by_policy(struct cpreg_fleet *f, const char *policy)
{
	if (!f || f->n)
		return -EINVAL;
	f->grouping_policy = policy;
	return 0;
}

size_t cpreg_fleet_group_count(const struct cpreg_fleet *f)
{
	return f ? f->n : 0;
}

const struct cpreg_fleet_group *cpreg_fleet_group_at(const struct cpreg_fleet *f, size_t i)
{
	return f && i < f->n ? &f->g[i] : NULL;
}

static bool compatible(const struct cpreg_fleet *f, size_t i, size_t j)
{
	return i == j || f->res[i * f->n + j] == CPREG_COMPATIBLE + 1;
}

static bool mutual(const struct cpreg_fleet *f, size_t i, size_t j)
{
	return compatible(f, i, j) && compatible(f, j, i);
}

/* Bron-Kerbosch with pivoting over the mutual graph: R, P, X as index lists. */
struct bk {
	struct cpreg_fleet *f;
	size_t *r;
	int err;
};

static int add_pool(struct cpreg_fleet *f, const size_t *r, size_t nr)
{
	size_t **np = reallocarray(f->pools, f->n_pools + 1, sizeof(*np));
	size_t *nl, *copy;

	if (!np)
		return -ENOMEM;
	f->pools = np;
	nl = reallocarray(f->pool_len, f->n_pools + 1, sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	f->pool_len = nl;
	copy = malloc(nr * sizeof(*copy));
	if (!copy)
		return -ENOMEM;
	memcpy(copy, r, nr * sizeof(*copy));
	/* Sorted, so that pools read in the order the hosts were given. */
	for (size_t a = 1; a < nr; a++)
		for (size_t b = a; b > 0 && copy[b - 1] > copy[b]; b--) {
			size_t t = copy[b];

			copy[b] = copy[b - 1];
			copy[b - 1] = t;
		}
	f->pools[f->n_pools] = copy;
	f->pool_len[f->n_pools++] = nr;
	return 0;
}

static void bron_kerbosch(struct bk *s, size_t nr, const size_t *p, size_t np, const size_t *x, size_t nx)
{
	size_t pivot = SIZE_MAX, best = 0, *p2 = NULL, *x2 = NULL, *pl = NULL;
	size_t npl = 0;

	if (s->err)
		return;
	if (np == 0 && nx == 0) {
		s->err = add_pool(s->f, s->r, nr);
		return;
	}
	/* Pivot: the vertex of P or X with the most neighbours in P. */
	for (size_t k = 0; k < np + nx; k++) {
		size_t u = k < np ? p[k] : x[k - np], cnt = 0;

		for (size_t q = 0; q < np; q++)
			cnt += p[q] != u && mutual(s->f, u, p[q]);
		if (pivot == SIZE_MAX || cnt > best) {
			pivot = u;
			best = cnt;
		}
	}
	p2 = malloc((np + 1) * sizeof(*p2));
	x2 = malloc((np + nx + 1) * sizeof(*x2));
	pl = malloc((np + 1) * sizeof(*pl));
	if (!p2 || !x2 || !pl) {
		s->err = -ENOMEM;
		goto out;
	}
	for (size_t k = 0; k < np; k++)
		if (p[k] == pivot || !mutual(s->f, pivot, p[k]))
			pl[npl++] = p[k];
	{
		/* P and X shrink as each candidate is done: keep working copies. */
		size_t *pc = malloc((np + 1) * sizeof(*pc)), *xc = malloc((np + nx + 1) * sizeof(*xc));
		size_t npc = np, nxc = nx;

		if (!pc || !xc) {
			free(pc);
			free(xc);
			s->err = -ENOMEM;
			goto out;
		}
		if (np)
			memcpy(pc, p, np * sizeof(*pc));
		if (nx)
			memcpy(xc, x, nx * sizeof(*xc));
		for (size_t k = 0; k < npl && !s->err; k++) {
			size_t v = pl[k], n2p = 0, n2x = 0;

			for (size_t q = 0; q < npc; q++)
				if (pc[q] != v && mutual(s->f, v, pc[q]))
					p2[n2p++] = pc[q];
			for (size_t q = 0; q < nxc; q++)
				if (xc[q] != v && mutual(s->f, v, xc[q]))
					x2[n2x++] = xc[q];
			s->r[nr] = v;
			bron_kerbosch(s, nr + 1, p2, n2p, x2, n2x);
			/* Move v from P to X. */
			for (size_t q = 0; q < npc; q++)
				if (pc[q] == v) {
					pc[q] = pc[--npc];
					break;
				}
			xc[nxc++] = v;
		}
		free(pc);
		free(xc);
	}
out:
	free(p2);
	free(x2);
	free(pl);
}

/*
 * ---- judged states ----
 * Two hosts look the same to every check when they list the same migrated
 * ids in the same states, with the same values wherever a value decides
 * (cpreg_id_value_decided: the kernel rules and tolerances; every other
 * value is vCPU state that any destination takes), the same vCPU features,
 * vector lengths and writable masks, and the same QEMU policy as a
 * destination.  Hosts that differ only in vCPU state (a firmware's SCTLR,
 * TPIDR) are distinct groups (distinct digests), but one judged state: a
 * pair's result is that of its states' pair.  Judging states, not groups,
 * makes a fleet of a thousand such hosts one check.
 */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	for (const unsigned char *c = p; n--; c++)
		h = (h ^ *c) * UINT64_C(1099511628211);
	return h;
}

static uint64_t state_hash(const struct cpreg_fleet_group *g)
{
	const struct cpreg_inventory *inv = g->inventory;
	uint32_t feat = cpreg_inventory_features(inv);
	uint64_t h = fnv(UINT64_C(14695981039346656037), g->policy, strlen(g->policy));

	h = fnv(h, &feat, sizeof(feat));
	for (size_t i = 0; i < inv->n_regs; i++) {
		const struct cpreg_reg *r = &inv->regs[i];

		if (!cpreg_migrates(r->id))
			continue;
		h = fnv(h, &r->id, sizeof(r->id));
		h = fnv(h, &r->state, sizeof(r->state));
		if (r->state == CPREG_VALUE && cpreg_id_value_decided(r->id))
			h = fnv(h, &r->value, sizeof(r->value));
	}
	return h;
}

static bool same_state(const struct cpreg_fleet_group *x, const struct cpreg_fleet_group *y)
{
	const struct cpreg_inventory *a = x->inventory, *b = y->inventory;
	size_t i = 0, j = 0;

	if (strcmp(x->policy, y->policy) != 0 || cpreg_inventory_features(a) != cpreg_inventory_features(b) ||
	    a->has_masks != b->has_masks || (a->has_masks && memcmp(a->masks, b->masks, sizeof(a->masks))) ||
	    a->has_vls != b->has_vls || (a->has_vls && memcmp(a->vls, b->vls, sizeof(a->vls))))
		return false;
	for (;;) {
		while (i < a->n_regs && !cpreg_migrates(a->regs[i].id))
			i++;
		while (j < b->n_regs && !cpreg_migrates(b->regs[j].id))
			j++;
		if (i == a->n_regs || j == b->n_regs)
			return i == a->n_regs && j == b->n_regs;
		if (a->regs[i].id != b->regs[j].id || a->regs[i].state != b->regs[j].state ||
		    (a->regs[i].state == CPREG_VALUE && cpreg_id_value_decided(a->regs[i].id) &&
		     a->regs[i].value != b->regs[j].value))
			return false;
		i++, j++;
	}
}

/* Each group's judged state (an index into reps: its first group); returns how many states. */
static size_t judged_states(const struct cpreg_fleet *f, size_t *state, size_t *reps, size_t *second)
{
	uint64_t *h = malloc((f->n + 1) * sizeof(*h));
	size_t ns = 0;

	if (!h)
		return SIZE_MAX;
	for (size_t i = 0; i < f->n; i++) {
		h[i] = state_hash(&f->g[i]);
		state[i] = SIZE_MAX;
		for (size_t k = 0; k < ns && state[i] == SIZE_MAX; k++)
			if (h[reps[k]] == h[i] && same_state(&f->g[reps[k]], &f->g[i]))
				state[i] = k;
		if (state[i] == SIZE_MAX) {
			state[i] = ns;
			second[ns] = SIZE_MAX;
			reps[ns++] = i;
		} else if (second[state[i]] == SIZE_MAX) {
			second[state[i]] = i;
		}
	}
	free(h);
	return ns;
}

/* The states' pairs, judged by threads: the next row is taken from a shared counter. */
struct states_job {
	struct cpreg_fleet *f;
	const size_t *reps, *second;
	size_t ns;
	uint8_t *sres;            /* ns * ns */
	size_t next_row;
	int err;
};

static int judge_pair(const struct cpreg_fleet *f, size_t i, size_t j, struct cpreg_verdict **ret)
{
	const struct cpreg_judge_args a = { .source = f->g[i].inventory, .destination = f->g[j].inventory,
					    .policy = f->policy, .vm = &f->vm };

	return cpreg_judge_prepared(&a, f->as_src ? f->as_src[i] : NULL, f->as_dst ? f->as_dst[j] : NULL, ret);
}

static void *judge_states(void *arg)
{
	struct states_job *job = arg;

	for (;;) {
		size_t a = __atomic_fetch_add(&job->next_row, 1, __ATOMIC_RELAXED);

		if (a >= job->ns || __atomic_load_n(&job->err, __ATOMIC_RELAXED))
			return NULL;
		for (size_t b = 0; b < job->ns; b++) {
			/* Two groups of one state: judge its first and second (when it has one) for them all. */
			size_t i = job->reps[a], j = a == b ? job->second[a] : job->reps[b];
			struct cpreg_verdict *v = NULL;
			int r;

			if (j == SIZE_MAX)
				continue;
			r = judge_pair(job->f, i, j, &v);
			if (r < 0) {
				__atomic_store_n(&job->err, r, __ATOMIC_RELAXED);
				return NULL;
			}
			job->sres[a * job->ns + b] = (uint8_t)(cpreg_verdict_result(v) + 1);
			cpreg_verdict_unref(v);
		}
	}
}

/* Every ordered pair of groups, each pair of judged states checked once, on the machine's cores. */
static int judge_all(struct cpreg_fleet *f)
{
	size_t *state = malloc((f->n + 1) * sizeof(*state)), *reps = malloc((f->n + 1) * sizeof(*reps));
	size_t *second = malloc((f->n + 1) * sizeof(*second));
	struct states_job job = { .f = f };
	pthread_t th[8];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nt = cpus < 1 ? 1 : cpus > 8 ? 8 : (size_t)cpus, started = 0;
	int r = -ENOMEM;

	if (!state || !reps || !second || (job.ns = judged_states(f, state, reps, second)) == SIZE_MAX ||
	    !(job.sres = calloc(job.ns * job.ns + 1, 1)))
		goto out;
	job.reps = reps;
	job.second = second;
	if (nt > job.ns)
		nt = job.ns;
	for (; started + 1 < nt; started++)
		if (pthread_create(&th[started], NULL, judge_states, &job) != 0)
			break;
	judge_states(&job);
	for (size_t k = 0; k < started; k++)
		pthread_join(th[k], NULL);
	r = job.err;
	f->n_states = job.ns;
	for (size_t i = 0; r == 0 && i < f->n; i++)
		for (size_t j = 0; j < f->n; j++)
			f->res[i * f->n + j] = i == j ? CPREG_COMPATIBLE + 1 : job.sres[state[i] * job.ns + state[j]];
out:
	free(job.sres);
	free(state);
	free(reps);
	free(second);
	return r;
}

int cpreg_fleet_judge(struct cpreg_fleet *f, const struct cpreg_policy *policy, const struct cpreg_vm_options *vm)
{
	size_t *all = NULL;
	struct bk s = { 0 };
	int r;

	if (!f)
		return -EINVAL;
	drop_results(f);
	f->vm = vm ? *vm : (struct cpreg_vm_options){ 0 };
	f->policy = cpreg_policy_ref((struct cpreg_policy *)policy);
	f->res = calloc(f->n * f->n + 1, 1);
	if (!f->res)
		return -ENOMEM;
	if (cpreg_vm_options_any(vm)) {
		/* Each group with the options applied once, as a source and as a destination, shared by its pairs. */
		f->as_src = calloc(f->n + 1, sizeof(*f->as_src));
		f->as_dst = calloc(f->n + 1, sizeof(*f->as_dst));
		if (!f->as_src || !f->as_dst)
			return -ENOMEM;
		for (size_t i = 0; i < f->n; i++)
			if ((r = cpreg_check_vm_options(f->g[i].inventory, f->g[i].inventory, vm, &f->as_src[i],
							&f->as_dst[i])) < 0)
				return r;
	}
	if ((r = judge_all(f)) < 0)
		return r;
	f->judged = true;
	all = malloc((f->n + 1) * sizeof(*all));
	s.f = f;
	s.r = malloc((f->n + 1) * sizeof(*s.r));
	if (!all || !s.r) {
		free(all);
		free(s.r);
		return -ENOMEM;
	}
	for (size_t i = 0; i < f->n; i++)
		all[i] = i;
	bron_kerbosch(&s, 0, all, f->n, NULL, 0);
	free(all);
	free(s.r);
	/* Largest pools first; among equals, the order of their first group. */
	for (size_t a = 1; a < f->n_pools; a++)
		for (size_t b = a; b > 0; b--) {
			size_t *pa = f->pools[b - 1], *pb = f->pools[b], la = f->pool_len[b - 1], lb = f->pool_len[b];

			if (la > lb || (la == lb && pa[0] <= pb[0]))
				break;
			f->pools[b - 1] = pb;
			f->pools[b] = pa;
			f->pool_len[b - 1] = lb;
			f->pool_len[b] = la;
		}
	return s.err;
}

size_t cpreg_fleet_judged_states(const struct cpreg_fleet *f)
{
	return f && f->judged ? f->n_states : 0;
}

enum cpreg_result cpreg_fleet_result(const struct cpreg_fleet *f, size_t from, size_t to)
{
	if (!f || !f->judged || from >= f->n || to >= f->n || !f->res[from * f->n + to])
		return CPREG_UNDECIDED;
	return (enum cpreg_result)(f->res[from * f->n + to] - 1);
}

int cpreg_fleet_pair_verdict(const struct cpreg_fleet *f, size_t from, size_t to, struct cpreg_verdict **ret)
{
	if (!f || !f->judged || from >= f->n || to >= f->n || from == to || !ret)
		return -EINVAL;
	return judge_pair(f, from, to, ret);
}

size_t cpreg_fleet_pool_count(const struct cpreg_fleet *f)
{
	return f ? f->n_pools : 0;
}

size_t cpreg_fleet_pool_at(const struct cpreg_fleet *f, size_t k, const size_t **ret_groups)
{
	if (!f || k >= f->n_pools)
		return 0;
	if (ret_groups)
		*ret_groups = f->pools[k];
	return f->pool_len[k];
}

bool cpreg_fleet_pool_moves(const struct cpreg_fleet *f, size_t a, size_t b)
{
	if (!f || !f->judged || a >= f->n_pools || b >= f->n_pools)
		return false;
	for (size_t x = 0; x < f->pool_len[a]; x++)
		for (size_t y = 0; y < f->pool_len[b]; y++)
			if (!compatible(f, f->pools[a][x], f->pools[b][y]))
				return false;
	return true;
}

/* ---- VM profiles ---- */

static unsigned max_vq(const uint64_t *vls)
{
	for (unsigned vq = 512; vq > 0; vq--)
		if (vls[(vq - 1) / 64] >> ((vq - 1) % 64) & 1)
			return vq;
	return 0;
}

int cpreg_fleet_profile(const struct cpreg_fleet *f, const struct cpreg_policy *policy, struct cpreg_fleet_profile *ret)
{
	struct cpreg_fleet_profile p = { 0 };
	uint32_t all = UINT32_MAX, any = 0;
	uint64_t psci_min = UINT64_MAX, psci_max = 0;
	unsigned vq = 512;
	bool qemu_11_1 = true;

	if (!f || !ret || !f->n)
		return -EINVAL;
	for (size_t i = 0; i < f->n; i++) {
		const struct cpreg_inventory *inv = f->g[i].inventory;
		const struct cpreg_reg *psci = cpreg_inventory_find(inv, CPREG_PSCI_VERSION);
		const uint64_t *vls = cpreg_inventory_sve_vls(inv);

		all &= cpreg_inventory_features(inv);
		any |= cpreg_inventory_features(inv);
		if (psci && psci->state == CPREG_VALUE) {
			psci_min = psci->value < psci_min ? psci->value : psci_min;
			psci_max = psci->value > psci_max ? psci->value : psci_max;
		}
		if (vls && max_vq(vls) < vq)
			vq = max_vq(vls);
		/* A forced policy says which QEMU the destinations run. */
		qemu_11_1 &= policy ? cpreg_policy_kind(policy) == CPREG_POLICY_QEMU_TOLERANT
				    : strcmp(f->g[i].policy, "qemu-11.1") == 0;
	}
	/*
	 * A feature some hosts have and others lack is turned off for the VM on
	 * every host (QEMU pmu/sve/pauth=off); one no host has needs no option.
	 */
	any &= ~all;
	for (size_t k = 0; k < cpreg_vm_option_count(); k++) {
		const struct cpreg_vm_option *o = cpreg_vm_option_at(k);

		if (o->kind == CPREG_VMOPT_SWITCH && (any & o->features & -o->features))
			p.vm.disable |= o->features;
	}
	/*
	 * Every host has SVE: the longest vector length they all offer, when
	 * they list their lengths; never a value QEMU refuses (no host listing
	 * lengths left vq at its start, 512).
	 */
	if ((all & (1u << CPREG_FEAT_SVE)) && vq <= cpreg_vm_option_at(CPREG_VMOPT_SVE_MAX_VQ)->max)
		p.vm.sve_max_vq = vq;
	/* The lowest PSCI version every host implements; kvm-psci-version exists from QEMU 11.1. */
	if (psci_min != UINT64_MAX && psci_min != psci_max) {
		if (qemu_11_1)
			p.vm.psci_version = (uint32_t)psci_min;
		else
			p.psci_unpinnable = true;
	}
	p.psci_lowest = psci_min == UINT64_MAX ? 0 : (uint32_t)psci_min;
	*ret = p;
	return 0;
}
