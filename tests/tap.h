/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Minimal TAP producer for automake's tap-driver.sh: each check prints
 * "ok N - what" or "not ok N - what", and the plan goes last.
 */
#ifndef CPREG_TAP_H
#define CPREG_TAP_H

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

static inline int tap_ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline int tap_ok(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", cond ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (!cond)
		tap_failed++;
	return cond;
}

static inline void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void tap_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static inline void tap_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void tap_skip(const char *fmt, ...)
{
	va_list ap;

	printf("ok %d # SKIP ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#define tap_eq_u64(a, b, ...) \
	(tap_ok((uint64_t)(a) == (uint64_t)(b), __VA_ARGS__) ? 1 : \
	 (tap_diag("  got 0x%" PRIx64 ", expected 0x%" PRIx64, (uint64_t)(a), (uint64_t)(b)), 0))
static inline int tap_str_same(const char *a, const char *b)
{
	if (a && b && strcmp(a, b) == 0)
		return 1;
	tap_diag("  got \"%s\", expected \"%s\"", a ? a : "(null)", b ? b : "(null)");
	return 0;
}
#define tap_eq_str(a, b, ...) tap_ok(tap_str_same((a), (b)), __VA_ARGS__)

#endif
