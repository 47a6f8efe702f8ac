/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A verdict's findings: added, named, and worded when first read (QEMU's
 * own sentences where it prints one, the kernel model's reasons
 * otherwise).  Below the check that judges and the verdict object that
 * holds them: it calls neither (verdict.h).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "verdict.h"


const char legacy_tail[] = "legacy-dropped-tail";
const char oom_message[] = "(out of memory)";

const char *const kind_names[] = {
	[CPREG_FIND_COUNT_EXCEEDED] = "count-exceeded",
	[CPREG_FIND_ONLY_IN_SOURCE] = "only-in-source",
	[CPREG_FIND_ONLY_IN_DESTINATION] = "only-in-destination",
	[CPREG_FIND_VALUE_DIFFERS] = "value-differs",
	[CPREG_FIND_VCPU_FEATURE] = "vcpu-feature",
};
const char *const outcome_names[] = {
	[CPREG_OUT_OK] = "ok", [CPREG_OUT_TOLERATED] = "tolerated",
	[CPREG_OUT_UNKNOWN] = "unknown", [CPREG_OUT_FAIL] = "fail",
};
const char *const result_names[] = {
	[CPREG_COMPATIBLE] = "compatible", [CPREG_INCOMPATIBLE] = "incompatible",
	[CPREG_UNDECIDED] = "undecided",
};

const char *cpreg_finding_kind_name(enum cpreg_finding_kind k)
{
	return (unsigned)k < ARRAY_SIZE(kind_names) ? kind_names[k] : NULL;
}

const char *cpreg_outcome_name(enum cpreg_outcome o)
{
	return (unsigned)o < ARRAY_SIZE(outcome_names) ? outcome_names[o] : NULL;
}

const char *cpreg_result_name(enum cpreg_result r)
{
	return (unsigned)r < ARRAY_SIZE(result_names) ? result_names[r] : NULL;
}

struct cpreg_finding *verdict_add_finding(struct cpreg_verdict *v, uint64_t id, enum cpreg_finding_kind kind)
{
	struct cpreg_finding *f;

	if (v->n == v->cap || !v->how) {
		size_t ncap = v->n < v->cap ? v->cap : v->cap ? v->cap * 2 : 64;
		struct cpreg_finding *n = reallocarray(v->f, ncap, sizeof(*n));
		uint8_t *h;

		if (!n)
			return NULL;
		v->f = n;
		if (!(h = realloc(v->how, ncap)))
			return NULL;
		if (!v->how)
			memset(h, HOW_DONE, v->n);   /* a verdict read from JSON: its findings are worded */
		v->how = h;
		v->cap = ncap;
	}
	v->how[v->n] = id ? HOW_NAME : HOW_DONE;
	if (id)
		v->all_done = 0;        /* a finding added after the others were read (the trial's) */
	f = &v->f[v->n++];
	memset(f, 0, sizeof(*f));
	f->id = id;
	f->kind = kind;
	return f;
}

/* Word finding f now (replacing any words it had). */
void finding_msg(struct cpreg_finding *f, const char *fmt, ...)
{
	char text[CPREG_MESSAGE_MAX + 1], *copy;
	va_list ap;
	int n;

	/* Cut at the length the verdict reader takes back. */
	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	n = n < 0 ? 0 : n > CPREG_MESSAGE_MAX ? CPREG_MESSAGE_MAX : n;
	if ((copy = malloc((size_t)n + 1))) {
		memcpy(copy, text, (size_t)n);
		copy[n] = '\0';
	}
	if (f->message != oom_message)
		free((char *)f->message);
	f->message = copy ? copy : oom_message;
}

/* Word finding i of v later, when it is first read. */

