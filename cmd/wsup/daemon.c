/* SPDX-License-Identifier: MIT */
/*
 * Starting and stopping wsd(8). wsd without -f returns only once the TUN
 * device and the control socket are ready (or with its error on stderr).
 * Stopping signals only a process that is a wsd serving this very interface
 * (/proc/PID/comm and the last argument of /proc/PID/cmdline), so a stale
 * pid file whose PID was reused is never acted on.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/ipc.h"
#include "os/ipc_sock.h"
#include "wsup.h"

enum { POLL_MS = 20 };

/* wsd next to this program (/proc/self/exe), else "wsd" from PATH. */
static void find_wsd(char *out, size_t cap)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash && (size_t)snprintf(out, cap, "%.*s/wsd", (int)(slash - exe), exe) < cap &&
		    access(out, X_OK) == 0)
			return;
	}
	snprintf(out, cap, "wsd");
}

static pid_t read_pidfile(const char *ifname)
{
	char path[WSUP_PATH_MAX], buf[32];
	uint32_t pid = 0;
	ssize_t n;
	int fd;

	if (ws_ipc_path(path, sizeof(path), ifname, "pid") ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (ws_conf_parse_u32(&pid, buf, 1, INT_MAX) < 0)
		return 0;
	return (pid_t)pid;
}

int wsup_daemon_start(const char *ifname, const char *config, unsigned mtu, pid_t *pid)
{
	char wsd[PATH_MAX], m[16];
	char *argv[] = { wsd, "-m", m, (char *)config, (char *)ifname, NULL };
	int rc;

	find_wsd(wsd, sizeof(wsd));
	snprintf(m, sizeof(m), "%u", mtu);
	wsup_echo("%s -m %s %s %s", wsd, m, config, ifname);
	rc = wsup_run(argv, NULL);
	if (rc != 0) {
		if (rc < 0)
			wsup_err("cannot run %s: %s", wsd, strerror(-rc));
		else
			wsup_err("%s did not start (exit status %d)", wsd, rc);
		return -1;
	}
	*pid = read_pidfile(ifname);
	return 0;
}

/* Read a small /proc file into buf (NUL-terminated); its length or -1. */
static ssize_t read_proc(pid_t pid, const char *what, char *buf, size_t cap)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/* Gone, or a zombie nobody has reaped yet. */
static bool pid_gone(pid_t pid)
{
	char buf[512], *paren;

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return true;
	if (read_proc(pid, "stat", buf, sizeof(buf)) < 0)
		return true;
	paren = strrchr(buf, ')');
	return paren && (paren[2] == 'Z' || paren[2] == 'X');
}

/* comm is "wsd" and the last argument is ifname. */
static bool is_our_wsd(pid_t pid, const char *ifname)
{
	char buf[4096];
	ssize_t n = read_proc(pid, "comm", buf, sizeof(buf));
	const char *last;

	if (n < 0 || strcmp(buf, "wsd\n"))
		return false;
	n = read_proc(pid, "cmdline", buf, sizeof(buf));
	if (n <= 1 || buf[n - 1] != '\0')
		return false;
	last = buf + n - 1;
	while (last > buf && last[-1] != '\0')
		last--;
	return !strcmp(last, ifname);
}

static bool file_exists(const char *ifname, const char *suffix)
{
	char path[WSUP_PATH_MAX];

	return !ws_ipc_path(path, sizeof(path), ifname, suffix) && access(path, F_OK) == 0;
}

bool wsup_daemon_running(const char *ifname)
{
	int fd = ws_ipc_connect(ifname);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Wait until pid has exited and (when sock) its socket is gone. */
static bool wait_gone(pid_t pid, const char *ifname, unsigned ms, bool sock)
{
	for (unsigned t = 0; t <= ms; t += POLL_MS) {
		if (pid_gone(pid) && !(sock && file_exists(ifname, "sock")))
			return true;
		sleep_ms(POLL_MS);
	}
	return false;
}

static int kill_wsd(pid_t pid, const char *ifname)
{
	wsup_echo("kill -TERM %d (wsd %s)", (int)pid, ifname);
	if (kill(pid, SIGTERM) < 0 && errno != ESRCH) {
		wsup_err("cannot signal wsd %d: %s", (int)pid, strerror(errno));
		return -1;
	}
	/* Only the process: a daemon that dropped its privileges leaves its run
	 * files, which leftovers() removes. */
	if (wait_gone(pid, ifname, WSUP_STOP_WAIT_MS, false))
		return 0;
	wsup_warn("wsd %d (%s) did not stop within %d s", (int)pid, ifname,
		  WSUP_STOP_WAIT_MS / 1000);
	if (pid_gone(pid))
		return 0;
	wsup_echo("kill -KILL %d (wsd %s)", (int)pid, ifname);
	kill(pid, SIGKILL);
	if (wait_gone(pid, ifname, WSUP_KILL_WAIT_MS, false))
		return 0;
	wsup_err("wsd %d (%s) is still running", (int)pid, ifname);
	return -1;
}

/* After the daemon: a TUN left behind, stale socket and pid files. */
static int leftovers(const char *ifname)
{
	char kind[32], sock[WSUP_PATH_MAX], pid[WSUP_PATH_MAX];
	int rc = 0;

	if (ws_nl_link_index(ifname) > 0) {
		if (wsup_link_kind(ifname, kind, sizeof(kind)) == 0 && !strcmp(kind, "tun")) {
			wsup_echo("ip link delete dev %s", ifname);
			if ((rc = ws_nl_link_del(ifname)) < 0 && rc != -ENODEV)
				wsup_err("cannot delete %s: %s", ifname, strerror(-rc));
			rc = rc == -ENODEV ? 0 : rc;
		} else {
			wsup_warn("%s exists but is not a TUN device: left alone", ifname);
		}
	}
	ws_ipc_path(sock, sizeof(sock), ifname, "sock");
	ws_ipc_path(pid, sizeof(pid), ifname, "pid");
	if (access(sock, F_OK) == 0 || access(pid, F_OK) == 0) {
		wsup_echo("rm -f %s %s", sock, pid);
		unlink(sock);
		unlink(pid);
	}
	return rc < 0 ? -1 : 0;
}

int wsup_daemon_stop(const char *ifname, pid_t recorded)
{
	pid_t pid = read_pidfile(ifname);
	int rc = 0;

	if (!(pid && !pid_gone(pid) && is_our_wsd(pid, ifname)))
		pid = recorded;
	if (pid && !pid_gone(pid) && is_our_wsd(pid, ifname)) {
		rc = kill_wsd(pid, ifname);
	} else if (wsup_daemon_running(ifname)) {
		wsup_err("a daemon answers on %s's control socket, but no wsd process for %s was "
			 "found: left running", ifname, ifname);
		return -1;
	}
	if (rc < 0)
		return rc;
	return leftovers(ifname);
}
