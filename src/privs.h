/* SPDX-License-Identifier: MIT */
/* Dropping privileges once the TUN device, sockets and files are open. */
#ifndef WS_PRIVS_H
#define WS_PRIVS_H

/*
 * Keep only CAP_NET_ADMIN (SO_MARK changes at run time) in the calling
 * thread's capability sets and the bounding set, and set no_new_privs.
 * Threads created afterwards inherit this. Returns 0 or -errno.
 */
int ws_privs_drop(void);

#endif