void verdict_qemu_reg_name(uint64_t id, char *buf, size_t len)
{
	struct cpreg_enc e = cpreg_sysreg_enc(id);
	size_t off = 0;

	buf[0] = '\0';
	switch (CPREG_ID_GROUP(id)) {
	case CPREG_GROUP_SYSREG:
		off = cpreg_put(buf, len, off, "op0:");
		off = cpreg_put_i64(buf, len, off, e.op0);
		off = cpreg_put(buf, len, off, " op1:");
		off = cpreg_put_i64(buf, len, off, e.op1);
		off = cpreg_put(buf, len, off, " crn:");
		off = cpreg_put_i64(buf, len, off, e.crn);
		off = cpreg_put(buf, len, off, " crm:");
		off = cpreg_put_i64(buf, len, off, e.crm);
		off = cpreg_put(buf, len, off, " op2:");
		cpreg_put_i64(buf, len, off, e.op2);
		break;
	case CPREG_GROUP_FW:
		cpreg_put_i64(buf, len, cpreg_put(buf, len, 0, "fw reg "), (int64_t)(id & 0xffff));
		break;
	case CPREG_GROUP_FW_FEAT:
		cpreg_put_i64(buf, len, cpreg_put(buf, len, 0, "fw feat reg "), (int64_t)(id & 0xffff));
		break;
	case CPREG_GROUP_DEMUX:
		cpreg_put_i64(buf, len, cpreg_put(buf, len, 0, "demux reg "), (int64_t)(id & 0xffff));
		break;
	default:
		snprintf(buf, len, "0x%016" PRIx64, id);
	}
}

/* QEMU's words when the kernel refuses a value (kvm_arm_cpreg_level / write_list_to_kvmstate). */
static void write_refused(struct cpreg_finding *f, const char *why)
{
	char text[CPREG_MESSAGE_MAX + 1];
	size_t off;

	verdict_qemu_reg_name(f->id, text, sizeof(text));
	off = cpreg_put(text, sizeof(text), strlen(text), " to ");
	off = cpreg_put_hex(text, sizeof(text), off, f->source_value);
	off = cpreg_put(text, sizeof(text), off, " (is ");
	off = cpreg_put_hex(text, sizeof(text), off, f->destination_value);
	off = cpreg_put(text, sizeof(text), off, "): ");
	cpreg_put(text, sizeof(text), off, why);
	finding_msg(f, "Could not set register %s", text);
}

/* Finding i's words, from how check_core judged it (its name is written already). */
static void word(struct cpreg_verdict *v, size_t i, const struct cpreg_inventory *dst)
{
	struct cpreg_finding *f = &v->f[i];
	struct cpreg_kernel_answer a;

	switch (v->how[i] & HOW_MASK) {
	case HOW_LEGACY_TAIL:
		finding_msg(f, "sorts after the destination's last register: QEMU before 11.1 drops it silently "
		    "(a bug fixed in 11.1)");
		break;
	case HOW_LEGACY_FAIL:
		finding_msg(f, "register in their list but not ours: fail migration "
		    "(error while loading state for instance 0x0 of device 'cpu')");
		break;
	case HOW_SRC_TOL_BOTH:
		finding_msg(f, "in the incoming stream but unknown on the destination: tolerated (%s)", f->tolerance);
		break;
	case HOW_SRC_TOL_VALUE:
		finding_msg(f, "in the incoming stream but unknown on the destination: tolerated, its value 0x%" PRIx64
		    " passes %s", f->source_value, f->tolerance);
		break;
	case HOW_SRC_FAIL:
		finding_msg(f, "%s (0x%016" PRIx64 ") in the incoming stream but unknown on the destination: fail migration",
		    f->name, f->id);
		break;
	case HOW_DST_TOL:
		finding_msg(f, "expected by the destination but not in the incoming stream: tolerated (%s)", f->tolerance);
		break;
	case HOW_DST_OK:
		finding_msg(f, "expected by the destination but not in the incoming stream: skip it");
		break;
	case HOW_DST_OK_LEGACY:
		finding_msg(f, "register in our list but not incoming: it keeps its reset value");
		break;
	case HOW_UNREADABLE:
		finding_msg(f, "not readable on the %s, so not compared", f->has_source ? "destination" : "source");
		break;
	case HOW_JUDGE:
		/* The kernel model again, with words: the same destination gives the same answer. */
		if (dst && cpreg_kernel_judge(dst, f->id, f->source_value, &a) == 0) {
			if (a.outcome == CPREG_OUT_FAIL)
				write_refused(f, a.why);
			else
				finding_msg(f, "%s", a.why);
			break;
		}
		/* fall through */
	case HOW_NOT_LISTED:
		finding_msg(f, "not listed on the destination");
		break;
	case HOW_VALUE_TOL:
		finding_msg(f, "value differs within what tolerance %s allows", f->tolerance);
		break;
	case HOW_COUNT:
		/* QEMU's own words: the vmstate count check, then the device that failed to load (BRIEF 1). */
		finding_msg(f, "Invalid value %" PRIu64 " expecting positive value <= %" PRIu64 " / Failed to load "
		    "cpu:cpreg_vmstate_array_len", f->source_value, f->destination_value);
		break;
	default:
		finding_msg(f, "%s", "");
	}
}

