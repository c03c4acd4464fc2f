/* SPDX-License-Identifier: MIT */
/*
 * ws link show/add/del: tunnel interfaces, each served by one wsd.
 * add runs `wsd CONFIG IFNAME` (the wsd beside this binary, else the one in
 * PATH), which forks and exits 0 once the TUN and the control socket are
 * ready; its error is relayed as one line. del signals the daemon named by
 * IFNAME.pid only after its control socket answered, then waits for the
 * process to go and removes the socket and pid files (a daemon that dropped
 * its privileges cannot remove them from the root-only run directory).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ws.h"

enum {
	DEL_TIMEOUT_MS = 5000,
	DEL_POLL_MS = 50,
	WSD_OUTPUT_MAX = 4096,
};

void ws_link_help(FILE *f)
{
	fprintf(f, "Usage: ws [-j] link show [IFACE [config]]\n"
		   "       ws link add IFACE config FILE\n"
		   "       ws link del IFACE\n"
		   "show lists the interfaces with a live wsd (listen port, peers, pid); with\n"
		   "'config' it prints IFACE's running configuration (as 'ws showconf').\n"
		   "add starts wsd for IFACE with the ws.conf(5) FILE; del stops it (an\n"
		   "interface wsup brought up is taken down with wsdown instead).\n");
}

static const struct ws_word config_keyword[] = {
	{ "config", NULL, NULL },
	{ NULL, NULL, NULL },
};

static int run_path(char *out, size_t cap, struct ws_cli *cli, const char *ifname,
		    const char *suffix)
{
	int n = snprintf(out, cap, "%s/%s.%s", cli->run_dir, ifname, suffix);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* The pid in RUN/IFNAME.pid: > 1, or -errno. */
static long read_pid(struct ws_cli *cli, const char *ifname)
{
	char path[PATH_MAX], buf[32], *end;
	FILE *f;
	long pid;
	size_t n;

	if (run_path(path, sizeof(path), cli, ifname, "pid"))
		return -ENAMETOOLONG;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	pid = strtol(buf, &end, 10);
	if (end == buf || (*end && *end != '\n') || pid <= 1 || pid > INT_MAX)
		return -EINVAL;
	return pid;
}

/* ---- show ---- */

/* One line (or object) per interface, named as its socket is. */
static void render_link(struct ws_print *p, struct ws_cli *cli, const char *ifname,
			const struct ws_model_iface *m)
{
	long pid = read_pid(cli, ifname);

	ws_print_open_object(p, NULL);
	ws_print_string(p, WS_PRINT_ANY, "interface", "%s:", ifname);
	ws_print_u64(p, WS_PRINT_ANY, "listen_port", " listen-port %" PRIu64, m->listen_port);
	ws_print_u64(p, WS_PRINT_ANY, "peers", " peers %" PRIu64, (uint64_t)m->n_peers);
	if (pid > 0)
		ws_print_u64(p, WS_PRINT_ANY, "pid", " pid %" PRIu64, (uint64_t)pid);
	else
		ws_print_null(p, WS_PRINT_JSON, "pid", NULL);
	ws_print_text(p, "\n");
	ws_print_close_object(p);
}

static int link_show_one(struct ws_cli *cli, const char *ifname)
{
	struct ws_model_iface m;
	struct ws_print p;

	if (ws_cli_get(cli, ifname, &m, false)) {
		ws_model_free(&m);
		return WS_EXIT_FAIL;
	}
	ws_print_init(&p, cli->out, cli->json);
	ws_print_open_array(&p, NULL);
	render_link(&p, cli, ifname, &m);
	ws_print_close_array(&p);
	ws_print_end(&p);
	ws_model_free(&m);
	return WS_EXIT_OK;
}

static int link_show_all(struct ws_cli *cli)
{
	struct ws_print p;
	char **names;
	size_t n;
	int ret = ws_cli_list(cli, &names, &n);

	if (ret)
		return ws_cli_fail(cli, "cannot list %s: %s", cli->run_dir, strerror(-ret));
	ws_print_init(&p, cli->out, cli->json);
	ws_print_open_array(&p, NULL);
	for (size_t i = 0; i < n; i++) {
		struct ws_model_iface m;

		if (!ws_cli_get(cli, names[i], &m, true))
			render_link(&p, cli, names[i], &m);
		ws_model_free(&m);
	}
	ws_print_close_array(&p);
	ws_print_end(&p);
	ws_cli_free_names(names, n);
	return cli->errors ? WS_EXIT_FAIL : WS_EXIT_OK;
}

