/* SPDX-License-Identifier: GPL-2.0-or-later */
/* NFD, Nova and textfile documents, and the atomic write they share (publish.h). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "cpreg-internal.h"
#include "publish.h"

int publish_write_atomic(const char *path, const char *data, size_t len, mode_t mode, char *err, size_t errlen)
{
	char dir[4096], tmp[4096 + 1024 + 16], base[1024];
	const char *slash = strrchr(path, '/');
	size_t off = 0;
	int fd, dfd, e;

	if (slash) {
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
		if (!dir[0])
			snprintf(dir, sizeof(dir), "/");
		snprintf(base, sizeof(base), "%s", slash + 1);
	} else {
		snprintf(dir, sizeof(dir), ".");
		snprintf(base, sizeof(base), "%s", path);
	}
	/* A dot-file: NFD and node_exporter's textfile collector skip it (and *.yaml globs miss it). */
	snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, base);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "cannot create a temporary file in %s: %s", dir, strerror(e));
		return -e;
	}
	while (off < len) {
		ssize_t k = write(fd, data + off, len - off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			e = errno;
			snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(e));
			goto fail;
		}
		off += (size_t)k;
	}
	/* Published files are read by the collectors (nfd-worker, node_exporter, nova-compute: other users). */
	if (fchmod(fd, mode) < 0 || fsync(fd) < 0) {
		e = errno;
		snprintf(err, errlen, "cannot sync %s: %s", tmp, strerror(e));
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		e = errno;
		snprintf(err, errlen, "cannot close %s: %s", tmp, strerror(e));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		e = errno;
		snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(e));
		goto fail;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0) {
		e = errno;
		if (dfd >= 0)
			close(dfd);
		snprintf(err, errlen, "written, but cannot sync the directory %s: %s", dir, strerror(e));
		return -e;
	}
	close(dfd);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -e;
}

/* A label value: at most 63 of [A-Za-z0-9-_.], alphanumeric at both ends. */
static bool label_value_ok(const char *v)
{
	size_t n = v ? strlen(v) : 0;

	if (n == 0 || n > 63 || !isalnum((unsigned char)v[0]) || !isalnum((unsigned char)v[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)v[i]) && !strchr("-_.", v[i]))
			return false;
	return true;
}

bool publish_prefix_valid(const char *p)
{
	size_t n = p ? strlen(p) : 0, label = 0;

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i <= n; i++) {
		char c = p[i];

		if (c == '.' || c == '\0') {
			if (label == 0 || p[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!(islower((unsigned char)c) || isdigit((unsigned char)c) || c == '-') || (label == 0 && c == '-') || ++label > 63)
			return false;
	}
	return true;
}

/* "6.12.57+deb13-cloud-arm64" -> "6.12": the series a kernel model (BRIEF 5) keys on. */
static bool kernel_series(const char *k, char *buf, size_t len)
{
	unsigned major, minor;

	if (!k || sscanf(k, "%u.%u", &major, &minor) != 2)
		return false;
	snprintf(buf, len, "%u.%u", major, minor);
	return true;
}

/* One NFD file's header: what it is and when NFD drops its labels. */
static void nfd_header(struct cpreg_buf *b, const char *when, size_t part)
{
	cpreg_buf_printf(b, "# Written by cpregd: this host's arm64 KVM migration facts (man cpregd, \"Publishing\").\n"
			 "# A VM from a host labelled digest=X may move here when accepts-X is set.\n");
	if (part)
		cpreg_buf_printf(b, "# Part %zu: NFD reads no file over %d bytes, so the labels span files.\n", part + 1,
				 PUBLISH_NFD_FILE_MAX);
	cpreg_buf_printf(b, "# +expiry-time=%s\n", when);
}

int publish_nfd_parts(const struct publish_facts *f, const char *prefix, time_t expires, char ***ret_parts,
		      size_t *ret_n, size_t *ret_dropped)
{
	char when[32], series[32], line[400];
	struct cpreg_buf b = { 0 };
	char **parts = calloc(PUBLISH_NFD_MAX_PARTS, sizeof(*parts));
	size_t n = 0, i = 0;

	if (!parts)
		return -ENOMEM;
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&expires));
	nfd_header(&b, when, 0);
	if (f->short_digest) {
		cpreg_buf_printf(&b, "%s/digest=%s\n", prefix, f->short_digest);
		if (kernel_series(f->kernel, series, sizeof(series)))
			cpreg_buf_printf(&b, "%s/kernel=%s\n", prefix, series);
		if (label_value_ok(f->qemu_version))
			cpreg_buf_printf(&b, "%s/qemu=%s\n", prefix, f->qemu_version);
		if (label_value_ok(f->policy))
			cpreg_buf_printf(&b, "%s/policy=%s\n", prefix, f->policy);
		cpreg_buf_printf(&b, "%s/judged=%s\n", prefix, f->complete ? "complete" : "partial");
	}
	for (;;) {
		for (; i < f->n_accepts; i++) {
			int len = snprintf(line, sizeof(line), "%s/accepts-%s=true\n", prefix, f->accepts[i]);

			if (b.n + (size_t)len > PUBLISH_NFD_FILE_MAX)
				break;
			cpreg_buf_add(&b, line, (size_t)len);
		}
		if (cpreg_buf_finish(&b, &parts[n]) < 0)
			goto oom;
		n++;
		if (i == f->n_accepts || n == PUBLISH_NFD_MAX_PARTS)
			break;
		nfd_header(&b, when, n);
	}
	*ret_parts = parts;
	*ret_n = n;
	*ret_dropped = f->n_accepts - i;
	return 0;
