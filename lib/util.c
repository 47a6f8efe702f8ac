/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small helpers: error filling, hex parsing, file reading, the writers' text buffer. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <time.h>

#include <zlib.h>

#include "cpreg-internal.h"

int cpreg_err(struct cpreg_error *err, int code, const char *where, const char *fmt, ...)
{
	if (code > 0)
		code = -code;
	if (err) {
		va_list ap;

		err->code = code;
		snprintf(err->where, sizeof(err->where), "%s", where ? where : "");
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
	}
	return code;
}

void cpreg_err_prefix(struct cpreg_error *err, const char *prefix)
{
	char where[sizeof(err->where) + 256];

	if (!err || !prefix)
		return;
	snprintf(where, sizeof(where), "%s%s%s", prefix, err->where[0] ? ":" : "", err->where);
	snprintf(err->where, sizeof(err->where), "%.*s", (int)sizeof(err->where) - 1, where);
}

int cpreg_parse_hex(const char *s, uint64_t *ret)
{
	uint64_t v = 0;
	size_t n = 0;

	if (!s || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return -EINVAL;
	for (s += 2; *s; s++, n++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return -EINVAL;
		if (v >> 60)
			return -ERANGE;
		v = v << 4 | d;
	}
	if (n == 0)
		return -EINVAL;
	*ret = v;
	return 0;
}

int cpreg_read_file(const char *path, size_t max, char **ret, size_t *ret_len, struct cpreg_error *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;
	int fd, r = 0;

	/*
	 * O_NONBLOCK: a FIFO nobody writes to must not hang the open (a daemon
	 * at start-up would never get ready).  Reads block again afterwards, so
	 * a pipe with a writer (bash's <(curl ...)) is read to its end.
	 */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return cpreg_err(err, -errno, path, "cannot open: %s", strerror(errno));
	{
		int fl = fcntl(fd, F_GETFL);

		if (fl >= 0)
			fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	}
	for (;;) {
		ssize_t k;

		if (len + 1 >= cap) {
			size_t ncap = cap ? cap * 2 : 65536;
			char *nbuf;

			if (cap > max + 1) {
				r = cpreg_err(err, -EFBIG, path, "larger than %zu bytes", max);
				break;
			}
			nbuf = realloc(buf, ncap);
			if (!nbuf) {
				r = cpreg_err(err, -ENOMEM, path, "out of memory");
				break;
			}
			buf = nbuf;
			cap = ncap;
		}
		k = read(fd, buf + len, cap - len - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = cpreg_err(err, -errno, path, "read failed: %s", strerror(errno));
			break;
		}
		if (k == 0)
			break;
		len += k;
		if (len > max) {
			r = cpreg_err(err, -EFBIG, path, "larger than %zu bytes", max);
			break;
		}
	}
	close(fd);
	if (r < 0)
		return r;
	if (!buf) {
		buf = malloc(1);
		if (!buf)
			return cpreg_err(err, -ENOMEM, path, "out of memory");
	}
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	/* A gzip file (a ConfigMap's *.json.gz): what it holds, within the same bound. */
	if ((r = cpreg_gunzip_maybe(ret, ret_len, max, err)) < 0)
		cpreg_err_prefix(err, path);
	return r;
}

int cpreg_gunzip_maybe(char **text, size_t *len, size_t max, struct cpreg_error *err)
{
	z_stream z = { 0 };
	char *out = NULL;
	size_t cap = 0;
	int zr;

	if (*len < 2 || (unsigned char)(*text)[0] != 0x1f || (unsigned char)(*text)[1] != 0x8b)
		return 0;
	/* 16 + MAX_WBITS: the gzip wrapper; concatenated members (gzip -c a b) are read as one. */
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return cpreg_err(err, -ENOMEM, "", "out of memory");
	z.next_in = (unsigned char *)*text;
	z.avail_in = (unsigned)*len;
	do {
		if (z.total_out + 1 >= cap) {
			size_t ncap = cap ? cap * 2 : 65536;
			char *n;

			if (cap > max + 1) {
				zr = Z_BUF_ERROR;
				break;
			}
			if (!(n = realloc(out, ncap))) {
				inflateEnd(&z);
				free(out);
				return cpreg_err(err, -ENOMEM, "", "out of memory");
			}
			out = n;
			cap = ncap;
		}
		z.next_out = (unsigned char *)out + z.total_out;
		z.avail_out = (unsigned)(cap - 1 - z.total_out);
		zr = inflate(&z, Z_NO_FLUSH);
		if (zr == Z_STREAM_END && z.avail_in > 0)
			zr = inflateReset(&z) == Z_OK ? Z_OK : Z_DATA_ERROR;
	} while (zr == Z_OK || (zr == Z_BUF_ERROR && z.avail_out == 0));
	inflateEnd(&z);
	if (zr != Z_STREAM_END || z.total_out > max) {
		free(out);
		if (z.total_out > max || (zr == Z_BUF_ERROR && cap > max + 1))
			return cpreg_err(err, -EFBIG, "", "larger than %zu bytes once decompressed", max);
		return cpreg_err(err, -EBADMSG, "", "gzip data is %s", zr == Z_BUF_ERROR ? "cut short" : "corrupt");
	}
	out[z.total_out] = '\0';
	free(*text);
	*text = out;
	*len = z.total_out;
	return 0;
}

/* ---- bounded appenders for the words of findings ---- */

size_t cpreg_put_i64(char *buf, size_t len, size_t off, int64_t v)
{
	char out[24];
	size_t i = sizeof(out) - 1;
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;

	out[i] = '\0';
	do
		out[--i] = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		out[--i] = '-';
	return cpreg_put(buf, len, off, out + i);
}

size_t cpreg_put_hex(char *buf, size_t len, size_t off, uint64_t v)
{
	char out[17];
	size_t i = sizeof(out) - 1;

	out[i] = '\0';
	do
		out[--i] = "0123456789abcdef"[v & 15];
	while (v >>= 4);
	return cpreg_put(buf, len, off, out + i);
}

/* ---- the writers' text buffer ---- */

bool cpreg_buf_grow(struct cpreg_buf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->failed)
		return false;
	if (b->cap - b->n > more)       /* one byte always left for the final NUL */
		return true;
	cap = b->cap ? b->cap : 4096;
	while (cap - b->n <= more)
		cap *= 2;
	if (!(p = realloc(b->p, cap))) {
		b->failed = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void cpreg_buf_printf(struct cpreg_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!cpreg_buf_reserve(b, 256))
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	if ((size_t)n >= b->cap - b->n) {
		if (!cpreg_buf_reserve(b, (size_t)n))
			return;
		va_start(ap, fmt);
		vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
		va_end(ap);
	}
	b->n += (size_t)n;
}

void cpreg_buf_hex(struct cpreg_buf *b, uint64_t v, unsigned digits)
{
	/* Two digits per byte from a table: ids and values are written by the hundred. */
	static const char pairs[513] =
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
		"202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
		"404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
		"606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
		"808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
		"a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
		"c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
		"e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
	char out[16];

	if (digits < 1 || digits > 16)
		digits = 16;
	for (unsigned i = 0; i < 8; i++, v >>= 8)
		memcpy(out + 14 - 2 * i, pairs + 2 * (v & 0xff), 2);
	cpreg_buf_add(b, out + 16 - digits, digits);
}

void cpreg_buf_u64(struct cpreg_buf *b, uint64_t v)
{
	char out[20];
	size_t i = sizeof(out);

	do
		out[--i] = (char)('0' + v % 10);
	while (v /= 10);
	cpreg_buf_add(b, out + i, sizeof(out) - i);
}

void cpreg_buf_i64(struct cpreg_buf *b, int64_t v)
{
	if (v < 0) {
		cpreg_buf_lit(b, "-");
		cpreg_buf_u64(b, -(uint64_t)v);
	} else {
		cpreg_buf_u64(b, (uint64_t)v);
	}
}

size_t cpreg_utf8_seq(const char *p, size_t left)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t n;
	uint32_t c;

	if (!left)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, c = s[0] & 0x07;
	else
		return 0;
	if (left < n)
		return 0;
	for (size_t k = 1; k < n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[k] & 0x3f);
	}
	/* No overlong forms, no surrogates, nothing past U+10FFFF. */
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return n;
}

