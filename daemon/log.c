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

void log_full(int prio, const struct log_fields *lf, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
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
