/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cpregctl's rooms: the command table and the options in cpregctl.c (which
 * calls the rooms, none of which calls it), what all use in ctl-util.c, the
 * verdict in words in ctl-print.c, the commands that ask the local cpregd
 * in ctl-daemon.c, the offline pair commands in ctl-check.c, the fleet
 * commands in ctl-matrix.c and ctl-fleet.c.
 *
 * Exit status: 0 compatible or success, 1 incompatible (or, for diff, the
 * inventories differ), 2 usage or runtime error with the reason on stderr.
 */
#ifndef CPREGCTL_H
#define CPREGCTL_H

#include <stdbool.h>
#include <stdio.h>

#include "cpreg.h"
#include "jsonw.h"
#include "paths.h"


enum { EXIT_OK = 0, EXIT_NO = 1, EXIT_ERR = 2 };

/* The command line's options, shared by every command. */
struct ctl_args {
	const char *socket;
	const char *policy;
	bool json;
	bool verbose;
	bool all;
	int timeout_ms;
	const char *dev;
	const char *qemu;
	struct cpreg_vm_options vm;   /* the VM's options: --disable, --sve-max-vq, --psci-version, --domain */
	bool trial_off;
	const char *provenance;
	const char *domain;
	const char *hop;              /* passport --hop DESTINATION.json */
	const char *domain_xml;       /* passport --domain-xml DOMAIN.xml */
};
extern struct ctl_args arg;

/* ---- ctl-util.c: what every command uses ---- */
/* "cpregctl: " and the message on stderr; returns EXIT_ERR. */
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A host inventory file; a bad one (or a passport) is named with its JSON path. */
int load(const char *path, struct cpreg_inventory **ret);
/*
 * A source: a host inventory, or a VM passport as the source inventory a
 * check against dst reads (cpreg_passport_source; dst NULL: no
 * destination's values) with the passport's own options.
 */
struct source {
	struct cpreg_inventory *inv;
	struct cpreg_passport *passport;   /* NULL for a host inventory */
	struct cpreg_vm_options vm;        /* the command line's, or the passport's */
};
int load_source(const char *path, const struct cpreg_inventory *dst, struct source *ret);
void source_clear(struct source *s);
/* The static check of the source against dst, with its options. */
int judge_source(const struct source *s, const struct cpreg_inventory *dst, const struct cpreg_policy *policy,
		 struct cpreg_verdict **ret);
/* --policy: a built-in name, or a site policy file; *ret NULL for auto. */
int get_policy(struct cpreg_policy **ret);
const char *host_label(const struct cpreg_inventory *inv, const char *fallback);
int verdict_exit(enum cpreg_result r);
struct cpreg_vm_options vm_options(void);

/* ---- ctl-print.c: verdicts and registers in words ---- */
int text_width(void);
void print_wrapped(const char *text, int col, int indent);
void print_verdict(const struct cpreg_verdict *v, const char *src, const char *dst);
int put_verdict_json(const struct cpreg_verdict *v);
void value_text(const struct cpreg_reg *r, char *buf, size_t len);
void print_fields(uint64_t id, uint64_t a, uint64_t b, const char *indent);
/* A JSON writer to standard output, and its end: ret, or EXIT_ERR when writing failed. */
struct jw jw_stdout(void);
int jw_done(struct jw *w, int ret);

/* ---- ctl-daemon.c: the local cpregd ---- */
struct http_reply;
int request(const char *method, const char *target, const char *body, size_t len, struct http_reply *rep);
/* check SOURCE against this host: the daemon judges, with its live trial. */
int check_with_daemon(const char *path);

/* ---- ctl-fleet.c ---- */
/* Take "--before FILE..." and "--after FILE..." out of argv before option parsing. */
int take_plan_lists(int *argc, char **argv);

/* ---- the commands: (arguments after the command's name) -> exit status ---- */
int cmd_probe(int argc, char **argv);
int cmd_inventory(int argc, char **argv);
int cmd_health(int argc, char **argv);
int cmd_refresh(int argc, char **argv);
int cmd_peers(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_matrix(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_pools(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_passport(int argc, char **argv);
int cmd_libvirt_hook(int argc, char **argv);

#endif