/* ws link show [IFACE [config]] */
static int link_show(struct ws_cli *cli, int argc, char **argv)
{
	if (argc > 3)
		return ws_cli_fail(cli, "link show: unexpected argument '%s'", argv[3]);
	if (argc > 1 && !ws_cli_check_ifname(cli, argv[1]))
		return WS_EXIT_FAIL;
	if (argc == 3 && ws_cli_lookup(cli, config_keyword, argv[2], "link show keyword") < 0)
		return WS_EXIT_FAIL;
	if (argc == 3)
		return ws_show_config(cli, argv[1]);
	return argc == 2 ? link_show_one(cli, argv[1]) : link_show_all(cli);
}

/* ---- add ---- */

/* The wsd beside our own binary, else "wsd" (looked up in PATH). */
static const char *find_wsd(char *buf, size_t cap)
{
	ssize_t n = readlink("/proc/self/exe", buf, cap - 5);
	char *slash;

	if (n <= 0 || (size_t)n >= cap - 5)
		return "wsd";
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (!slash)
		return "wsd";
	strcpy(slash + 1, "wsd");
	return access(buf, X_OK) ? "wsd" : buf;
}

enum collect_state { COLLECT_NOTHING, COLLECT_GOT, COLLECT_EOF };

/* Append what is readable on fd within timeout_ms to out (bounded; the
 * excess is read and dropped, so the writer never blocks). */
static enum collect_state collect(int fd, char *out, size_t cap, size_t *len, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char buf[512];
	ssize_t n;

	if (poll(&pfd, 1, timeout_ms) <= 0)
		return COLLECT_NOTHING;
	n = read(fd, buf, sizeof(buf));
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? COLLECT_NOTHING : COLLECT_EOF;
	if (n == 0)
		return COLLECT_EOF;
	if ((size_t)n > cap - 1 - *len)
		n = (ssize_t)(cap - 1 - *len);
	memcpy(out + *len, buf, (size_t)n);
	*len += (size_t)n;
	out[*len] = '\0';
	return COLLECT_GOT;
}

/* Wait for pid while gathering its stderr from fd; returns its wait status.
 * The daemon child may hold the pipe open: once wsd itself has exited only
 * what is already in the pipe is read. */
static int wait_wsd(pid_t pid, int fd, char *out, size_t cap)
{
	enum collect_state st = COLLECT_NOTHING;
	size_t len = 0;
	pid_t done = 0;
	int status = 0;

	out[0] = '\0';
	while (st != COLLECT_EOF && !done) {
		st = collect(fd, out, cap, &len, 100);
		done = waitpid(pid, &status, WNOHANG);
	}
	while (st != COLLECT_EOF && (st = collect(fd, out, cap, &len, 0)) == COLLECT_GOT)
		;
	if (!done)
		waitpid(pid, &status, 0);
	close(fd);
	return status;
}

static pid_t spawn_wsd(const char *wsd, const char *config, const char *ifname, int *err_fd)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], STDERR_FILENO);
		execlp(wsd, wsd, config, ifname, (char *)NULL);
		dprintf(STDERR_FILENO, "wsd: cannot run '%s': %s\n", wsd, strerror(errno));
		_exit(127);
	}
	if (pid < 0) {
		int saved = errno;

		close(p[0]);
		close(p[1]);
		errno = saved;
		return -1;
	}
	close(p[1]);
	*err_fd = p[0];
	return pid;
}

/* The last non-empty line of wsd's output, newline removed. */
static const char *last_line(char *out)
{
	char *end = out + strlen(out), *start;

	while (end > out && end[-1] == '\n')
		*--end = '\0';
	start = strrchr(out, '\n');
	return start ? start + 1 : out;
}

static int report_wsd(struct ws_cli *cli, int status, char *out)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		fputs(out, cli->err);   /* warnings, if any */
		return WS_EXIT_OK;
	}
	if (*last_line(out))
		return ws_cli_fail(cli, "link add: %s", last_line(out));
	if (WIFSIGNALED(status))
		return ws_cli_fail(cli, "link add: wsd was killed by signal %d", WTERMSIG(status));
	return ws_cli_fail(cli, "link add: wsd exited with status %d", WEXITSTATUS(status));
}

static bool link_alive(struct ws_cli *cli, const char *ifname)
{
	struct ws_model_iface m;
	bool alive = !ws_cli_get(cli, ifname, &m, true);

	ws_model_free(&m);
	return alive;
}

