/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cpregctl: the command line for orchestrators and operators.  This file
 * holds the options and the command table; each command lives in its room
 * (cpregctl.h).
 *
 * Exit status: 0 compatible or success, 1 incompatible (or, for diff, the
 * inventories differ), 2 usage or runtime error with the reason on stderr.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "cpregctl.h"
#include "domain.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: cpregctl [OPTIONS] COMMAND [ARGS]\n"
		"\n"
		"Commands:\n"
		"  inventory                 this host's inventory, from the local cpregd\n"
		"  health                    the local cpregd's health\n"
		"  refresh                   have the local cpregd probe again now; its health after that probe\n"
		"  peers                     the local cpregd's verdicts for its peers' inventories (cpregd --peers)\n"
		"  probe                     probe /dev/kvm directly (no daemon) and print the inventory\n"
		"  check SOURCE [DEST]       can a VM on SOURCE migrate here (local cpregd) or to DEST (offline)?\n"
		"  diff A B                  registers that differ, side by side by name\n"
		"  matrix FILE...            every ordered pair of a fleet, grouped into pools\n"
		"  explain SOURCE DEST       why a pair is or is not compatible, worst first, and what would change it\n"
		"  pools FILE...|DIR         migration pools: maximal sets of hosts where every ordered pair is\n"
		"                            compatible for the VM (its options from --disable, --psci-version...)\n"
		"  profile FILE...|DIR       the VM options that make these hosts one pool, verified pair by pair,\n"
		"                            as a QEMU -cpu string and libvirt domain XML\n"
		"  plan --before FILE...|DIR --after FILE...|DIR\n"
		"                            a rolling upgrade: may VMs evacuate before -> after and roll back,\n"
		"                            as given, with the profile, with QEMU 11.1; what blocks them\n"
		"  passport [HOST.json]      the passport of a VM born on HOST (or here, from the local cpregd)\n"
		"                            with the VM options given; a passport goes wherever a SOURCE does\n"
		"  passport --hop DEST.json PASSPORT.json\n"
		"                            the VM's passport after a hop to DEST (the kernel model; exit 1\n"
		"                            and nothing printed when the hop would fail)\n"
		"  passport --domain-xml DOMAIN.xml HOST.json|PASSPORT.json\n"
		"                            that domain XML with the passport in its <metadata>\n"
		"  libvirt-hook NAME OP SUBOP EXTRA\n"
		"                            libvirt's qemu hook (domain XML on stdin): on migrate and restore\n"
		"                            begin, the local cpregd judges the VM's passport; refused: exit 1\n"
		"\n"
		"Options:\n"
		"  -s, --socket PATH         cpregd's socket (default " DEFAULT_SOCKET ", or $CPREGD_SOCKET)\n"
		"  -p, --policy NAME|FILE    qemu-legacy, qemu-11.1, auto (default) or a site policy file\n"
		"  -j, --json                machine-readable output\n"
		"  -v, --verbose             also list differences that do not matter\n"
		"  -a, --all                 diff: every register, not only the migrated ones\n"
		"      --no-trial            check: the static answer alone\n"
		"      --psci-version X.Y    check: the VM pins this PSCI version (QEMU 11.1's -cpu property)\n"
		"      --timeout SECONDS     for daemon requests (default 60)\n"
		"      --disable LIST        vCPU features off, as after QEMU's -cpu host: for probe, the vCPU\n"
		"                            to build; for check/explain, the VM's (the source is adjusted)\n"
		"      --sve-max-vq N        check/explain: the VM's SVE vector lengths up to 128*N bits\n"
		"      --domain FILE.xml     the VM's options from its libvirt domain definition (host-passthrough,\n"
		"                            its CPU features, and QEMU properties through <qemu:commandline>)\n"
		"      --dev PATH            probe: the KVM device (default /dev/kvm)\n"
		"      --qemu PATH           probe: record this QEMU's version\n"
		"      --provenance TEXT     probe: record where the inventory comes from\n"
		"%s\n"
		"Exit status: 0 compatible or success, 1 incompatible (diff: different), 2 error.\n", backend_usage);
}

/* The commands, in the order --help lists them (the bash completion offers the same). */
static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "inventory", cmd_inventory }, { "health", cmd_health }, { "refresh", cmd_refresh }, { "peers", cmd_peers },
	{ "probe", cmd_probe }, { "check", cmd_check }, { "diff", cmd_diff }, { "matrix", cmd_matrix },
	{ "explain", cmd_explain }, { "pools", cmd_pools }, { "profile", cmd_profile }, { "plan", cmd_plan },
	{ "passport", cmd_passport }, { "libvirt-hook", cmd_libvirt_hook },
};

