/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The NFD files within NFD's limit (daemon/publish.c): NFD ignores a
 * features.d file over 64 KiB whole (MaxFeatureFileSize = 65536 in NFD's
 * source/local), so the labels span files, each within it, and what fits
 * in none is left out and counted, never a file NFD would drop.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "publish.h"
#include "tap.h"

/* The accepts-X labels of parts, each once, in order; 0 when every part is within the limit. */
static int check_parts(char **parts, size_t n, size_t n_accepts, size_t dropped, const char *prefix)
{
	size_t next = 0, over = 0, headers = 0;

	for (size_t k = 0; k < n; k++) {
		char *save = NULL, *copy = strdup(parts[k]);

		over += strlen(parts[k]) > PUBLISH_NFD_FILE_MAX;
		headers += strstr(parts[k], "# +expiry-time=") != NULL;
		for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			char want[400];

			if (strstr(l, "/accepts-") == NULL)
				continue;
			snprintf(want, sizeof(want), "%s/accepts-%016zx=true", prefix, next);
			if (strcmp(l, want) == 0)
				next++;
		}
		free(copy);
	}
	return over == 0 && headers == n && next + dropped == n_accepts ? 0 : 1;
}

int main(void)
{
	static const size_t counts[] = { 0, 1, 900, 1100, 5000, 40000 };
	char long_prefix[254];

	/* A prefix of 253 characters: a DNS subdomain of four 62-character labels and one of 1. */
	snprintf(long_prefix, sizeof(long_prefix), "%.62s.%.62s.%.62s.%.62s.x",
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
		 "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
		 "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd");
	for (int p = 0; p < 2; p++) {
		const char *prefix = p ? long_prefix : PUBLISH_NFD_PREFIX;

		for (size_t c = 0; c < sizeof(counts) / sizeof(*counts); c++) {
			size_t n_acc = counts[c], n = 0, dropped = 0;
			const char **acc = calloc(n_acc + 1, sizeof(*acc));
			struct publish_facts f = { .short_digest = "0123456789abcdef", .kernel = "6.12.1", .qemu_version = "11.1.3",
						   .policy = "qemu-11.1", .complete = true };
			char **parts = NULL;
			size_t per = 0;

			for (size_t i = 0; i < n_acc; i++) {
				char *d = malloc(17);

				snprintf(d, 17, "%016zx", i);
				acc[i] = d;
			}
			f.accepts = acc;
			f.n_accepts = n_acc;
			per = strlen(prefix) + strlen("/accepts-0123456789abcdef=true\n");
			int r = publish_nfd_parts(&f, prefix, 0, &parts, &n, &dropped);

			tap_ok(r == 0 && check_parts(parts, n, n_acc, dropped, prefix) == 0 && n >= 1 && n <= PUBLISH_NFD_MAX_PARTS &&
			       (dropped == 0 || n == PUBLISH_NFD_MAX_PARTS) &&
			       (dropped == 0) == (n_acc * per < (size_t)PUBLISH_NFD_MAX_PARTS * (PUBLISH_NFD_FILE_MAX - 400)),
			       "%zu accepts, a %zu-character prefix: %zu file(s) within %d bytes, each with its expiry, every label "
			       "once, %zu left out", n_acc, strlen(prefix), n, PUBLISH_NFD_FILE_MAX, dropped);
			for (size_t k = 0; k < n; k++)
				free(parts[k]);
			free(parts);
			for (size_t i = 0; i < n_acc; i++)
				free((char *)acc[i]);
			free(acc);
		}
	}
	return tap_done();
}
