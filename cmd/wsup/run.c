/* SPDX-License-Identifier: MIT */
/* Messages, the signal flag, and running programs and hooks. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wsup.h"

const char *wsup_prog = "wsup";
static volatile sig_atomic_t interrupted;

static void vmsg(const char *prefix, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s%s", wsup_prog, prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void wsup_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(": ", fmt, ap);
	va_end(ap);
}

void wsup_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(": warning: ", fmt, ap);
	va_end(ap);
}

void wsup_echo(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("[#] ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

void wsup_signals_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;   /* no SA_RESTART: a wait returns EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

bool wsup_interrupted(void)
{
	return interrupted != 0;
}

/* Child side: stdin from the pipe (or /dev/null), default signals, exec. */
static void child(char *const argv[], int in_fd)
{
	int fd = in_fd >= 0 ? in_fd : open("/dev/null", O_RDONLY);

	if (fd >= 0 && fd != 0) {
		dup2(fd, 0);
		close(fd);
	}
	signal(SIGPIPE, SIG_DFL);
	execvp(argv[0], argv);
	fprintf(stderr, "%s: cannot run %s: %s\n", wsup_prog, argv[0], strerror(errno));
	_exit(127);
}

static int wait_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

int wsup_run(char *const argv[], const char *input)
{
	int p[2] = { -1, -1 };
	pid_t pid;

	if (input && pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		int e = errno;

		if (input) {
			close(p[0]);
			close(p[1]);
		}
		return -e;
	}
	if (pid == 0)
		child(argv, p[0]);
	if (input) {
		size_t len = strlen(input), off = 0;

		close(p[0]);
		while (off < len) {
			ssize_t n = write(p[1], input + off, len - off);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;   /* the program stopped reading; its status tells */
			off += (size_t)n;
		}
		close(p[1]);
	}
	return wait_child(pid);
}

bool wsup_have_program(const char *name)
{
	const char *path = getenv("PATH");
	char buf[4096];

	if (!path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	while (*path) {
		size_t len = strcspn(path, ":");

		if (len && (size_t)snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, path, name) <
				   sizeof(buf) &&
		    access(buf, X_OK) == 0)
			return true;
		path += len + (path[len] == ':');
	}
	return false;
}

/* cmd with every "%i" replaced by ifname (malloc'd; NULL when out of memory). */
static char *expand(const char *cmd, const char *ifname)
{
	size_t n = 0, ilen = strlen(ifname), len;
	const char *s;
	char *out, *o;

	for (s = cmd; (s = strstr(s, "%i")); s += 2)
		n++;
	len = strlen(cmd) + n * ilen + 1;
	out = malloc(len);
	if (!out)
		return NULL;
	for (o = out, s = cmd; *s;) {
		if (s[0] == '%' && s[1] == 'i') {
			memcpy(o, ifname, ilen);
			o += ilen;
			s += 2;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

int wsup_hooks(const char *what, char *const *cmds, size_t n, const char *ifname)
{
	for (size_t i = 0; i < n; i++) {
		char *cmd = expand(cmds[i], ifname);
		char *argv[] = { "sh", "-c", cmd, NULL };
		int rc;

		if (!cmd) {
			wsup_err("%s: out of memory", what);
			return -1;
		}
		wsup_echo("%s", cmd);
		rc = wsup_run(argv, NULL);
		if (rc != 0) {
			if (rc < 0)
				wsup_err("%s: cannot run '%s': %s", what, cmd, strerror(-rc));
			else if (rc > 128)
				wsup_err("%s: '%s' was killed by signal %d", what, cmd, rc - 128);
			else
				wsup_err("%s: '%s' failed with exit status %d", what, cmd, rc);
			free(cmd);
			return -1;
		}
		free(cmd);
		if (wsup_interrupted()) {
			wsup_err("%s: interrupted", what);
			return -1;
		}
	}
	return 0;
}
