/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Where the packaged cpregd keeps its socket and state: one home for cpregd and cpregctl. */
#ifndef CPREG_PATHS_H
#define CPREG_PATHS_H

#define DEFAULT_SOCKET "/run/cpregd/cpregd.sock"
#define DEFAULT_STATE_DIR "/var/lib/cpregd"
/* The libvirt hook (cpregctl libvirt-hook) counts its decisions in this file of the state directory; cpregd takes it. */
#define HOOK_SPOOL_NAME "hook-decisions"

#endif
