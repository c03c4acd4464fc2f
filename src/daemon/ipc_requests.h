/* SPDX-License-Identifier: MIT */
/* The control socket requests (ipc_requests.c), run on the ctl thread. */
#ifndef WS_UAPI_H
#define WS_UAPI_H

#include <sys/types.h>

struct ws_device;
struct ws_ipc_buf;

/* Run one whole request req[0..n) (n < 0: it could not be read, -errno) and
 * build its reply, ending in errno=N, in *out (initialised here; free it with
 * ws_ipc_buf_free). */
void ws_ipc_requests_exec(struct ws_device *dev, char *req, ssize_t n, struct ws_ipc_buf *out);

#endif
