/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cpregctl: verdicts and registers in words (cpregctl.h). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "cpregctl.h"

/*
 * The terminal's width when standard output is one (or $COLUMNS); 0 when it
 * is a file or a pipe: there each finding stays on one line, for grep.
 */
int text_width(void)
{
	static int w = -1;
	struct winsize ws;
	const char *c = getenv("COLUMNS");

	if (w >= 0)
		return w;
	if (c && atoi(c) >= 40)
		w = atoi(c);
	else if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
		w = ws.ws_col;
	else
		w = 0;
	return w;
}

/* Text after `lead` already printed (its width `col`), wrapped at word boundaries to the width, continuation lines indented by `indent`. */
void print_wrapped(const char *text, int col, int indent)
{
	int w = text_width();

	if (w == 0 || col + (int)strlen(text) <= w) {
		printf("%s\n", text);
		return;
	}
	while (*text) {
		int room = w - col, n = (int)strlen(text);

		if (n > room) {
			int cut = room;

			while (cut > 0 && text[cut] != ' ')
				cut--;
			n = cut > 0 ? cut : room;
		}
		printf("%.*s\n", n, text);
		text += n;
		while (*text == ' ')
			text++;
		if (*text)
			printf("%*s", indent, "");
		col = indent;
	}
}

/*
 * A verdict (typed: the library's own, or the daemon's read back with
 * cpreg_verdict_from_json) as a table, worst first: fail, unknown,
 * tolerated, then ok (ok only with -v).
 */
void print_verdict(const struct cpreg_verdict *v, const char *src, const char *dst)
{
	static const enum cpreg_outcome order[] = { CPREG_OUT_FAIL, CPREG_OUT_UNKNOWN, CPREG_OUT_TOLERATED, CPREG_OUT_OK };
	size_t counts[4] = { 0 };
	char sum[256];

	{
		char *head = NULL;

		if (asprintf(&head, "%s -> %s: %s (policy %s: %s)", src, dst, cpreg_result_name(cpreg_verdict_result(v)),
			     cpreg_verdict_policy(v), cpreg_verdict_policy_reason(v)) >= 0)
			print_wrapped(head, 0, 4);
		free(head);
	}
	for (int rank = 0; rank < 4; rank++)
		for (size_t i = 0; i < cpreg_verdict_count(v); i++) {
			const struct cpreg_finding *f = cpreg_verdict_at(v, i);
			char a[32], b[32];

			if (f->outcome != order[rank])
				continue;
			counts[rank]++;
			if (order[rank] == CPREG_OUT_OK && !arg.verbose)
				continue;
			if (f->kind == CPREG_FIND_COUNT_EXCEEDED) {
				snprintf(a, sizeof(a), "%" PRIu64, f->source_value);
				snprintf(b, sizeof(b), "%" PRIu64, f->destination_value);
			} else {
				snprintf(a, sizeof(a), f->has_source ? "0x%016" PRIx64 : "-", f->source_value);
				snprintf(b, sizeof(b), f->has_destination ? "0x%016" PRIx64 : "-", f->destination_value);
			}
			{
				char row[160];
				/* The columns take 97 characters; a narrower terminal gets the row in words. */
				int col = text_width() && text_width() < 98
					? snprintf(row, sizeof(row), "  %s %s (%s) %s -> %s", cpreg_outcome_name(f->outcome), f->name,
						   cpreg_finding_kind_name(f->kind), a, b)
					: snprintf(row, sizeof(row), "  %-9s %-24s %-19s %18s -> %-18s", cpreg_outcome_name(f->outcome),
						   f->name, cpreg_finding_kind_name(f->kind), a, b);

				/* On a terminal narrower than the row, the message goes under it, wrapped. */
				if (text_width() && col + 1 + (int)strlen(f->message) > text_width()) {
					printf("%s\n%12s", row, "");
					col = 12;
				} else {
					col = printf("%s ", row);
				}
				print_wrapped(f->message, col, 12);
			}
		}
	printf("  %zu fail, %zu unknown, %zu tolerated, %zu ok\n", counts[0], counts[1], counts[2], counts[3]);
	if (cpreg_verdict_trial_summary(v, sum, sizeof(sum)))
		print_wrapped(sum, printf("  trial: "), 4);
	else
		printf("  static check only: no trial ran\n");
}

/* The verdict as cpreg-verdict/1 on standard output (check --json, explain --json). */
int put_verdict_json(const struct cpreg_verdict *v)
{
	char *json = NULL;

	if (cpreg_verdict_to_json(v, &json) < 0)
		return fail("out of memory"), -1;
	fputs(json, stdout);
	free(json);
	return 0;
}

void value_text(const struct cpreg_reg *r, char *buf, size_t len)
{
	if (!r)
		snprintf(buf, len, "-");
	else if (r->state == CPREG_WIDE)
		snprintf(buf, len, "(wide)");
	else if (r->state == CPREG_UNREADABLE)
		snprintf(buf, len, "(%s)", strerrorname_np(r->read_errno));
	else
		snprintf(buf, len, "0x%" PRIx64, r->value);
}

/* "ID_AA64ISAR0_EL1.Atomic (FEAT_LSE): 2 -> 0" for each field that differs. */
void print_fields(uint64_t id, uint64_t a, uint64_t b, const char *indent)
{
	struct cpreg_field_change ch[40];
	int n = cpreg_field_diff(id, a, b, ch, 40);

	for (int i = 0; i < n; i++) {
		char name[80];

		cpreg_field_change_name(&ch[i], name, sizeof(name));
		if (ch[i].field.width > 4)
			/* Wide fields (MIDR's implementer and part number, CTR's, CLIDR's) read best in hex. */
			printf("%s%s%s%s%s: %#" PRIx64 " -> %#" PRIx64 "\n", indent, name, ch[i].field.feat ? " (" : "",
			       ch[i].field.feat ? ch[i].field.feat : "", ch[i].field.feat ? ")" : "", (uint64_t)ch[i].a,
			       (uint64_t)ch[i].b);
		else
			printf("%s%s%s%s%s: %" PRId64 " -> %" PRId64 "\n", indent, name, ch[i].field.feat ? " (" : "",
			       ch[i].field.feat ? ch[i].field.feat : "", ch[i].field.feat ? ")" : "", ch[i].a, ch[i].b);
	}
}

struct jw jw_stdout(void)
{
	return (struct jw){ .out = stdout, .first = true };
}

int jw_done(struct jw *w, int ret)
{
	int r = jw_finish(w);

	return r < 0 ? fail("cannot write the answer: %s", strerror(-r)) : ret;
}
