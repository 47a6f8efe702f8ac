/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cpregd's log: the journal with fields, or stderr with priorities (log.h). */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <stdarg.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <systemd/sd-journal.h>

#include "cpreg-internal.h"
#include "log.h"

static bool log_to_journal;

void log_setup(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long dev, ino;
	struct stat st;

	log_to_journal = js && sscanf(js, "%lu:%lu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
			 st.st_dev == (dev_t)dev && st.st_ino == (ino_t)ino;
}

/*
 * A message is valid UTF-8 (the journal's readers expect it): a byte that
 * starts no character (a file name in another encoding) becomes \xHH, as
 * in the JSON documents and the metrics.
 */
static void valid_utf8(char *msg, size_t size)
{
	char out[2048];
	size_t o = 0, len = strlen(msg);

	for (size_t i = 0, k; i < len && o + 5 < sizeof(out); i += k) {
		k = cpreg_utf8_seq(msg + i, len - i);
		if (k) {
			if (o + k >= sizeof(out))
				break;
			memcpy(out + o, msg + i, k);
			o += k;
		} else {
			o += (size_t)snprintf(out + o, sizeof(out) - o, "\\x%02x", (unsigned char)msg[i]);
			k = 1;
		}
	}
	out[o] = '\0';
	snprintf(msg, size, "%s", out);
}

void log_full(int prio, const struct log_fields *lf, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	valid_utf8(msg, sizeof(msg));
	if (log_to_journal) {
		char f[6][192];
		struct iovec iov[7];
		int n = 0;
		char *m = NULL;

		if (asprintf(&m, "MESSAGE=%s", msg) < 0)
			m = NULL;
		iov[n++] = (struct iovec){ m ? m : msg, m ? strlen(m) : strlen(msg) };
#define FIELD(...) do { snprintf(f[n - 1], sizeof(f[0]), __VA_ARGS__); iov[n] = (struct iovec){ f[n - 1], strlen(f[n - 1]) }; n++; } while (0)
		FIELD("PRIORITY=%d", prio);
		if (lf && lf->msgid)
			FIELD("MESSAGE_ID=%s", lf->msgid);
		if (lf && lf->digest)
			FIELD("CPREGD_DIGEST=%s", lf->digest);
		if (lf && lf->result)
			FIELD("CPREGD_RESULT=%s", lf->result);
		if (lf && lf->uid >= 0)
			FIELD("CPREGD_PEER_UID=%ld", lf->uid);
#undef FIELD
		sd_journal_sendv(iov, n);
		free(m);
		return;
	}
	/* One write per message: worker threads log too. */
	fprintf(stderr, "<%d>%s\n", prio, msg);
}
