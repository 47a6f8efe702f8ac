/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cpregd's log.  Under journald (stderr is the stream JOURNAL_STREAM
 * names) every message goes through sd_journal_send with its priority, and
 * the events an operator filters on carry a MESSAGE_ID and fields
 * (CPREGD_DIGEST, CPREGD_PEER_UID, CPREGD_RESULT): journalctl
 * MESSAGE_ID=... finds every failed probe.  Elsewhere: stderr with
 * sd-daemon.h's <N> prefixes.  Worker threads log too: one write per message.
 */
#ifndef CPREGD_LOG_H
#define CPREGD_LOG_H

#include <syslog.h>

#define MSGID_PROBE_DONE   "d959cd9b52424405a904f017244a9b71"
#define MSGID_PROBE_FAILED "aa9cc34eab0946579ffb0baf37f3f5c3"
#define MSGID_CHECK        "466fb01cdfd045888faab75bed98eed5"
#define MSGID_PERSIST_FAILED "01203ec268094169ba5e2b0ccf10e435"
#define MSGID_PEER_JUDGED  "668bb53a358f47a299fb5a73aa2ec3f9"

struct log_fields {
	const char *msgid;
	const char *digest;
	const char *result;
	long uid;              /* -1: none */
};

void log_setup(void);
void log_full(int prio, const struct log_fields *lf, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#define log_err(...) log_full(LOG_ERR, NULL, __VA_ARGS__)
#define log_warn(...) log_full(LOG_WARNING, NULL, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, NULL, __VA_ARGS__)

#endif
