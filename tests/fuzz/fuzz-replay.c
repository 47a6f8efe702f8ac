/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Every build's run of a fuzz target (linked with it, FUZZ_TARGET names it)
 * over its committed seed corpus, tests/fuzz/TARGET/, and over every input
 * a fuzzing run ever crashed on, tests/fuzz/regressions/TARGET/: no crash
 * and, in the sanitizer build, no report.  libFuzzer itself runs the same
 * target under make fuzz (--enable-fuzzing).
 */
#include "config.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned run_dir(const char *dir)
{
	struct dirent **ents = NULL;
	unsigned runs = 0;
	int n = scandir(dir, &ents, NULL, alphasort);

	for (int i = 0; i < n; i++) {
		char path[4096];
		FILE *f;
		long len;
		uint8_t *buf;

		if (ents[i]->d_name[0] == '.') {
			free(ents[i]);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
		f = fopen(path, "rb");
		if (f && fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
		    (buf = malloc((size_t)len + 1)) != NULL) {
			if (fread(buf, 1, (size_t)len, f) == (size_t)len) {
				LLVMFuzzerTestOneInput(buf, (size_t)len);
				runs++;
			}
			free(buf);
		}
		if (f)
			fclose(f);
		free(ents[i]);
	}
	free(ents);
	return runs;
}

int main(void)
{
	unsigned seeds = run_dir(TOP_SRCDIR "/tests/fuzz/" FUZZ_TARGET);
	unsigned regressions = run_dir(TOP_SRCDIR "/tests/fuzz/regressions/" FUZZ_TARGET);

	tap_ok(seeds > 0, "fuzz target %s: %u seed inputs ran without a crash", FUZZ_TARGET, seeds);
	tap_ok(regressions > 0, "fuzz target %s: %u regression inputs (inputs that once failed) ran without a crash",
	       FUZZ_TARGET, regressions);
	return tap_done();
}
