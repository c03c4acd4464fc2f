/* SPDX-License-Identifier: MIT */
#ifndef WS_CTL_H
#define WS_CTL_H

struct ws_device;

/* Serve the device until SIGTERM/SIGINT (blocked by the caller in every thread). */
int ws_ctl_run(struct ws_device *dev, int listen_fd);

#endif