void cpreg_buf_json(struct cpreg_buf *b, const char *s)
{
	const uint64_t ones = 0x0101010101010101u, high = ones * 0x80;
	const char *end;

	if (!s) {
		cpreg_buf_lit(b, "null");
		return;
	}
	end = s + strlen(s);
	cpreg_buf_lit(b, "\"");
	/*
	 * Runs that need no escape go out whole (most strings are one run),
	 * found eight bytes at a time: a word holds a byte to escape when one
	 * is below 0x20, or equal to '"' or '\\' (the has-zero-byte test on
	 * the word XORed with each).
	 */
	while (s < end) {
		const char *run = s;

		for (; end - s >= 8; s += 8) {
			uint64_t x, q, bs;

			memcpy(&x, s, 8);
			q = x ^ (ones * '"');
			bs = x ^ (ones * '\\');
			/* ... or a byte of a multi-byte character, checked below (x itself has the high bit). */
			if ((((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((bs - ones) & ~bs) | x) & high)
				break;
		}
		for (size_t k; s < end && (unsigned char)*s >= 0x20 && *s != '"' && *s != '\\' &&
			       (k = cpreg_utf8_seq(s, (size_t)(end - s))) > 0; )
			s += k;
		cpreg_buf_add(b, run, (size_t)(s - run));
		if (s == end)
			break;
		if ((unsigned char)*s >= 0x80) {
			/*
			 * A byte that starts no valid UTF-8 character (a file name
			 * in another encoding, say): written as the four characters
			 * \xHH, so the string stays valid and the name identifiable.
			 */
			cpreg_buf_lit(b, "\\\\x");
			cpreg_buf_hex(b, (unsigned char)*s, 2);
		} else if (*s == '"' || *s == '\\') {
			char e[2] = { '\\', *s };

			cpreg_buf_add(b, e, 2);
		} else {
			cpreg_buf_lit(b, "\\u00");
			cpreg_buf_hex(b, (unsigned char)*s, 2);
		}
		s++;
	}
	cpreg_buf_lit(b, "\"");
}

int cpreg_buf_finish(struct cpreg_buf *b, char **ret)
{
	if (!cpreg_buf_reserve(b, 0)) {
		free(b->p);
		*b = (struct cpreg_buf){ 0 };
		return -ENOMEM;
	}
	b->p[b->n] = '\0';
	*ret = b->p;
	*b = (struct cpreg_buf){ 0 };
	return 0;
}

int cpreg_errno_from_name(const char *name)
{
	for (int e = 1; e < 4096; e++) {
		const char *n = strerrorname_np(e);

		if (n && strcmp(n, name) == 0)
			return e;
	}
	return -ENOENT;
}

void cpreg_utc_now(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	if (!strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) && len)
		buf[0] = '\0';
}