oom:
	for (size_t k = 0; k < n; k++)
		free(parts[k]);
	free(parts);
	return -ENOMEM;
}

/* Nova traits: CUSTOM_ and upper case, digits, underscore. */
static void trait(FILE *m, const char *what, const char *v)
{
	fprintf(m, "        - CUSTOM_CPREG_%s", what);
	if (v) {
		fputc('_', m);
		for (; *v; v++)
			fputc(isalnum((unsigned char)*v) ? toupper((unsigned char)*v) : '_', m);
	}
	fputc('\n', m);
}

char *publish_nova_text(const struct publish_facts *f)
{
	char *text = NULL, series[32];
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);

	if (!m)
		return NULL;
	/* Nova stops on an invalid file, so the shape never varies: traits may be an empty list. */
	fprintf(m, "# Written by cpregd: this host's arm64 KVM migration facts as Nova traits (man cpregd).\n"
		"# A flavor with trait:CUSTOM_CPREG_ACCEPTS_<X>=required lands where VMs of digest X may go.\n"
		"meta:\n  schema_version: '1.0'\nproviders:\n  - identification:\n      uuid: '$COMPUTE_NODE'\n"
		"    traits:\n      additional:%s\n", f->short_digest || f->n_accepts ? "" : " []");
	if (f->short_digest) {
		trait(m, "DIGEST", f->short_digest);
		if (kernel_series(f->kernel, series, sizeof(series)))
			trait(m, "KERNEL", series);
		if (f->policy && *f->policy)
			trait(m, "POLICY", f->policy);
		/* As the NFD file's judged= label: until every peer is judged, the ACCEPTS traits are partial. */
		trait(m, "JUDGED", f->complete ? "complete" : "partial");
	}
	for (size_t i = 0; i < f->n_accepts; i++)
		trait(m, "ACCEPTS", f->accepts[i]);
	if (fclose(m) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

void publish_metric_label(struct evbuffer *b, const char *s)
{
	const char *end = s ? s + strlen(s) : NULL;

	/*
	 * The exposition format escapes exactly these three in label values,
	 * which must be valid UTF-8: a byte that starts no character (a peer
	 * file's name in another encoding) is the four characters \xHH, as
	 * in the JSON documents.
	 */
	for (size_t k; s && *s; s += k) {
		k = cpreg_utf8_seq(s, (size_t)(end - s));
		if (*s == '"' || *s == '\\')
			evbuffer_add_printf(b, "\\%c", *s);
		else if (*s == '\n')
			evbuffer_add_printf(b, "\\n");
		else if (!k)
			evbuffer_add_printf(b, "\\\\x%02x", (unsigned char)*s);
		else
			evbuffer_add(b, s, k);
		k = k ? k : 1;
	}
}
