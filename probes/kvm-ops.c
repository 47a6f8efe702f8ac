/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The real kernel behind struct cpreg_kvm_ops, and host facts from sysfs. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"

static int real_open(void *ctx, const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* One thin wrapper: retry EINTR, return -errno (the KVM selftests' habit). */
static int real_ioctl(void *ctx, int fd, unsigned long request, void *arg)
{
	int r;

	do
		r = ioctl(fd, request, arg);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

static void real_close(void *ctx, int fd)
{
	if (fd >= 0)
		close(fd);
}

/* MIDR_EL1 of each CPU: /sys/devices/system/cpu/cpuN/regs/identification/midr_el1. */
static int real_host_facts(void *ctx, struct cpreg_inventory *inv)
{
	struct utsname u;
	char host[256];
	long page = sysconf(_SC_PAGESIZE);

	if (uname(&u) == 0) {
		cpreg_inventory_set_text(inv, CPREG_TEXT_KERNEL, u.release);
		cpreg_inventory_set_text(inv, CPREG_TEXT_MACHINE, u.machine);
	}
	if (gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		cpreg_inventory_set_text(inv, CPREG_TEXT_HOSTNAME, host);
	}
	if (page > 0)
		cpreg_inventory_set_number(inv, CPREG_NUM_PAGE_SIZE, page);
	for (unsigned cpu = 0; cpu < 4096; cpu++) {
		char path[128], buf[64];
		FILE *f;
		uint64_t midr;

		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%u/regs/identification/midr_el1", cpu);
		f = fopen(path, "re");
		if (!f) {
			if (errno == ENOENT && access("/sys/devices/system/cpu/cpu0", F_OK) == 0) {
				snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%u", cpu);
				if (access(path, F_OK) == 0)
					continue;  /* offline CPU, or no MIDR there */
			}
			break;
		}
		if (fgets(buf, sizeof(buf), f) && sscanf(buf, "0x%" SCNx64, &midr) == 1)
			cpreg_inventory_add_cpu_midr(inv, cpu, midr);
		fclose(f);
	}
	return 0;
}

const struct cpreg_kvm_ops cpreg_kvm_real_ops = {
	.open = real_open,
	.ioctl = real_ioctl,
	.close = real_close,
	.host_facts = real_host_facts,
	.ctx = NULL,
};

int cpreg_qemu_version(const char *qemu, char **ret)
{
	int pipefd[2], status;
	char buf[256] = "", *p;
	size_t len = 0;
	pid_t pid;

	if (!qemu || !*qemu)
		return -EINVAL;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(pipefd[0]);
		close(pipefd[1]);
		return -e;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(pipefd[1], STDOUT_FILENO);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDERR_FILENO);
		}
		execlp(qemu, qemu, "--version", (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	for (;;) {
		ssize_t k = read(pipefd[0], buf + len, sizeof(buf) - 1 - len);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		len += k;
		if (len >= sizeof(buf) - 1)
			break;
	}
	buf[len] = '\0';
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -ENOENT;
	/* "QEMU emulator version 7.2.19 (Debian 1:7.2+dfsg-7+deb12u18)" */
	p = strstr(buf, "version ");
	if (!p)
		return -EBADMSG;
	p += 8;
	p[strcspn(p, " \n(")] = '\0';
	if (!*p)
		return -EBADMSG;
	*ret = strdup(p);
	return *ret ? 0 : -ENOMEM;
}
