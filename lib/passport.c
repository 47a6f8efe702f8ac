/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * VM passports (docs/passport.md): the VM, not its host, as the thing a
 * destination judges.  QEMU's destination builds its cpreg list from its
 * own KVM_GET_REG_LIST and writes the incoming values with
 * KVM_SET_ONE_REG; KVM keeps what it takes, and the next migration sends
 * those values on.  So a VM evacuated from an old host to a new one still
 * carries the old host's ID registers and PSCI version, and a rollback
 * that the host pair refuses may load (measured: tests/vm/migrate-pairs.txt,
 * the chains).  A passport is born from a host inventory and the VM's
 * options, and is rewritten at every hop as the destination's kernel
 * would leave the VM (the kernel model, or the live trial read back).
 */
#include "config.h"

#include <endian.h>
#include <inttypes.h>
#include <stdio.h>

#include <nettle/sha2.h>

#include "cpreg-internal.h"
#include "json-rd.h"
#include "jsonw.h"

struct preg {
	uint64_t id;
	uint64_t value;
	bool carried;   /* the value decides (cpreg_id_value_decided) and is known */
};

/* The birth host (from empty) or one hop: where from, where to, when, and who that host was. */
struct place {
	char from[CPREG_DIGEST_LEN], to[CPREG_DIGEST_LEN];
	char *time, *hostname, *kernel, *qemu;
};

struct cpreg_passport {
	int refcount;
	struct preg *regs;        /* ascending id, migrated registers only */
	size_t n_regs;
	struct cpreg_vm_options vm;
	uint32_t features;        /* the VM's vCPU features: its current host's, less what the options turn off */
	bool has_vls;
	uint64_t vls[8];
	struct place born;
	struct place *hops;
	size_t n_hops;
	char digest[CPREG_DIGEST_LEN];
};

static void place_clear(struct place *pl)
{
	free(pl->time);
	free(pl->hostname);
	free(pl->kernel);
	free(pl->qemu);
	memset(pl, 0, sizeof(*pl));
}

struct cpreg_passport *cpreg_passport_ref(struct cpreg_passport *p)
{
	if (p)
		cpreg_ref_inc(&p->refcount);
	return p;
}

struct cpreg_passport *cpreg_passport_unref(struct cpreg_passport *p)
{
	if (!p || cpreg_ref_dec(&p->refcount) > 0)
		return NULL;
	place_clear(&p->born);
	for (size_t i = 0; i < p->n_hops; i++)
		place_clear(&p->hops[i]);
	free(p->hops);
	free(p->regs);
	free(p);
	return NULL;
}

static struct cpreg_passport *passport_new(void)
{
	struct cpreg_passport *p = calloc(1, sizeof(*p));

	if (p)
		p->refcount = 1;
	return p;
}

static int dup_text(char **dst, const char *s)
{
	*dst = NULL;
	return s && !(*dst = strdup(s)) ? -ENOMEM : 0;
}

/* A place for the host of inventory inv at time. */
static int place_of(struct place *pl, const char *from, const struct cpreg_inventory *inv, const char *time)
{
	snprintf(pl->from, sizeof(pl->from), "%s", from ? from : "");
	cpreg_inventory_digest(inv, pl->to, sizeof(pl->to));
	if (dup_text(&pl->time, time) < 0 || dup_text(&pl->hostname, cpreg_inventory_get_text(inv, CPREG_TEXT_HOSTNAME)) < 0 ||
	    dup_text(&pl->kernel, cpreg_inventory_get_text(inv, CPREG_TEXT_KERNEL)) < 0 ||
	    dup_text(&pl->qemu, cpreg_inventory_get_text(inv, CPREG_TEXT_QEMU_VERSION)) < 0)
		return -ENOMEM;
	return 0;
}

static int place_copy(struct place *dst, const struct place *src)
{
	memcpy(dst->from, src->from, sizeof(dst->from));
	memcpy(dst->to, src->to, sizeof(dst->to));
	if (dup_text(&dst->time, src->time) < 0 || dup_text(&dst->hostname, src->hostname) < 0 ||
	    dup_text(&dst->kernel, src->kernel) < 0 || dup_text(&dst->qemu, src->qemu) < 0)
		return -ENOMEM;
	return 0;
}

