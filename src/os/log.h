/* SPDX-License-Identifier: MIT */
/* Daemon logging: stderr in the foreground, syslog otherwise. Never log keys. */
#ifndef WS_LOG_H
#define WS_LOG_H

#include <stdbool.h>

enum ws_log_level { WS_LOG_ERR = 3, WS_LOG_WARN = 4, WS_LOG_INFO = 6, WS_LOG_DEBUG = 7 };

void ws_log_open(const char *ident, bool to_stderr, enum ws_log_level max_level);
void ws_log(enum ws_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define ws_err(...) ws_log(WS_LOG_ERR, __VA_ARGS__)
#define ws_warn(...) ws_log(WS_LOG_WARN, __VA_ARGS__)
#define ws_info(...) ws_log(WS_LOG_INFO, __VA_ARGS__)
#define ws_debug(...) ws_log(WS_LOG_DEBUG, __VA_ARGS__)

#endif
