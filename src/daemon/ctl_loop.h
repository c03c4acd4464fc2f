/* SPDX-License-Identifier: MIT */
/* The ctl thread's event loop (ctl_loop.c). */
#ifndef WS_CTL_LOOP_H
#define WS_CTL_LOOP_H

struct ws_device;

/* Serve the device until SIGTERM/SIGINT (blocked by the caller in every thread), or until
 * ws_device_stop(dev) is called from another thread. */
int ws_ctl_run(struct ws_device *dev, int listen_fd);
/* Serve up to one burst of the rx inbox (what ws_ctl_run does when it is signalled). */
void ws_ctl_drain_inbox(struct ws_device *dev);

#endif
