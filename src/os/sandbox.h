/* SPDX-License-Identifier: MIT */
/*
 * The seccomp allow-list of the running daemon (every thread: ctl, tx, rx,
 * the crypto workers and anything that resolves names). A system call that
 * is not on it kills the whole process (SECCOMP_RET_KILL_PROCESS; the kernel
 * logs it, e.g. "audit: type=1326 ... comm="wsd" ... syscall=N"). The list,
 * and why each entry is there, is in sandbox.c and wsd(8).
 */
#ifndef WS_SANDBOX_H
#define WS_SANDBOX_H

#include <stdbool.h>

/* True when built with AddressSanitizer, whose run time needs calls beyond the list. */
bool ws_sandbox_sanitized(void);

/*
 * Install the filter for the calling thread and every thread it creates
 * afterwards. allow_unlink: the daemon stays root and may remove its run
 * files at exit. 0 or -errno.
 */
int ws_sandbox_apply(bool allow_unlink);

#endif
