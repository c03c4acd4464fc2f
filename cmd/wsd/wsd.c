/* SPDX-License-Identifier: MIT */
/*
 * wsd: the wiresocket daemon. Serves one TUN interface from a ws.conf file:
 *   wsd [-f] [-v] [-O] [-D] [-u USER] [-m MTU] [-w WORKERS] CONFIG IFNAME
 * Without -f it forks, and the parent exits 0 only once the interface and the
 * control socket are ready (non-zero, with the error, otherwise). Once they
 * are, it runs as USER with CAP_NET_ADMIN only, under a seccomp allow-list.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf/conf.h"
#include "core/crypto.h"
#include "core/ipc.h"
#include "daemon/ctl_loop.h"
#include "daemon/device.h"
#include "daemon/peer.h"
#include "daemon/peer_timers.h"
#include "os/clock.h"
#include "os/ipc_sock.h"
#include "os/log.h"
#include "os/privs.h"
#include "os/sandbox.h"

struct options {
	bool foreground, verbose, no_offloads, drop_may_fail;
	unsigned mtu, workers;
	const char *config, *ifname, *user;
};

enum { WS_MAX_WORKERS = 1024 }; /* per direction; more than any machine's CPUs */

static int status_fd = -1; /* write end of the pipe to the waiting parent */

static void usage(FILE *f)
{
	fprintf(f, "Usage: wsd [-f] [-v] [-O] [-D] [-u USER] [-m MTU] [-w WORKERS] CONFIG IFNAME\n"
		   "  -f  stay in the foreground and log to stderr\n"
		   "  -v  log debug messages\n"
		   "  -O  no TUN offloads (one IP packet per read and write)\n"
		   "  -u  the user to run as once set up (default: " WS_PRIVS_USER ", else "
		   WS_PRIVS_FALLBACK_USER "; root: stay root)\n"
		   "  -D  start even if dropping privileges fails (debugging only)\n"
		   "  -m  the interface MTU, 1280..65535 (wsup passes it; default: the config's MTU or 1400)\n"
		   "  -w  crypto workers per direction, 1..1024 (default: the number of CPUs)\n");
}

