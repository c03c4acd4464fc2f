/* SPDX-License-Identifier: MIT */
#include "os/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

static bool use_stderr = true;
static enum ws_log_level max_lvl = WS_LOG_INFO;
static const char *log_ident = "wiresocket";

void ws_log_open(const char *ident, bool to_stderr, enum ws_log_level max_level)
{
	log_ident = ident;
	use_stderr = to_stderr;
	max_lvl = max_level;
	if (!to_stderr)
		openlog(ident, LOG_PID, LOG_DAEMON);
}

void ws_log(enum ws_log_level level, const char *fmt, ...)
{
	static const char *names[] = {[WS_LOG_ERR] = "error", [WS_LOG_WARN] = "warning",
				      [WS_LOG_INFO] = "info", [WS_LOG_DEBUG] = "debug"};
	va_list ap;

	if (level > max_lvl)
		return;
	va_start(ap, fmt);
	if (use_stderr) {
		char line[1024];
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		vsnprintf(line, sizeof(line), fmt, ap);
		fprintf(stderr, "[%5lld.%03ld] %s: %s: %s\n", (long long)ts.tv_sec, ts.tv_nsec / 1000000,
			log_ident, names[level] ? names[level] : "log", line);
	} else {
		vsyslog(level, fmt, ap);
	}
	va_end(ap);
}
