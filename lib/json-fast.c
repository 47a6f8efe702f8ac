/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fast path of the inventory reader (json-fast.h): the registers and
 * writable masks arrays of a document laid out as the writer lays it out,
 * read without building json-c objects; the fuzz targets check that it
 * reads every input as the general reader does.
 */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <json.h>

#include "cpreg-internal.h"
#include "json-fast.h"

/*
 * ---- the fast path for the registers array ----
 * The registers are nearly all of an inventory, and json-c spends most of
 * a check building and freeing an object per register, key and value.  A
 * document whose top-level "registers" is the plain form every writer
 * produces (objects of "id", a "name", and "value", "wide": true or
 * "error"; plain ASCII strings, no escapes) is read here straight into cpreg_reg records,
 * and json-c reads the rest of the document with that array replaced by
 * []: the same strictness for everything else.  Anything unusual in the
 * array, and any error anywhere, sends the whole document down the general
 * path, which names the error exactly as it always has; so this path only
 * ever accepts what the general one accepts, with the same result.
 */
static const char *skip_ws(const char *p, const char *e)
{
	static const bool ws[256] = { [' '] = true, ['\t'] = true, ['\n'] = true, ['\r'] = true };

	while (p < e && ws[(unsigned char)*p])
		p++;
	return p;
}

