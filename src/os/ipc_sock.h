/* SPDX-License-Identifier: MIT */
/* The control socket (docs/control-socket.md): a UNIX socket per interface under
 * WS_RUN_DIR carrying the messages of core/ipc.h. */
#ifndef WS_IPC_SOCK_H
#define WS_IPC_SOCK_H

#include <stddef.h>
#include <sys/types.h>

#define WS_RUN_DIR "/run/wiresocket"

/* "/run/wiresocket/IFNAME.sock" and ".pid"; -ENAMETOOLONG when it does not fit. */
int ws_ipc_path(char *out, size_t cap, const char *ifname, const char *suffix);
/* Listen on IFNAME's socket (dir 0755, socket 0600). -EADDRINUSE when a live daemon owns it; a stale one is removed. */
int ws_ipc_listen(const char *ifname);
/* Connect to IFNAME's socket; -errno (-ENOENT: no such interface daemon). */
int ws_ipc_connect(const char *ifname);
/* Read one message (up to and including its empty line) into a malloc'd,
 * NUL-terminated buffer (release it with ws_ipc_release(buf, len + 1)). */
ssize_t ws_ipc_read_message(int fd, char **out, int timeout_ms);
/* Write all of buf. */
int ws_ipc_write_all(int fd, const char *buf, size_t len);
/*
 * One request/response round trip: send req, read the reply, check its final
 * errno=N line. Returns the reply (malloc'd) in *reply and 0, or -errno (the
 * daemon's error or a transport error).
 */
int ws_ipc_call(const char *ifname, const char *req, size_t req_len, char **reply, size_t *reply_len);

#endif