/* One option of the table below: 0 taken, or an exit status to stop with. */
static int take_option(int c, const char *value, struct cpreg_error *err)
{
	char *end;
	long s;

	switch (c) {
	case 's': arg.socket = value; break;
	case 'p': arg.policy = value; break;
	case 'j': arg.json = true; break;
	case 'v': arg.verbose = true; break;
	case 'a': arg.all = true; break;
	case 'T': arg.trial_off = true; break;
	case 'd': arg.dev = value; break;
	case 'q': arg.qemu = value; break;
	case 'P': arg.provenance = value; break;
	case 'X': arg.domain = value; break;
	case 'H': arg.hop = value; break;
	case 'x': arg.domain_xml = value; break;
	case 'M':
		if (cpreg_vm_option_set(&arg.vm, cpreg_vm_option_at(CPREG_VMOPT_SVE_MAX_VQ), value, err) < 0)
			return fail("--sve-max-vq: %s", err->message);
		break;
	case 'S':
		if (cpreg_vm_option_set(&arg.vm, cpreg_vm_option_at(CPREG_VMOPT_PSCI_VERSION), value, err) < 0)
			return fail("--psci-version: %s", err->message);
		break;
	case 'D':
		if (cpreg_vm_options_parse_disable(value, &arg.vm.disable, err) < 0)
			return fail("--disable: %s", err->message);
		break;
	case 't':
		s = strtol(value, &end, 10);
		if (*end || s < 1 || s > 3600)
			return fail("--timeout: expected 1 to 3600 seconds, got \"%s\"", value);
		arg.timeout_ms = (int)s * 1000;
		break;
	default:
		if (c >= 3000 && backend_option(c, value) == 0)
			break;
		usage(stderr);
		return EXIT_ERR;
	}
	return 0;
}

/* The VM as libvirt defines it (--domain); options given on the command line add to it. */
static int take_domain(void)
{
	struct cpreg_vm_options vm;
	char why[512];

	if (cpreg_domain_vm_options(arg.domain, &vm, why, sizeof(why)) < 0)
		return fail("--domain %s", why);
	arg.vm.disable |= vm.disable;
	if (!arg.vm.sve_max_vq)
		arg.vm.sve_max_vq = vm.sve_max_vq;
	if (!arg.vm.psci_version)
		arg.vm.psci_version = vm.psci_version;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "policy", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "all", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "no-trial", no_argument, NULL, 'T' },
		{ "timeout", required_argument, NULL, 't' },
		{ "disable", required_argument, NULL, 'D' },
		{ "dev", required_argument, NULL, 'd' },
		{ "qemu", required_argument, NULL, 'q' },
		{ "provenance", required_argument, NULL, 'P' },
		{ "psci-version", required_argument, NULL, 'S' },
		{ "sve-max-vq", required_argument, NULL, 'M' },
		{ "domain", required_argument, NULL, 'X' },
		{ "hop", required_argument, NULL, 'H' },
		{ "domain-xml", required_argument, NULL, 'x' },
		{}
	};
	struct cpreg_error err = { 0 };
	struct option *all;
	const char *cmd;
	int c, r = 0;

	arg.socket = getenv("CPREGD_SOCKET") ? getenv("CPREGD_SOCKET") : DEFAULT_SOCKET;
	take_plan_lists(&argc, argv);
	all = backend_merge_options(opts);
	if (!all)
		return fail("out of memory");
	while (r == 0 && (c = getopt_long(argc, argv, "s:p:jvah", all, NULL)) != -1) {
		if (c == 'h' || c == 'V') {
			free(all);
			if (c == 'V')
				printf("cpregctl " PACKAGE_VERSION "\n");
			else
				usage(stdout);
			return EXIT_OK;
		}
		r = take_option(c, optarg, &err);
	}
	free(all);
	if (r)
		return r;
	if (optind >= argc) {
		usage(stderr);
		return EXIT_ERR;
	}
	if (arg.domain && take_domain() != 0)
		return EXIT_ERR;
	cmd = argv[optind++];
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(cmd, commands[i].name) == 0)
			return commands[i].run(argc - optind, argv + optind);
	return fail("unknown command \"%s\" (see cpregctl --help)", cmd);
}