static const struct place *current(const struct cpreg_passport *p)
{
	return p->n_hops ? &p->hops[p->n_hops - 1] : &p->born;
}

/* ---- the digest: SHA-256 over the content in a fixed binary form (docs/passport.md) ---- */

static void hash_u64(struct sha256_ctx *s, uint64_t v)
{
	uint64_t le = htole64(v);

	sha256_update(s, 8, (const uint8_t *)&le);
}

/* A string as its length and bytes; absent is length 2^64-1. */
static void hash_str(struct sha256_ctx *s, const char *t)
{
	hash_u64(s, t ? strlen(t) : UINT64_MAX);
	if (t)
		sha256_update(s, strlen(t), (const uint8_t *)t);
}

static void hash_place(struct sha256_ctx *s, const struct place *pl)
{
	hash_str(s, pl->from);
	hash_str(s, pl->to);
	hash_str(s, pl->time);
	hash_str(s, pl->hostname);
	hash_str(s, pl->kernel);
	hash_str(s, pl->qemu);
}

static void compute_digest(const struct cpreg_passport *p, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	struct sha256_ctx s;
	uint8_t out[SHA256_DIGEST_SIZE];

	sha256_init(&s);
	hash_str(&s, CPREG_PASSPORT_SCHEMA);
	hash_u64(&s, p->n_regs);
	for (size_t i = 0; i < p->n_regs; i++) {
		hash_u64(&s, p->regs[i].id);
		hash_u64(&s, p->regs[i].carried);
		hash_u64(&s, p->regs[i].carried ? p->regs[i].value : 0);
	}
	hash_u64(&s, p->vm.psci_version);
	hash_u64(&s, p->vm.disable);
	hash_u64(&s, p->vm.sve_max_vq);
	hash_u64(&s, p->features);
	hash_u64(&s, p->has_vls);
	for (size_t i = 0; p->has_vls && i < 8; i++)
		hash_u64(&s, p->vls[i]);
	hash_place(&s, &p->born);
	hash_u64(&s, p->n_hops);
	for (size_t i = 0; i < p->n_hops; i++)
		hash_place(&s, &p->hops[i]);
	sha256_digest(&s, sizeof(out), out);
	memcpy(buf, "sha256:", 7);
	for (int i = 0; i < 32; i++) {
		buf[7 + 2 * i] = hex[out[i] >> 4];
		buf[8 + 2 * i] = hex[out[i] & 15];
	}
	buf[7 + 64] = '\0';
}

/* ---- born, and after a hop ---- */

/* The registers of the VM's vCPU on a host: the list of vcpu (migrated ids), the deciding values known. */
static int regs_of(struct cpreg_passport *p, const struct cpreg_inventory *vcpu)
{
	size_t n = 0;

	p->regs = calloc(cpreg_inventory_count(vcpu) + 1, sizeof(*p->regs));
	if (!p->regs)
		return -ENOMEM;
	for (size_t i = 0; i < cpreg_inventory_count(vcpu); i++) {
		const struct cpreg_reg *r = cpreg_inventory_at(vcpu, i);

		if (!cpreg_id_migrates(r->id))
			continue;
		p->regs[n].id = r->id;
		p->regs[n].carried = cpreg_id_value_decided(r->id) && r->state == CPREG_VALUE;
		p->regs[n].value = p->regs[n].carried ? r->value : 0;
		n++;
	}
	p->n_regs = n;
	return 0;
}

static void take_vcpu_facts(struct cpreg_passport *p, const struct cpreg_inventory *vcpu)
{
	const uint64_t *vls = cpreg_inventory_sve_vls(vcpu);

	p->features = cpreg_inventory_features(vcpu);
	p->has_vls = vls && (p->features & (1u << CPREG_FEAT_SVE));
	if (p->has_vls)
		memcpy(p->vls, vls, sizeof(p->vls));
}

int cpreg_passport_born(const struct cpreg_inventory *host, const struct cpreg_vm_options *vm, const char *time,
			struct cpreg_passport **ret)
{
	struct cpreg_inventory *vcpu = NULL;
	struct cpreg_passport *p;
	int r;

