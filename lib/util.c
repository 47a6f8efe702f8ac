/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small helpers: error filling, hex parsing, file reading, SHA-256. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

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
	return 0;
}