/* A string with no escapes and printable ASCII only; NULL for anything else. */
static const char *plain_string(const char *p, const char *e, const char **s, size_t *n)
{
	const char *q;

	if (p >= e || *p != '"')
		return NULL;
	q = ++p;
	/*
	 * Eight bytes at a time: each special byte (a quote, a backslash, below
	 * 0x20 or from 0x7f up) flagged in its top bit; the lowest flag is exact
	 * (a borrow or carry only runs on from a byte that is flagged itself),
	 * and it must be the closing quote.
	 */
	while (e - q >= 8) {
		const uint64_t ones = 0x0101010101010101u, high = ones * 0x80;
		uint64_t x, qt, bs, m;

		memcpy(&x, q, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		x = __builtin_bswap64(x);       /* the first character in the lowest byte */
#endif
		qt = x ^ ones * '"';
		bs = x ^ ones * '\\';
		m = (((qt - ones) & ~qt) | ((bs - ones) & ~bs) | ((x - ones * 0x20) & ~x) | (x + ones) | x) & high;
		if (m) {
			q += __builtin_ctzll(m) >> 3;
			if (*q != '"')
				return NULL;
			goto end;
		}
		q += 8;
	}
	for (; q < e && *q != '"'; q++)
		if (*q == '\\' || (unsigned char)*q < 0x20 || (unsigned char)*q >= 0x7f)
			return NULL;
	if (q >= e)
		return NULL;
end:
	*s = p;
	*n = (size_t)(q - p);
	return q + 1;
}

/* Past one JSON value (lexically: strings, nesting), or NULL. */
static const char *skip_value(const char *p, const char *e)
{
	int depth = 0;

	do {
		if (p >= e)
			return NULL;
		if (*p == '"') {
			for (p++; p < e && *p != '"'; p++)
				if (*p == '\\')
					p++;
			if (p >= e)
				return NULL;
			p++;
		} else if (*p == '{' || *p == '[') {
			if (++depth > 64)
				return NULL;
			p++;
		} else if (*p == '}' || *p == ']') {
			if (--depth < 0)
				return NULL;
			p++;
		} else if (depth == 0) {
			/* A literal or a number ends at a delimiter. */
			while (p < e && !strchr(",}] \t\r\n", *p))
				p++;
		} else {
			p++;
		}
	} while (depth > 0);
	return p;
}

/*
 * A "0x..." string of 1 to 16 hex digits, parsed where it stands; NULL for
 * anything else (longer forms with leading zeros are left to the general
 * path, which takes them).
 */
/*
 * Eight hex digits at s at once: their value, or -1 when a byte is not a
 * hex digit.  Every byte is checked for being a digit, A-F or a-f with the
 * usual SIMD-within-a-register range test (exact per byte, no carries
 * between bytes once the top bits are known clear), then the nibbles are
 * gathered pairwise.  Ids and values are 8 or 16 digits: most of a
 * document's digits go through here.
 */
static int64_t hex8(const char *s)
{
	const uint64_t ones = 0x0101010101010101u, high = ones * 0x80, low7 = ones * 0x7f;
	uint64_t x, m, dig, up, lo, v;

	memcpy(&x, s, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	x = __builtin_bswap64(x);       /* the first character in the lowest byte */
#endif
	if (x & high)
		return -1;
	m = x & low7;
	/* Bytes strictly between a and b (0 <= a, b <= 128), flagged in their top bit. */
#define BETWEEN(a, b) (((ones * (127 + (b)) - m) & ~x & (m + ones * (127 - (a)))) & high)
	dig = BETWEEN(0x2f, 0x3a);
	up = BETWEEN(0x40, 0x47);
	lo = BETWEEN(0x60, 0x67);
#undef BETWEEN
	if ((dig | up | lo) != high)
		return -1;
	v = (x & ones * 0x0f) + ((up | lo) >> 7) * 9;
	v = ((v & 0x00ff00ff00ff00ffu) << 4) | ((v >> 8) & 0x00ff00ff00ff00ffu);
	v = ((v & 0x0000ffff0000ffffu) << 8) | ((v >> 16) & 0x0000ffff0000ffffu);
	return (int64_t)(((v & 0xffffffffu) << 16) | (v >> 32));
}

/*
 * A "0x..." string of 1 to 16 hex digits, parsed where it stands; NULL for
 * anything else (longer forms with leading zeros are left to the general
 * path, which takes them).
 */
static const char *hex_string(const char *p, const char *e, uint64_t *ret)
{
	/* Each byte's digit value plus one, 0 for a byte that is not a hex digit. */
	static const uint8_t digit1[256] = {
		['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8,
		['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
		['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
	};
	const char *start, *lim;
	uint64_t v = 0;

	if (e - p < 5 || p[0] != '"' || p[1] != '0' || (p[2] | 0x20) != 'x')
		return NULL;
	start = p += 3;
	if (e - p > 16 && p[16] == '"') {
		int64_t a = hex8(p), b = hex8(p + 8);

		if (a < 0 || b < 0)
			return NULL;
		*ret = (uint64_t)a << 32 | (uint64_t)b;
		return p + 17;
	}
	if (e - p > 8 && p[8] == '"') {
		int64_t a = hex8(p);

		if (a < 0)
			return NULL;
		*ret = (uint64_t)a;
		return p + 9;
	}
	lim = e - p > 17 ? p + 17 : e;
	for (; p < lim; p++) {
		unsigned d = digit1[(unsigned char)*p] - 1u;

		if (d > 15)
			break;
		v = v << 4 | d;
	}
	if (p == start || p - start > 16 || p >= e || *p != '"')
		return NULL;
	*ret = v;
	return p + 1;
}

/* The key at p, one of the register object's: its bit, and p past its closing quote; 0 for any other. */
static unsigned reg_key(const char **pp, const char *e)
{
	const char *p = *pp;
	size_t left = (size_t)(e - p);

#define KEY(lit, bit) \
	if (left >= sizeof(lit) - 1 && memcmp(p, lit, sizeof(lit) - 1) == 0) { \
		*pp = p + sizeof(lit) - 1; \
		return bit; \
	}
	if (left < 4 || p[0] != '"')
		return 0;
	switch (p[1]) {
	case 'i': KEY("\"id\"", 1); break;
	case 'v': KEY("\"value\"", 2); break;
	case 'w': KEY("\"wide\"", 4); break;
	case 'e': KEY("\"error\"", 8); break;
	case 'n': KEY("\"name\"", 16); break;
	}
#undef KEY
	return 0;
}

/*
 * The form cpreg_inventory_to_json writes for a register with a value,
 * {"id": "0x<16 digits>", "name": "<plain>", "value": "0x<digits>"}, read
 * by comparing its fixed pieces whole: p is past the '{'; past the '}', or
 * NULL for anything else (read key by key then).
 */
static const char *canonical_register(const char *p, const char *e, struct cpreg_reg *reg)
{
	const char *v;
	size_t vn;
	int64_t a, b;

	if (e - p < 48 || memcmp(p, "\"id\": \"0x", 9) != 0 || p[25] != '"' || memcmp(p + 26, ", \"name\": ", 10) != 0)
		return NULL;
	if ((a = hex8(p + 9)) < 0 || (b = hex8(p + 17)) < 0)
		return NULL;
	if (!(p = plain_string(p + 36, e, &v, &vn)) || vn > 64 || e - p < 11 || memcmp(p, ", \"value\": ", 11) != 0 ||
	    !(p = hex_string(p + 11, e, &reg->value)) || p >= e || *p != '}')
		return NULL;
	reg->id = (uint64_t)a << 32 | (uint64_t)b;
	reg->state = CPREG_VALUE;
	return p;
}

/*
 * After a member or an element: 1 at ',' (p past it), 0 at the closing
 * bracket close (p on it), -1 for anything else.
 */
static inline int after_item(const char **pp, const char *e, char close)
{
	const char *p = skip_ws(*pp, e);

	if (p < e && *p == ',') {
		*pp = p + 1;
		return 1;
	}
	*pp = p;
	return p < e && *p == close ? 0 : -1;
}

/* One register object at p; NULL when it is not the plain form or not valid. */
static const char *fast_register(const char *p, const char *e, struct cpreg_reg *reg)
{
	unsigned seen = 0;
	const char *q;
	int more;

	*reg = (struct cpreg_reg){ 0 };
	p = skip_ws(p, e);
	if (p >= e || *p++ != '{')
		return NULL;
	if ((q = canonical_register(p, e, reg))) {
		p = q;
		seen = 1 | 2 | 16;
		goto check;
	}
	*reg = (struct cpreg_reg){ 0 };
	for (;;) {
		const char *v;
		size_t vn;
		unsigned bit;

		p = skip_ws(p, e);
		if (!(bit = reg_key(&p, e)))
			return NULL;    /* another key, or one written with escapes */
		p = skip_ws(p, e);
		if (p >= e || *p++ != ':')
			return NULL;
		p = skip_ws(p, e);
		if (seen & bit)
			return NULL;    /* a duplicate key: the general path names it */
		seen |= bit;
		switch (bit) {
		case 1:
			if (!(p = hex_string(p, e, &reg->id)))
				return NULL;
			break;
		case 2:
			if (!(p = hex_string(p, e, &reg->value)))
				return NULL;
			reg->state = CPREG_VALUE;
			break;
		case 4:
			if (e - p < 4 || memcmp(p, "true", 4) != 0)
				return NULL;
			p += 4;
			reg->state = CPREG_WIDE;
			break;
		case 8: {
			char name[33];

			if (!(p = plain_string(p, e, &v, &vn)) || vn >= sizeof(name))
				return NULL;
			memcpy(name, v, vn);
			name[vn] = '\0';
			if ((reg->read_errno = cpreg_errno_from_name(name)) < 0)
				return NULL;
			reg->state = CPREG_UNREADABLE;
			break;
		}
		default:        /* the name: written for people; readers go by the id */
			if (!(p = plain_string(p, e, &v, &vn)) || vn > 64)
				return NULL;
		}
		if ((more = after_item(&p, e, '}')) < 0)
			return NULL;
		if (!more)
			break;
	}
check:
	/* The general path's rules: an id, exactly one of the three, a value that fits. */
	if (!(seen & 1) || ((seen & 14) != 2 && (seen & 14) != 4 && (seen & 14) != 8) || !cpreg_id_valid(reg->id))
		return NULL;
	if (reg->state == CPREG_VALUE &&
	    (CPREG_ID_BYTES(reg->id) > 8 || (CPREG_ID_BYTES(reg->id) < 8 && reg->value >> (CPREG_ID_BYTES(reg->id) * 8))))
		return NULL;
	if (reg->state == CPREG_WIDE && CPREG_ID_BYTES(reg->id) <= 8)
		return NULL;
	return p + 1;
}


/* The registers array at p (its '['), into fr; past its ']', or NULL. */
static const char *fast_registers(const char *p, const char *e, struct fast_regs *fr)
{
	int more;

	fr->ascending = true;
	p = skip_ws(p + 1, e);
	if (p < e && *p == ']')
		return p + 1;
	for (;;) {
		if (fr->n == fr->cap) {
			struct cpreg_reg *nr;

			if (fr->cap >= 65536)
				return NULL;
			fr->cap = fr->cap ? fr->cap * 2 : 512;
			if (!(nr = reallocarray(fr->regs, fr->cap, sizeof(*nr))))
				return NULL;    /* the general path meets the same shortage and says so */
			fr->regs = nr;
		}
		if (!(p = fast_register(p, e, &fr->regs[fr->n++])))
			return NULL;
		if (fr->n > 1 && fr->regs[fr->n - 1].id <= fr->regs[fr->n - 2].id)
			fr->ascending = false;
		if ((more = after_item(&p, e, ']')) <= 0)
			return more ? NULL : p + 1;
	}
}

/*
 * kvm.writable_masks at p (its '['): objects of exactly "index" (a plain
 * JSON integer) and "mask" (hex), into fr->masks; past its ']', or NULL.
 * An index given twice with a nonzero mask before is the general path's
 * error, so it goes there.
 */
static const char *fast_masks(const char *p, const char *e, struct fast_regs *fr)
{
	int more;

	p = skip_ws(p + 1, e);
	if (p < e && *p == ']')
		return p + 1;
	for (;;) {
		unsigned seen = 0;
		long idx = 0;
		uint64_t mask = 0;

		p = skip_ws(p, e);
		if (p >= e || *p++ != '{')
			return NULL;
		for (;;) {
			p = skip_ws(p, e);
			if (e - p >= 7 && memcmp(p, "\"index\"", 7) == 0 && !(seen & 1)) {
				seen |= 1;
				p = skip_ws(p + 7, e);
				if (p >= e || *p++ != ':')
					return NULL;
				p = skip_ws(p, e);
				if (p < e && *p == '0') {
					p++;
				} else {
					const char *d = p;

					for (; p < e && *p >= '0' && *p <= '9' && p - d < 4; p++)
						idx = idx * 10 + (*p - '0');
					if (p == d)
						return NULL;
				}
				/* A fraction, an exponent or more digits: not this plain form. */
				if (p >= e || (*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E')
					return NULL;
			} else if (e - p >= 6 && memcmp(p, "\"mask\"", 6) == 0 && !(seen & 2)) {
				seen |= 2;
				p = skip_ws(p + 6, e);
				if (p >= e || *p++ != ':')
					return NULL;
				if (!(p = hex_string(skip_ws(p, e), e, &mask)))
					return NULL;
			} else {
				return NULL;
			}
			if ((more = after_item(&p, e, '}')) < 0)
				return NULL;
			if (!more)
				break;
		}
		p++;
		if (seen != 3 || idx >= CPREG_WRITABLE_MASKS || fr->masks[idx])
			return NULL;
		fr->masks[idx] = mask;
		if ((more = after_item(&p, e, ']')) <= 0)
			return more ? NULL : p + 1;
	}
}

/* One member's key and colon at p: the key, and p at its value; NULL when not plain. */
static const char *member(const char *p, const char *e, const char **k, size_t *kn)
{
	p = skip_ws(p, e);
	if (!(p = plain_string(p, e, k, kn)))
		return NULL;
	p = skip_ws(p, e);
	if (p >= e || *p++ != ':')
		return NULL;
	return skip_ws(p, e);
}

/* After a member's value: 1 at ',' (p past it), 0 at '}' (p past it), -1 for anything else. */
static int next_member(const char **pp, const char *e)
{
	int r = after_item(pp, e, '}');

	if (r == 0)
		(*pp)++;
	return r;
}

/* 1 when the fast path applies (fr filled), 0 when the general path must read it all, < 0 on ENOMEM. */
/* The document with the cut arrays (ncut of them, cut[k] = [start, end)) replaced by [], in the order they stand. */
static int reduce(const char *text, size_t len, const char *cut[2][2], size_t ncut, struct fast_regs *fr)
{
	const char *p = text, *e = text + len;
	size_t o = 0;

	if (ncut == 2 && cut[1][0] < cut[0][0]) {
		const char *t0 = cut[0][0], *t1 = cut[0][1];

		cut[0][0] = cut[1][0], cut[0][1] = cut[1][1];
		cut[1][0] = t0, cut[1][1] = t1;
	}
	fr->reduced_len = len;
	for (size_t i = 0; i < ncut; i++)
		fr->reduced_len -= (size_t)(cut[i][1] - cut[i][0]) - 2;
	if (!(fr->reduced = malloc(fr->reduced_len + 1)))
		return -ENOMEM;
	for (size_t i = 0; i < ncut; i++) {
		memcpy(fr->reduced + o, p, (size_t)(cut[i][0] - p));
		o += (size_t)(cut[i][0] - p);
		memcpy(fr->reduced + o, "[]", 2);
		o += 2;
		p = cut[i][1];
	}
	memcpy(fr->reduced + o, p, (size_t)(e - p));
	fr->reduced[fr->reduced_len] = '\0';
	return 1;
}

/* The kvm object at p (its '{'): its writable masks read into fr and cut; past its '}', or NULL. */
static const char *fast_kvm(const char *p, const char *e, struct fast_regs *fr, const char *cut[2][2], size_t *ncut)
{
	bool masks = false;
	const char *k;
	size_t kn;
	int more;

	p = skip_ws(p + 1, e);
	if (p < e && *p == '}')
		return p + 1;
	do {
		if (!(p = member(p, e, &k, &kn)))
			return NULL;
		if (kn == 14 && memcmp(k, "writable_masks", 14) == 0 && p < e && *p == '[') {
			if (masks)
				return NULL;
			masks = fr->has_masks = true;
			cut[*ncut][0] = p;
			if (!(p = fast_masks(p, e, fr)))
				return NULL;
			cut[(*ncut)++][1] = p;
		} else if (!(p = skip_value(p, e))) {
			return NULL;
		}
	} while ((more = next_member(&p, e)) == 1);
	return more < 0 ? NULL : p;
}

int json_fast_scan(const char *text, size_t len, struct fast_regs *fr)
{
	const char *p = text, *e = text + len, *cut[2][2] = { { NULL, NULL }, { NULL, NULL } };
	bool regs = false, kvm = false;
	size_t ncut = 0;
	int more;

	p = skip_ws(p, e);
	if (p >= e || *p++ != '{')
		return 0;
	do {
		const char *k;
		size_t kn;

		if (!(p = member(p, e, &k, &kn)))
			return 0;
		if (kn == 9 && memcmp(k, "registers", 9) == 0 && p < e && *p == '[') {
			if (regs)
				return 0;       /* a duplicate key: the general path names it */
			regs = true;
			cut[ncut][0] = p;
			if (!(p = fast_registers(p, e, fr)))
				return 0;
			cut[ncut++][1] = p;
		} else if (kn == 3 && memcmp(k, "kvm", 3) == 0 && p < e && *p == '{') {
			if (kvm || !(p = fast_kvm(p, e, fr, cut, &ncut)))
				return 0;
			kvm = true;
		} else if (!(p = skip_value(p, e))) {
			return 0;
		}
	} while ((more = next_member(&p, e)) == 1);
	if (more < 0 || !regs)
		return 0;
	return reduce(text, len, cut, ncut, fr);
}