	if (!host || !ret)
		return -EINVAL;
	p = passport_new();
	if (!p)
		return -ENOMEM;
	if (vm)
		p->vm = *vm;
	/* The VM's vCPU on its birth host: the host's "-cpu host" with the VM's options applied, as QEMU migrates it. */
	if ((r = cpreg_inventory_copy(host, &vcpu)) < 0 || (r = cpreg_inventory_apply_vm_options(vcpu, &p->vm)) < 0 ||
	    (r = regs_of(p, vcpu)) < 0 || (r = place_of(&p->born, NULL, host, time)) < 0)
		goto out;
	take_vcpu_facts(p, vcpu);
	compute_digest(p, p->digest);
	*ret = TAKE_PTR(p);
	r = 0;
out:
	cpreg_inventory_unref(vcpu);
	cpreg_passport_unref(p);
	return r;
}

static const struct preg *find_reg(const struct cpreg_passport *p, uint64_t id)
{
	size_t lo = 0, hi = p->n_regs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->regs[mid].id == id)
			return &p->regs[mid];
		if (p->regs[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/*
 * The kernel model's answer for the VM's vCPU on the destination after
 * QEMU's write-back (into vcpu, a copy of dview): each incoming deciding
 * value the kernel takes stays; one it ignores (AArch32 ID registers on a
 * host without AArch32 EL0) or refuses (a tolerance let the migration go
 * on) leaves the destination's.  Each write is judged against the host's
 * own vCPU (dview), as KVM checks against the host's limits, not against
 * values written before.
 */
static void model_after(const struct cpreg_passport *p, const struct cpreg_inventory *dview,
			struct cpreg_inventory *vcpu)
{
	for (size_t i = 0; i < vcpu->n_regs; i++) {
		struct cpreg_reg *d = &vcpu->regs[i];
		const struct preg *in = find_reg(p, d->id);
		struct cpreg_kernel_answer a;

		if (!in || !in->carried || d->state != CPREG_VALUE || in->value == d->value)
			continue;
		if (cpreg_kernel_judge_outcome(dview, &dview->regs[i], d->id, in->value, &a) == 0 &&
		    a.outcome == CPREG_OUT_OK && a.rule != CPREG_RULE_AA32_WI)
			d->value = in->value;
	}
	vcpu->digest_ok = false;
}

static int copy_places(struct cpreg_passport *n, const struct cpreg_passport *p)
{
	if (place_copy(&n->born, &p->born) < 0 || !(n->hops = calloc(p->n_hops + 1, sizeof(*n->hops))))
		return -ENOMEM;
	for (; n->n_hops < p->n_hops; n->n_hops++)
		if (place_copy(&n->hops[n->n_hops], &p->hops[n->n_hops]) < 0)
			return -ENOMEM;
	return 0;
}

int cpreg_passport_hop(const struct cpreg_passport *p, const struct cpreg_inventory *destination,
		       const struct cpreg_inventory *after, const char *time, struct cpreg_passport **ret)
{
	struct cpreg_vm_options dvm;
	struct cpreg_inventory *dview = NULL, *vcpu = NULL;
	struct cpreg_passport *n;
	int r;

	if (!p || !destination || !ret)
		return -EINVAL;
	n = passport_new();
	if (!n)
		return -ENOMEM;
	n->vm = p->vm;
	dvm = cpreg_vm_destination_options(&p->vm);
	/* The destination QEMU's vCPU for this VM: that host's features, less what the VM's options turn off. */
	if ((r = cpreg_inventory_copy(destination, &dview)) < 0 || (r = cpreg_inventory_apply_vm_options(dview, &dvm)) < 0)
		goto out;
	if (after)
		vcpu = cpreg_inventory_ref((struct cpreg_inventory *)after);
	else if ((r = cpreg_inventory_copy(dview, &vcpu)) >= 0)
		model_after(p, dview, vcpu);
	if (r < 0 || (r = regs_of(n, vcpu)) < 0 || (r = copy_places(n, p)) < 0 ||
	    (r = place_of(&n->hops[n->n_hops], current(p)->to, destination, time)) < 0)
		goto out;
	n->n_hops++;
	take_vcpu_facts(n, dview);
	compute_digest(n, n->digest);
	*ret = TAKE_PTR(n);
	r = 0;
out:
	cpreg_inventory_unref(dview);
	cpreg_inventory_unref(vcpu);
	cpreg_passport_unref(n);
	return r;
}

int cpreg_passport_source(const struct cpreg_passport *p, const struct cpreg_inventory *destination,
			  struct cpreg_inventory **ret)
{
	struct cpreg_inventory *s;
	const struct place *here;
	int r = 0;

	if (!p || !ret)
		return -EINVAL;
	s = cpreg_inventory_new();
	if (!s)
		return -ENOMEM;
	here = current(p);
	for (size_t i = 0; r >= 0 && i < p->n_regs; i++) {
		const struct cpreg_reg *d = destination ? cpreg_inventory_find(destination, p->regs[i].id) : NULL;
		struct cpreg_reg reg = { .id = p->regs[i].id, .value = p->regs[i].value };

		/* A value that does not decide: whatever the VM holds, the destination takes it; its own shows no difference. */
		if (!p->regs[i].carried && d)
			reg = *d;
		r = cpreg_inventory_add(s, &reg);
	}
	if (r >= 0 && here->hostname)
		r = cpreg_inventory_set_text(s, CPREG_TEXT_HOSTNAME, here->hostname);
	if (r >= 0 && here->kernel)
		r = cpreg_inventory_set_text(s, CPREG_TEXT_KERNEL, here->kernel);
	if (r >= 0 && here->qemu)
		r = cpreg_inventory_set_text(s, CPREG_TEXT_QEMU_VERSION, here->qemu);
	if (r >= 0)
		r = cpreg_inventory_set_number(s, CPREG_NUM_VCPU_FEATURES, p->features);
	if (r >= 0 && p->has_vls)
		r = cpreg_inventory_set_sve_vls(s, p->vls);
	if (r < 0) {
		cpreg_inventory_unref(s);
		return r;
	}
	/* The verdict's source is this VM: its digest is the passport's, not that of a host. */
	cpreg_inventory_seal(s);
	memcpy(s->digest, p->digest, sizeof(s->digest));
	*ret = s;
	return 0;
}

/* ---- accessors ---- */

const char *cpreg_passport_digest(const struct cpreg_passport *p)
{
	return p ? p->digest : NULL;
}

const char *cpreg_passport_born_digest(const struct cpreg_passport *p)
{
	return p ? p->born.to : NULL;
}

const char *cpreg_passport_current_digest(const struct cpreg_passport *p)
{
	return p ? current(p)->to : NULL;
}

size_t cpreg_passport_hop_count(const struct cpreg_passport *p)
{
	return p ? p->n_hops : 0;
}

int cpreg_passport_hop_at(const struct cpreg_passport *p, size_t i, const char **ret_to, const char **ret_time)
{
	if (!p || i >= p->n_hops)
		return -ENOENT;
	if (ret_to)
		*ret_to = p->hops[i].to;
	if (ret_time)
		*ret_time = p->hops[i].time;
	return 0;
}

void cpreg_passport_options(const struct cpreg_passport *p, struct cpreg_vm_options *ret)
{
	if (ret)
		*ret = p ? p->vm : (struct cpreg_vm_options){ 0 };
}

size_t cpreg_passport_count(const struct cpreg_passport *p)
{
	return p ? p->n_regs : 0;
}

int cpreg_passport_reg_at(const struct cpreg_passport *p, size_t i, uint64_t *ret_id, uint64_t *ret_value,
			  bool *ret_carried)
{
	if (!p || i >= p->n_regs)
		return -ENOENT;
	if (ret_id)
		*ret_id = p->regs[i].id;
	if (ret_value)
		*ret_value = p->regs[i].value;
	if (ret_carried)
		*ret_carried = p->regs[i].carried;
	return 0;
}

/* ---- JSON ---- */

static void write_place(struct jw *w, const char *key, const struct place *pl, bool hop)
{
	jw_object(w, key);
	if (hop) {
		jw_string(w, "from", pl->from);
		jw_string(w, "to", pl->to);
	} else {
		jw_string(w, "digest", pl->to);
	}
	if (pl->time)
		jw_string(w, "time", pl->time);
	if (pl->hostname)
		jw_string(w, "hostname", pl->hostname);
	if (pl->kernel)
		jw_string(w, "kernel", pl->kernel);
	if (pl->qemu)
		jw_string(w, "qemu", pl->qemu);
	jw_end_object(w);
}

int cpreg_passport_to_json(const struct cpreg_passport *p, char **ret_text)
{
	struct jw w = { .first = true };
	char name[48], line[160];

	if (!p || !ret_text)
		return -EINVAL;
	jw_object(&w, NULL);
	jw_string(&w, "schema", CPREG_PASSPORT_SCHEMA);
	jw_string(&w, "digest", p->digest);
	write_place(&w, "born", &p->born, false);
	jw_array(&w, "hops");
	for (size_t i = 0; i < p->n_hops; i++)
		write_place(&w, NULL, &p->hops[i], true);
	jw_end_array(&w);
	cpreg_vm_options_json(&w, "options", &p->vm);
	jw_array(&w, "vcpu_features");
	for (unsigned b = 0; b < 32; b++)
		if (p->features & (1u << b) && cpreg_feature_name(b))
			jw_string(&w, NULL, cpreg_feature_name(b));
	jw_end_array(&w);
	if (p->has_vls) {
		jw_array(&w, "sve_vector_lengths");
		for (size_t i = 0; i < 8; i++)
			jw_hex(&w, NULL, p->vls[i]);
		jw_end_array(&w);
	}
	/* Which values travel: only those a kernel rule or a tolerance decides (docs/passport.md). */
	jw_string(&w, "values", "decided");
	jw_array(&w, "registers");
	/* One register a line, as in an inventory (names are [A-Za-z0-9_[\]]: nothing to escape). */
	for (size_t i = 0; i < p->n_regs; i++) {
		int n = snprintf(line, sizeof(line), "{\"id\": \"0x%016" PRIx64 "\"", p->regs[i].id);

		if (cpreg_id_name(p->regs[i].id, name, sizeof(name)) >= 0 && !strpbrk(name, "\"\\"))
			n += snprintf(line + n, sizeof(line) - (size_t)n, ", \"name\": \"%s\"", name);
		if (p->regs[i].carried)
			n += snprintf(line + n, sizeof(line) - (size_t)n, ", \"value\": \"0x%" PRIx64 "\"", p->regs[i].value);
		snprintf(line + n, sizeof(line) - (size_t)n, "}");
		jw_raw(&w, NULL, line);
	}
	jw_end_array(&w);
	jw_end_object(&w);
	return jw_finish_text(&w, ret_text);
}

/* A member that must be there. */
static int need(struct rd *rd, json_object *o, const char *key, json_object **ret)
{
	if (!json_object_object_get_ex(o, key, ret))
		return rd_fail(rd, -EINVAL, "missing");
	return 0;
}

static int read_text(struct rd *rd, json_object *o, const char *key, char **ret)
{
	json_object *f;
	const char *s;
	int r;

	rd->sub = key;
	if (!json_object_object_get_ex(o, key, &f))
		return 0;
	if ((r = rd_str(rd, f, 256, &s)) < 0)
		return r;
	return dup_text(ret, s) < 0 ? rd_fail(rd, -ENOMEM, "out of memory") : 0;
}

static int read_digest(struct rd *rd, json_object *o, const char *key, char *buf)
{
	json_object *f;
	const char *s;
	int r;

	rd->sub = key;
	if ((r = need(rd, o, key, &f)) < 0 || (r = rd_str(rd, f, CPREG_DIGEST_LEN - 1, &s)) < 0)
		return r;
	if (strncmp(s, "sha256:", 7) != 0 || strlen(s) != 71 || strspn(s + 7, "0123456789abcdef") != 64)
		return rd_fail(rd, -EINVAL, "\"%s\" is not a digest such as \"sha256:<64 hex digits>\"", s);
	memcpy(buf, s, 72);
	return 0;
}

/* born: {digest, time, hostname, kernel, qemu}; a hop: {from, to, ...}. */
static int read_place(struct rd *rd, json_object *o, struct place *pl, bool hop)
{
	int r;

	if ((r = rd_want(rd, o, json_type_object)) < 0)
		return r;
	if (hop && ((r = read_digest(rd, o, "from", pl->from)) < 0 || (r = read_digest(rd, o, "to", pl->to)) < 0))
		return r;
	if (!hop && (r = read_digest(rd, o, "digest", pl->to)) < 0)
		return r;
	if ((r = read_text(rd, o, "time", &pl->time)) < 0 || (r = read_text(rd, o, "hostname", &pl->hostname)) < 0 ||
	    (r = read_text(rd, o, "kernel", &pl->kernel)) < 0 || (r = read_text(rd, o, "qemu", &pl->qemu)) < 0)
		return r;
	rd->sub = NULL;
	return 0;
}

/* hops: each leaves the host the one before reached (the first, the birth host), in time order. */
static int read_hops(struct rd *rd, json_object *o, struct cpreg_passport *p)
{
	size_t n;
	int r;

	rd_at(rd, "", "hops", 0);
	if ((r = rd_want(rd, o, json_type_array)) < 0)
		return r;
	n = json_object_array_length(o);
	if (n > CPREG_PASSPORT_MAX_HOPS)
		return rd_fail(rd, -E2BIG, "%zu hops, more than the %d a passport keeps", n, CPREG_PASSPORT_MAX_HOPS);
	if (n && !(p->hops = calloc(n, sizeof(*p->hops))))
		return rd_fail(rd, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const struct place *prev = current(p);
		struct place *h = &p->hops[i];

		rd_at(rd, "hops", NULL, (long)i);
		p->n_hops = i + 1;
		if ((r = read_place(rd, json_object_array_get_idx(o, i), h, true)) < 0)
			return r;
		if (strcmp(h->from, prev->to) != 0) {
			rd->sub = "from";
			return rd_fail(rd, -EINVAL, "\"%s\" is not where the VM was: the %s reached \"%s\"", h->from,
				       i ? "hop before" : "birth host", prev->to);
		}
		if (h->time && prev->time && strlen(h->time) == strlen(prev->time) && strcmp(h->time, prev->time) < 0) {
			rd->sub = "time";
			return rd_fail(rd, -EINVAL, "%s is before the %s (%s)", h->time, i ? "hop before" : "birth",
				       prev->time);
		}
	}
	return 0;
}

/* options: the table's JSON keys (lib/vmopts.c) and qemu_cpu, which must say the same. */
static int read_options(struct rd *rd, json_object *o, struct cpreg_vm_options *vm)
{
	const char *qemu = NULL;
	char mine[160];
	int r;

	rd_at(rd, "", "options", 0);
	if ((r = rd_want(rd, o, json_type_object)) < 0)
		return r;
	json_object_object_foreach(o, key, val) {
		const struct cpreg_vm_option *opt = NULL;
		struct cpreg_error e = { 0 };
		char v[128];

		rd_at(rd, "options", key, 0);
		if (strcmp(key, "qemu_cpu") == 0) {
			if ((r = rd_str(rd, val, 159, &qemu)) < 0)
				return r;
			continue;
		}
		for (size_t i = 0; i < cpreg_vm_option_count() && !opt; i++)
			if (strcmp(key, cpreg_vm_option_at(i)->json ? cpreg_vm_option_at(i)->json : cpreg_vm_option_at(i)->key) == 0)
				opt = cpreg_vm_option_at(i);
		if (!opt) {
			cpreg_vm_option_names(false, v, sizeof(v));
			return rd_fail(rd, -EINVAL, "unknown VM option (known: qemu_cpu, %s)", v);
		}
		if (json_object_is_type(val, json_type_null))
			continue;
		if (opt->kind == CPREG_VMOPT_SWITCH) {
			if ((r = rd_want(rd, val, json_type_boolean)) < 0)
				return r;
			snprintf(v, sizeof(v), "%s", json_object_get_boolean(val) ? "on" : "off");
		} else if (opt->kind == CPREG_VMOPT_VQ) {
			int64_t q;

			if ((r = rd_int(rd, val, opt->min, opt->max, &q)) < 0)
				return r;
			snprintf(v, sizeof(v), "%" PRId64, q);
		} else {
			const char *s;

			if ((r = rd_str(rd, val, 16, &s)) < 0)
				return r;
			snprintf(v, sizeof(v), "%s", s);
		}
		if (cpreg_vm_option_set(vm, opt, v, &e) < 0)
			return rd_fail(rd, -EINVAL, "%s", e.message);
	}
	cpreg_vm_options_qemu(vm, mine, sizeof(mine));
	if (qemu && strcmp(qemu, mine) != 0) {
		rd_at(rd, "options", "qemu_cpu", 0);
		return rd_fail(rd, -EINVAL, "\"%s\" does not say what the other members say (\"%s\")", qemu, mine);
	}
	return 0;
}

/* registers: ascending unique migrated ids; a value exactly where one decides. */
static int read_regs(struct rd *rd, json_object *o, struct cpreg_passport *p)
{
	size_t n;
	int r;

	rd_at(rd, "", "registers", 0);
	if ((r = rd_want(rd, o, json_type_array)) < 0)
		return r;
	n = json_object_array_length(o);
	if (!(p->regs = calloc(n + 1, sizeof(*p->regs))))
		return rd_fail(rd, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(o, i), *f;
		struct preg *x = &p->regs[i];

		rd_at(rd, "registers", NULL, (long)i);
		if ((r = rd_want(rd, e, json_type_object)) < 0)
			return r;
		rd->sub = "id";
		if ((r = need(rd, e, "id", &f)) < 0 || (r = rd_hex(rd, f, &x->id)) < 0)
			return r;
		if (!cpreg_id_migrates(x->id))
			return rd_fail(rd, -EINVAL, "0x%016" PRIx64 " is not a register QEMU migrates", x->id);
		if (i && x->id <= p->regs[i - 1].id)
			return rd_fail(rd, -EINVAL, "0x%016" PRIx64 " is out of ascending order or listed twice", x->id);
		rd->sub = "value";
		if (json_object_object_get_ex(e, "value", &f)) {
			if (!cpreg_id_value_decided(x->id))
				return rd_fail(rd, -EINVAL, "a value for a register whose value does not decide (a passport "
					       "carries only the values a kernel rule or a tolerance decides)");
			if ((r = rd_hex(rd, f, &x->value)) < 0)
				return r;
			x->carried = true;
		}
		p->n_regs = i + 1;
	}
	return 0;
}

static int read_passport(struct rd *rd, json_object *root, struct cpreg_passport *p)
{
	json_object *o;
	const char *s;
	int r;

	if ((r = rd_want(rd, root, json_type_object)) < 0)
		return r;
	rd_at(rd, "", "schema", 0);
	if ((r = need(rd, root, "schema", &o)) < 0 || (r = rd_str(rd, o, 64, &s)) < 0)
		return r;
	if (strcmp(s, CPREG_PASSPORT_SCHEMA) != 0)
		return rd_fail(rd, -EPROTONOSUPPORT, "unknown schema \"%s\"; this reader takes \"%s\"", s,
			       CPREG_PASSPORT_SCHEMA);
	rd_at(rd, "", "born", 0);
	if ((r = need(rd, root, "born", &o)) < 0 || (r = read_place(rd, o, &p->born, false)) < 0)
		return r;
	rd_at(rd, "", "hops", 0);
	if (json_object_object_get_ex(root, "hops", &o) && (r = read_hops(rd, o, p)) < 0)
		return r;
	rd_at(rd, "", "options", 0);
	if (json_object_object_get_ex(root, "options", &o) && (r = read_options(rd, o, &p->vm)) < 0)
		return r;
	rd_at(rd, "", "vcpu_features", 0);
	if ((r = need(rd, root, "vcpu_features", &o)) < 0 || (r = rd_features(rd, o, "vcpu_features", &p->features)) < 0)
		return r;
	if (json_object_object_get_ex(root, "sve_vector_lengths", &o)) {
		if ((r = rd_vls(rd, o, "sve_vector_lengths", p->vls)) < 0)
			return r;
		p->has_vls = true;
	}
	rd_at(rd, "", "values", 0);
	if (json_object_object_get_ex(root, "values", &o) &&
	    ((r = rd_str(rd, o, 32, &s)) < 0 || (strcmp(s, "decided") != 0 &&
					       (r = rd_fail(rd, -EINVAL, "\"%s\": this reader takes \"decided\"", s)) < 0)))
		return r;
	rd_at(rd, "", "registers", 0);
	if ((r = need(rd, root, "registers", &o)) < 0 || (r = read_regs(rd, o, p)) < 0)
		return r;
	compute_digest(p, p->digest);
	rd_at(rd, "", "digest", 0);
	if ((r = need(rd, root, "digest", &o)) < 0 || (r = rd_str(rd, o, 80, &s)) < 0)
		return r;
	if (strcmp(s, p->digest) != 0)
		return rd_fail(rd, -EBADMSG, "\"%s\" is not the passport's own (its content gives \"%s\")", s, p->digest);
	return 0;
}

int cpreg_passport_from_tree(json_object *root, struct cpreg_passport **ret, struct cpreg_error *err)
{
	struct rd rd = { .err = err, .prefix = "", .key = "" };
	struct cpreg_passport *p = passport_new();
	int r;

	if (!p)
		return cpreg_err(err, -ENOMEM, "", "out of memory");
	r = read_passport(&rd, root, p);
	if (r < 0) {
		cpreg_passport_unref(p);
		return r;
	}
	*ret = p;
	return 0;
}

int cpreg_passport_from_json(const char *text, size_t len, struct cpreg_passport **ret, struct cpreg_error *err)
{
	json_object *root = NULL;
	int r;

	if (!text || !ret)
		return cpreg_err(err, -EINVAL, "", "no document");
	if ((r = cpreg_json_parse(text, len, &root, err)) < 0)
		return r;
	r = cpreg_passport_from_tree(root, ret, err);
	json_object_put(root);
	return r;
}

int cpreg_passport_load(const char *path, struct cpreg_passport **ret, struct cpreg_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	if ((r = cpreg_read_file(path, CPREG_JSON_MAX, &text, &len, err)) < 0)
		return r;
	if ((r = cpreg_passport_from_json(text, len, ret, err)) < 0)
		cpreg_err_prefix(err, path);
	return r;
}

/* ---- either kind of source ---- */

/* Is the document's top-level "schema" the passport's?  Only a look: the readers check everything. */
static bool says_passport(const char *text, size_t len)
{
	static const char want[] = "\"" CPREG_PASSPORT_SCHEMA "\"";

	return memmem(text, len, want, sizeof(want) - 1) != NULL;
}

int cpreg_source_from_json(const char *text, size_t len, struct cpreg_inventory **ret_inv,
			   struct cpreg_passport **ret_passport, struct cpreg_error *err)
{
	struct cpreg_inventory *inv = NULL;
	int r;

	if (!text || !ret_inv || !ret_passport)
		return cpreg_err(err, -EINVAL, "", "no document");
	*ret_inv = NULL;
	*ret_passport = NULL;
	r = cpreg_inventory_from_json(text, len, &inv, err);
	if (r == -EPROTONOSUPPORT && says_passport(text, len)) {
		if (err)
			memset(err, 0, sizeof(*err));
		return cpreg_passport_from_json(text, len, ret_passport, err);
	}
	if (r < 0)
		return r;
	*ret_inv = inv;
	return 0;
}

int cpreg_source_load(const char *path, struct cpreg_inventory **ret_inv, struct cpreg_passport **ret_passport,
		      struct cpreg_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	if ((r = cpreg_read_file(path, CPREG_JSON_MAX, &text, &len, err)) < 0)
		return r;
	if ((r = cpreg_source_from_json(text, len, ret_inv, ret_passport, err)) < 0)
		cpreg_err_prefix(err, path);
	return r;
}