/* A whole decimal number in min..max, or an error that names the option. */
static int parse_uint(const char *arg, char opt, const char *what, unsigned min, unsigned max,
		      unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (arg[0] < '0' || arg[0] > '9' || *end || errno || v < min || v > max) {
		fprintf(stderr, "wsd: -%c: '%s' is not %s (%u..%u)\n", opt, arg, what, min, max);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

/* 0, -1 for a usage error, or -2 for a bad value (already reported). */
static int parse_args(int argc, char **argv, struct options *o)
{
	int c;

	while ((c = getopt(argc, argv, "fvODu:m:w:h")) != -1) {
		switch (c) {
		case 'f': o->foreground = true; break;
		case 'D': o->drop_may_fail = true; break;
		case 'u': o->user = optarg; break;
		case 'O': o->no_offloads = true; break;
		case 'v': o->verbose = true; break;
		case 'm':
			if (parse_uint(optarg, 'm', "an MTU", WS_MIN_MTU, 65535, &o->mtu))
				return -2;
			break;
		case 'w':
			if (parse_uint(optarg, 'w', "a number of workers", 1, WS_MAX_WORKERS, &o->workers))
				return -2;
			break;
		case 'h': usage(stdout); exit(0);
		default: return -1;
		}
	}
	if (argc - optind != 2)
		return -1;
	o->config = argv[optind];
	o->ifname = argv[optind + 1];
	return 0;
}

/* Report the start-up result to the parent (or stderr in the foreground). */
static void report(const char *msg)
{
	if (status_fd < 0) {
		if (msg)
			fprintf(stderr, "wsd: %s\n", msg);
		return;
	}
	if (write(status_fd, msg ? msg : "", msg ? strlen(msg) : 0) < 0) {
		/* the parent is gone; nothing to tell */
	}
	close(status_fd);
	status_fd = -1;
}

/* Fork; the parent wipes its copy of the conf, waits for the child's report and exits with it. */
static void daemonize(struct ws_conf *conf)
{
	int p[2];
	pid_t pid;
	char buf[512];
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		perror("wsd");
		exit(1);
	}
	if (pid > 0) {
		close(p[1]);
		ws_conf_free(conf);
		n = read(p[0], buf, sizeof(buf) - 1);
		if (n == 0)
			exit(0); /* closed without a message: ready */
		if (n < 0)
			n = 0;
		buf[n] = '\0';
		fprintf(stderr, "wsd: %s\n", n ? buf : "exited during start-up");
		exit(1);
	}
	close(p[0]);
	status_fd = p[1];
	setsid();
	int devnull = open("/dev/null", O_RDWR);
	if (devnull >= 0) {
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		if (devnull > 2)
			close(devnull);
	}
}

static int add_peers(struct ws_device *dev, const struct ws_conf *c)
{
	for (size_t i = 0; i < c->n_peers; i++) {
		const struct ws_conf_peer *cp = &c->peers[i];
		struct ws_peer *p = ws_peer_create(dev, cp->public_key);
		char ep[WS_CONF_ENDPOINT_STRLEN];

		if (!p)
			return -EINVAL;
		for (size_t j = 0; j < cp->n_allowed_ips; j++) {
			const struct ws_conf_prefix *a = &cp->allowed_ips[j];
			int ret = ws_allowedips_insert(&dev->aips, a->family, a->addr, a->cidr, p);

			if (ret)
				return ret;
		}
		if (cp->has_endpoint)
			ws_peer_set_endpoint(p, ws_conf_format_endpoint(ep, &cp->endpoint), true);
		ws_peer_set_keepalive(p, cp->persistent_keepalive, ws_now_ns());
	}
	return 0;
}

static int write_pidfile(const char *ifname)
{
	char path[108];
	FILE *f;

	if (ws_ipc_path(path, sizeof(path), ifname, "pid"))
		return -ENAMETOOLONG;
	f = fopen(path, "we");
	if (!f)
		return -errno;
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
	return 0;
}

static bool may_unlink = true; /* false once the root-only run directory is out of reach */

/* When the daemon no longer may, wsdown, `ws link del` or the next wsd removes them. */
static void remove_runfiles(const char *ifname)
{
	char path[108];

	if (!may_unlink) {
		ws_debug("%s: run files left for wsdown, ws link del or the next wsd", ifname);
		return;
	}
	if (!ws_ipc_path(path, sizeof(path), ifname, "sock"))
		unlink(path);
	if (!ws_ipc_path(path, sizeof(path), ifname, "pid"))
		unlink(path);
}

/*
 * Everything that needs root is open: become u, keep CAP_NET_ADMIN only,
 * then the seccomp allow-list (threads created afterwards inherit all of it).
 * 0, or -errno when the drop failed and -D was not given.
 */
static int contain(struct ws_device *dev, const struct options *o, const struct ws_privs_user *u)
{
	bool sanitized = ws_sandbox_sanitized();
	int ret = ws_privs_drop(u, sanitized);

	if (!ret && !u->stay_root)
		may_unlink = false;
	if (!ret && !sanitized)
		ret = ws_sandbox_apply(u->stay_root);
	if (ret && !o->drop_may_fail)
		return ret;
	if (ret)
		ws_warn("%s: cannot drop privileges to user %s: %s; running anyway (-D)", dev->ifname,
			u->name, strerror(-ret));
	else if (sanitized)
		ws_warn("%s: ASan build: no seccomp filter (user %s, CAP_NET_ADMIN only)",
			dev->ifname, u->name);
	else
		ws_info("%s: running as user %s (uid %u), CAP_NET_ADMIN only, seccomp allow-list on%s",
			dev->ifname, u->name, (unsigned)u->uid, u->stay_root ? " (stays root: -u)" : "");
	return 0;
}

/* Consumes the conf: it is wiped as soon as the device and the peers have what they need. */
static int serve(struct ws_device *dev, const struct options *o, struct ws_conf *c,
		 const struct ws_privs_user *u)
{
	char msg[256];
	unsigned mtu = o->mtu ? o->mtu : ws_conf_mtu(c, 0);
	unsigned mps = ws_conf_max_packet_size(c, mtu);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int listen_fd, ret;

	ret = ws_device_init(dev, o->ifname, c->private_key, c->listen_port, c->fwmark,
			     (uint16_t)mtu, (uint16_t)mps, o->workers ? o->workers : (unsigned)(ncpu > 0 ? ncpu : 1),
			     !o->no_offloads);
	if (ret) {
		snprintf(msg, sizeof(msg), "%s: cannot set up: %s", o->ifname, strerror(-ret));
		report(msg);
		return ret;
	}
	ret = add_peers(dev, c);
	ws_conf_free(c); /* the private key now lives only in dev->local (locked) */
	if (ret) {
		snprintf(msg, sizeof(msg), "%s: cannot add peers: %s", o->ifname, strerror(-ret));
		report(msg);
		return ret;
	}
	listen_fd = ws_ipc_listen(dev->ifname);
	if (listen_fd < 0) {
		snprintf(msg, sizeof(msg), "%s: control socket: %s", dev->ifname,
			 listen_fd == -EADDRINUSE ? "a daemon already serves this interface"
						  : strerror(-listen_fd));
		report(msg);
		return listen_fd;
	}
	write_pidfile(dev->ifname);
	ret = contain(dev, o, u);
	if (ret) {
		snprintf(msg, sizeof(msg), "%s: cannot drop privileges to user %s: %s (-D starts anyway)",
			 dev->ifname, u->name, strerror(-ret));
		report(msg);
		remove_runfiles(dev->ifname);
		close(listen_fd);
		return ret;
	}
	ret = ws_device_start(dev);
	if (ret) {
		snprintf(msg, sizeof(msg), "%s: cannot start threads: %s", dev->ifname, strerror(-ret));
		report(msg);
		remove_runfiles(dev->ifname);
		close(listen_fd);
		return ret;
	}
	ws_info("%s: listening on UDP port %u, %u peers, %u workers, MTU %u, MaxPacketSize %u, offloads %s",
		dev->ifname, dev->listen_port, dev->n_peers, dev->n_workers, mtu, mps,
		dev->uso ? "on (TCP and UDP)" : dev->vnet ? "on (TCP)" : "off");
	report(NULL);
	ret = ws_ctl_run(dev, listen_fd);
	ws_device_stop(dev);
	close(listen_fd);
	remove_runfiles(dev->ifname);
	ws_info("%s: stopped", dev->ifname);
	return ret;
}

int main(int argc, char **argv)
{
	static struct ws_device dev;
	struct ws_privs_user user;
	struct options o = {0};
	struct ws_conf conf;
	struct ws_conf_error err;
	sigset_t mask;
	int ret;

	ret = parse_args(argc, argv, &o);
	if (ret) {
		if (ret == -1)
			usage(stderr);
		return 1;
	}
	/* Now, while /etc/passwd can be read: a wrong -u fails before anything is set up. */
	ret = ws_privs_lookup(&user, o.user);
	if (ret) {
		if (!o.user)
			fprintf(stderr, "wsd: neither user %s nor %s exists (choose one with -u)\n",
				WS_PRIVS_USER, WS_PRIVS_FALLBACK_USER);
		else
			fprintf(stderr, "wsd: -u: %s: %s\n", o.user,
				ret == -ENOENT ? "no such user" : strerror(-ret));
		return 1;
	}
	if (ws_crypto_init()) {
		fprintf(stderr, "wsd: libsodium failed to initialise\n");
		return 1;
	}
	memset(&conf, 0, sizeof(conf));
	ws_mlock(&conf, sizeof(conf)); /* it holds the private key until the device has it */
	if (ws_conf_load_file(&conf, o.config, &err) ||
	    ws_conf_validate(&conf, WS_CONF_NEED_PRIVATE_KEY, &err)) {
		fprintf(stderr, "wsd: %s\n", err.msg);
		ws_conf_free(&conf);
		ws_munlock(&conf, sizeof(conf));
		return 1;
	}
	if (err.warnings)
		fprintf(stderr, "wsd: warning: %s\n", err.warning);
	if (!o.foreground)
		daemonize(&conf);
	ws_log_open("wsd", o.foreground, o.verbose ? WS_LOG_DEBUG : WS_LOG_INFO);
	/* Signals are read by the ctl loop; no thread takes them asynchronously. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	ret = serve(&dev, &o, &conf, &user);
	ws_conf_free(&conf); /* serve did it, unless it failed before */
	ws_munlock(&conf, sizeof(conf));
	ws_device_destroy(&dev);
	return ret ? 1 : 0;
}
