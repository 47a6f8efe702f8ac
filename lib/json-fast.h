/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The inventory reader's fast path (json-fast.c) and what it hands the
 * general reader (json-read.c): the registers and masks it read, and the
 * document with those arrays replaced by [] for json-c to check the rest.
 */
#ifndef CPREG_JSON_FAST_H
#define CPREG_JSON_FAST_H

#include "cpreg-internal.h"

struct fast_regs {
	struct cpreg_reg *regs;
	size_t n, cap;
	bool ascending;         /* every id above the one before: the array is the inventory's as it stands */
	bool has_masks;         /* kvm.writable_masks was read here */
	uint64_t masks[CPREG_WRITABLE_MASKS];
	char *reduced;          /* the document with those arrays replaced by [] */
	size_t reduced_len;
};

/* 1: read (fr filled; free fr->regs and fr->reduced); 0: not a document for the fast path; < 0: error. */
int json_fast_scan(const char *text, size_t len, struct fast_regs *fr);

#endif
