/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cpregctl libvirt-hook NAME OP SUBOP EXTRA: libvirt's qemu hook (run by
 * /etc/libvirt/hooks/qemu.d/cpregd with the domain XML on stdin).  On
 * "migrate begin" (the incoming migration's Prepare step, before the
 * destination QEMU starts: no RAM has moved) and "restore begin", the VM's
 * passport is read from the domain's <metadata> and the local cpregd judges
 * it, with its live trial.  Incompatible: exit 1 with one line a person can
 * act on (libvirt cancels and shows it to the virsh user).  Compatible: the
 * domain XML with the passport after this hop (libvirt takes it; only
 * <metadata> changes).  No passport, or cpregd not answering within the
 * deadline: the configured policy decides (allow by default), logged.  A
 * hook must never call back into libvirt (it would deadlock): it does not.
 * Every other operation: exit 0, nothing printed (cpregctl.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "client.h"
#include "cpregctl.h"
#include "domain.h"
#include "paths.h"

/* The hook waits at most this long for cpregd, whatever --timeout says: libvirt waits for the hook. */
#define HOOK_DEADLINE_MS 5000

/*
 * CPREGD_HOOK_POLICY from the environment (the hook script exports what
 * /etc/default/cpregd sets), else from /etc/default/cpregd itself: refuse,
 * or allow (the default).
 */
static bool refuse_by_policy(void)
{
	const char *e = getenv("CPREGD_HOOK_POLICY");
	char line[256];
	bool refuse = false;
	FILE *f;

	if (e)
		return strcmp(e, "refuse") == 0;
	f = fopen("/etc/default/cpregd", "re");
	while (f && fgets(line, sizeof(line), f)) {
		const char *v = line + strspn(line, " \t");

		if (strncmp(v, "CPREGD_HOOK_POLICY=", 19) != 0)
			continue;
		v += 19;
		v += *v == '"' || *v == '\'';
		refuse = strncmp(v, "refuse", 6) == 0;
	}
	if (f)
		fclose(f);
	return refuse;
}

/*
 * Each decision is counted in cpregd's /metrics (cpregd_hook_decisions_total):
 * a line appended to the spool in cpregd's state directory, which cpregd
 * takes when it is scraped.  A file, not a request, so that the decisions
 * made while cpregd does not answer are counted too.  Counting never
 * changes a decision: a spool that cannot be written is skipped.
 */
static const char *hook_op = "";

static void count_decision(const char *decision, const char *reason)
{
	const char *spool = getenv("CPREGD_HOOK_SPOOL");
	char line[96];
	int fd, n;

	if (!spool)
		spool = DEFAULT_STATE_DIR "/" HOOK_SPOOL_NAME;
	n = snprintf(line, sizeof(line), "%s %s %s\n", hook_op, decision, reason);
	fd = open(spool, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
	if (fd < 0)
		return;
	/* One write of a short line on O_APPEND: lines of concurrent hooks never mix. */
	if (write(fd, line, (size_t)n) != n)
		syslog(LOG_WARNING, "cannot count this decision in %s", spool);
	close(fd);
}

/* No answer from the passport: the policy decides, and the journal says why (syslog reaches it). */
static int by_policy(const char *name, const char *reason, const char *why)
{
	bool refuse = refuse_by_policy();

	count_decision(refuse ? "refused" : "allowed", reason);

	syslog(LOG_WARNING, "domain %s: %s; policy %s: the %s goes %s", name, why, refuse ? "refuse" : "allow",
	       "migration or restore", refuse ? "no further" : "on unchecked");
	if (!refuse)
		return EXIT_OK;
	fprintf(stderr, "cpregd: domain %s refused by policy (CPREGD_HOOK_POLICY=refuse): %s\n", name, why);
	return EXIT_NO;
}

/* The one line a refusal gives: the deciding registers and the first remedy. */
static void refusal_line(const char *name, const struct cpreg_verdict *v)
{
	char regs[400] = "", remedy[330] = "";
	size_t off = 0, shown = 0, total = 0;

	for (size_t i = 0; i < cpreg_verdict_count(v); i++) {
		enum cpreg_outcome o = cpreg_verdict_outcome_at(v, i);
		struct cpreg_remedy rem[4];

		if (o != CPREG_OUT_FAIL && o != CPREG_OUT_UNKNOWN)
			continue;
		total++;
		if (shown < 6) {
			off += (size_t)snprintf(regs + off, off < sizeof(regs) ? sizeof(regs) - off : 0, "%s%s",
						shown ? ", " : "", cpreg_verdict_name_at(v, i));
			shown++;
		}
		if (!remedy[0] && cpreg_verdict_remedies(v, i, rem, 4) > 0)
			snprintf(remedy, sizeof(remedy), "; %s", rem[0].text);
	}
	fprintf(stderr, "cpregd: domain %s cannot run on this host: %s: %s%s%s (cpregctl explain says why)\n", name,
		cpreg_result_name(cpreg_verdict_result(v)), regs, total > shown ? ", ..." : "", remedy);
}

/* The domain XML from standard input, bounded. */
static int read_stdin(char **ret, size_t *ret_len)
{
	size_t cap = 65536, len = 0, k;
	char *buf = malloc(cap + 1), *n;

	while (buf && (k = fread(buf + len, 1, cap - len, stdin)) > 0) {
		len += k;
		if (len == cap) {
			if (cap >= CPREG_JSON_MAX || !(n = realloc(buf, 2 * cap + 1))) {
				free(buf);
				return -E2BIG;
			}
			buf = n;
			cap *= 2;
		}
	}
	if (!buf)
		return -ENOMEM;
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	return 0;
}

/* The verdict's passport after this hop into the domain XML, on standard output. */
static int accepted(const char *name, const char *xml, size_t len, const struct cpreg_verdict *v)
{
	char *json = NULL, *out = NULL, why[512];
	int ret;

	if (!cpreg_verdict_passport_after(v) || cpreg_passport_to_json(cpreg_verdict_passport_after(v), &json) < 0 ||
	    cpreg_domain_passport_set(xml, len, name, json, &out, why, sizeof(why)) < 0) {
		/* Compatible all the same: the VM goes on with the passport it came with. */
		syslog(LOG_WARNING, "domain %s: compatible, but its passport after this hop could not be written", name);
		free(json);
		return EXIT_OK;
	}
	fputs(out, stdout);
	ret = fflush(stdout) == 0 ? EXIT_OK : EXIT_ERR;
	free(json);
	free(out);
	return ret;
}

int cmd_libvirt_hook(int argc, char **argv)
{
	const char *name, *what = "";
	char *xml = NULL, *passport = NULL, why[600];
	struct cpreg_verdict *v = NULL;
	struct cpreg_error err = { 0 };
	struct http_reply rep = { 0 };
	size_t len = 0;
	int r, ret;

	/* libvirt passes NAME OP SUBOP EXTRA; only an incoming VM is judged. */
	if (argc < 3 || !(strcmp(argv[1], "migrate") == 0 || strcmp(argv[1], "restore") == 0) ||
	    strcmp(argv[2], "begin") != 0)
		return EXIT_OK;
	name = argv[0];
	hook_op = argv[1];
	openlog("cpregd-hook", LOG_PID, LOG_DAEMON);
	if (read_stdin(&xml, &len) < 0)
		return by_policy(name, "unreadable", "the domain XML on standard input could not be read");
	if (cpreg_domain_passport_get(xml, len, name, &passport, why, sizeof(why)) < 0) {
		ret = by_policy(name, "unreadable", why);
		goto out;
	}
	if (!passport) {
		ret = by_policy(name, "no-passport", "the domain carries no cpregd passport in its <metadata>");
		goto out;
	}
	r = http_unix_request(arg.socket, "POST", "/v1/check", passport, strlen(passport),
			      arg.timeout_ms < HOOK_DEADLINE_MS ? arg.timeout_ms : HOOK_DEADLINE_MS, &rep, &what);
	if (r < 0) {
		snprintf(why, sizeof(why), "cpregd (%s) did not answer: %s: %s", arg.socket, what, strerror(-r));
		ret = by_policy(name, "unanswered", why);
		goto out;
	}
	if (rep.status != 200 || cpreg_verdict_from_json(rep.body, rep.body_len, &v, &err) < 0) {
		snprintf(why, sizeof(why), "cpregd could not judge the passport (HTTP %d): %.400s", rep.status,
			 rep.status != 200 ? rep.body : err.message);
		why[strcspn(why, "\n")] = '\0';
		ret = by_policy(name, "unjudged", why);
		goto out;
	}
	if (cpreg_verdict_result(v) != CPREG_COMPATIBLE) {
		refusal_line(name, v);
		syslog(LOG_NOTICE, "domain %s refused: %s", name, cpreg_result_name(cpreg_verdict_result(v)));
		count_decision("refused", cpreg_result_name(cpreg_verdict_result(v)));
		ret = EXIT_NO;
		goto out;
	}
	count_decision("allowed", "compatible");
	ret = accepted(name, xml, len, v);
out:
	cpreg_verdict_unref(v);
	free(rep.body);
	free(passport);
	free(xml);
	closelog();
	return ret;
}