/* ws link add IFACE config FILE */
static int link_add(struct ws_cli *cli, int argc, char **argv)
{
	char config[PATH_MAX], self[PATH_MAX], out[WSD_OUTPUT_MAX];
	const char *wsd;
	pid_t pid;
	int fd;

	if (argc < 2)
		return ws_cli_fail(cli, "link add: missing IFACE (usage: ws link add IFACE config FILE)");
	if (!ws_cli_check_ifname(cli, argv[1]))
		return WS_EXIT_FAIL;
	if (argc < 3)
		return ws_cli_fail(cli, "link add: missing 'config FILE'");
	if (ws_cli_lookup(cli, config_keyword, argv[2], "link add keyword") < 0)
		return WS_EXIT_FAIL;
	if (argc < 4)
		return ws_cli_fail(cli, "link add: missing FILE after 'config'");
	if (argc > 4)
		return ws_cli_fail(cli, "link add: unexpected argument '%s'", argv[4]);
	if (!realpath(argv[3], config))
		return ws_cli_fail(cli, "link add: config '%s': %s", argv[3], strerror(errno));
	if (link_alive(cli, argv[1]))
		return ws_cli_fail(cli, "link add: interface '%s' already exists", argv[1]);
	wsd = find_wsd(self, sizeof(self));
	fflush(cli->out);
	fflush(cli->err);
	pid = spawn_wsd(wsd, config, argv[1], &fd);
	if (pid < 0)
		return ws_cli_fail(cli, "link add: cannot start wsd: %s", strerror(errno));
	return report_wsd(cli, wait_wsd(pid, fd, out, sizeof(out)), out);
}

/* ---- del ---- */

/* Gone: no such process, or a zombie (its parent has not reaped it yet). */
static bool pid_gone(long pid)
{
	char path[64], buf[512], *paren;
	ssize_t n;
	int fd;

	if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		return true;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	paren = strrchr(buf, ')');
	return paren && (paren[1] == ' ') && (paren[2] == 'Z' || paren[2] == 'X');
}

static bool wait_gone(long pid)
{
	struct timespec pause = { 0, DEL_POLL_MS * 1000000L };

	for (int waited = 0; waited <= DEL_TIMEOUT_MS; waited += DEL_POLL_MS) {
		if (pid_gone(pid))
			return true;
		nanosleep(&pause, NULL);
	}
	return false;
}

/* ws link del IFACE */
static int link_del(struct ws_cli *cli, int argc, char **argv)
{
	char sock[PATH_MAX];
	struct ws_model_iface m;
	long pid;

	if (argc < 2)
		return ws_cli_fail(cli, "link del: missing IFACE (usage: ws link del IFACE)");
	if (argc > 2)
		return ws_cli_fail(cli, "link del: unexpected argument '%s'", argv[2]);
	if (!ws_cli_check_ifname(cli, argv[1]))
		return WS_EXIT_FAIL;
	/* wsup's routes, rules and DNS would outlive the daemon, and its state
	 * file would stop the next wsup: only wsdown undoes all of it. */
	if (!run_path(sock, sizeof(sock), cli, argv[1], "wsup") && access(sock, F_OK) == 0)
		return ws_cli_fail(cli, "link del: '%s' was brought up by wsup (%s exists): take it "
				   "down with 'wsdown %s', which also removes its routes, rules and DNS",
				   argv[1], sock, argv[1]);
	if (ws_cli_get(cli, argv[1], &m, false)) {   /* a live daemon owns IFACE */
		ws_model_free(&m);
		return WS_EXIT_FAIL;
	}
	ws_model_free(&m);
	pid = read_pid(cli, argv[1]);
	if (pid < 0)
		return ws_cli_fail(cli, "link del: %s/%s.pid: %s", cli->run_dir, argv[1],
				   strerror((int)-pid));
	if (kill((pid_t)pid, SIGTERM) < 0)
		return ws_cli_fail(cli, "link del: cannot signal wsd (pid %ld): %s", pid,
				   strerror(errno));
	if (!wait_gone(pid))
		return ws_cli_fail(cli, "link del: wsd (pid %ld) of '%s' did not exit within %d s",
				   pid, argv[1], DEL_TIMEOUT_MS / 1000);
	if (!run_path(sock, sizeof(sock), cli, argv[1], "sock"))
		unlink(sock);
	if (!run_path(sock, sizeof(sock), cli, argv[1], "pid"))
		unlink(sock);
	return WS_EXIT_OK;
}

static int link_help(struct ws_cli *cli, int argc, char **argv)
{
	if (argc > 1)
		return ws_cli_fail(cli, "link help: unexpected argument '%s'", argv[1]);
	ws_link_help(cli->out);
	return WS_EXIT_OK;
}

static const struct ws_word link_commands[] = {
	{ "add", link_add, NULL },
	{ "del", link_del, NULL },
	{ "help", link_help, NULL },
	{ "show", link_show, NULL },
	{ NULL, NULL, NULL },
};

int ws_link_main(struct ws_cli *cli, int argc, char **argv)
{
	return ws_cli_dispatch(cli, link_commands, "show", argc, argv);
}