/* Word finding i if it is still pending; texts_lock held. */
static void word_locked(struct cpreg_verdict *v, size_t i)
{
	struct cpreg_finding *f = &v->f[i];
	bool judge = (v->how[i] & HOW_MASK) == HOW_JUDGE;

	if (v->how[i] == HOW_DONE)
		return;
	if (v->how[i] & HOW_NAME)
		cpreg_id_name(f->id, f->name, sizeof(f->name));
	if (!f->message)
		word(v, i, judge ? v->judged : NULL);
	__atomic_store_n(&v->how[i], HOW_DONE, __ATOMIC_RELEASE);
	if (judge && --v->pending_judge == 0) {
		/* Nothing needs the destination any more. */
		v->judged = cpreg_inventory_unref(v->judged);
	}
}

/* Word finding i (cpreg_verdict_at reads one at a time: a fleet reads only the failing ones). */
void verdict_word_one(const struct cpreg_verdict *cv, size_t i)
{
	struct cpreg_verdict *v = (struct cpreg_verdict *)cv;

	if (!v || !v->how || i >= v->n || __atomic_load_n(&v->how[i], __ATOMIC_ACQUIRE) == HOW_DONE)
		return;
	pthread_mutex_lock(&v->texts_lock);
	word_locked(v, i);
	pthread_mutex_unlock(&v->texts_lock);
}

/* Word every pending finding (to_json writes them all). */
void verdict_fill_texts(const struct cpreg_verdict *cv)
{
	struct cpreg_verdict *v = (struct cpreg_verdict *)cv;

	if (!v || !v->how || __atomic_load_n(&v->all_done, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&v->texts_lock);
	for (size_t i = 0; i < v->n; i++)
		word_locked(v, i);
	__atomic_store_n(&v->all_done, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&v->texts_lock);
}

/*
 * Statically judge a value the destination kernel will be asked to take
 * with KVM_SET_ONE_REG: the kernel model (kmodel.c) decides, and a refusal
 * is worded as QEMU words it.  What only that kernel can tell is UNKNOWN:
 * the live trial decides it.
 */

static bool has_feature_finding(const struct cpreg_verdict *v, const char *name)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->f[i].kind == CPREG_FIND_VCPU_FEATURE && !v->f[i].id && strcmp(v->f[i].name, name) == 0)
			return true;
	return false;
}

int verdict_add_missing_feature(struct cpreg_verdict *v, unsigned bit)
{
	const char *name = cpreg_feature_name(bit) ? cpreg_feature_name(bit) : "?";
	struct cpreg_finding *f;

	if (has_feature_finding(v, name))
		return 0;
	f = verdict_add_finding(v, 0, CPREG_FIND_VCPU_FEATURE);
	if (!f)
		return -ENOMEM;
	f->outcome = CPREG_OUT_FAIL;
	snprintf(f->name, sizeof(f->name), "%s", name);
	finding_msg(f, "the source VM's vCPU has %s and the destination's \"-cpu host\" vCPU does not: its registers "
	    "and ID fields cannot migrate (turn it off in the VM on both ends, or place it on a host that has it)", name);
	return 0;
}

