/* SPDX-License-Identifier: MIT */
/*
 * The allow-list, found with `strace -f -c` of a daemon under traffic (ping,
 * TCP and UDP bulk, handshakes and rekeys, `ws show`, `ws peer set`,
 * `set fwmark`, `ws link del`, SIGTERM) and of name resolution
 * (getaddrinfo with the files and dns NSS modules: /etc/hosts, a DNS
 * answer over UDP). Calls that need the one kept
 * capability (CAP_NET_ADMIN) are narrowed by argument, so the capability
 * only reaches SO_MARK: setsockopt only with the options listed, ioctl only
 * FIONREAD (glibc's DNS client asks how big the answer is), no netlink socket (glibc's AI_ADDRCONFIG probe gets EAFNOSUPPORT and then
 * assumes both families, as it does without netlink), no raw or packet
 * socket. Files open read-only, threads are created but never processes.
 */
#include "os/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <seccomp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "os/sanitizer.h"


bool ws_sandbox_sanitized(void)
{
#ifdef WS_SANITIZED
	return true;
#else
	return false;
#endif
}

/* Allowed with any arguments. */
static const int plain[] = {
	/* memory: malloc, thread stacks, locked peers, dlopen of NSS modules */
	SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(mprotect),
	SCMP_SYS(madvise), SCMP_SYS(mlock), SCMP_SYS(munlock),
	/* threads and their synchronisation */
	SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(sched_yield),
	SCMP_SYS(sched_getaffinity), SCMP_SYS(gettid), SCMP_SYS(getpid), SCMP_SYS(exit),
	SCMP_SYS(exit_group), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(rt_sigaction), SCMP_SYS(restart_syscall),
	/* time */
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep),
	SCMP_SYS(gettimeofday), SCMP_SYS(time),
	/* descriptors: TUN, UDP, control socket, epoll, eventfd, timerfd, signalfd */
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(close),
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl), SCMP_SYS(poll),
	SCMP_SYS(ppoll), SCMP_SYS(epoll_create1), SCMP_SYS(eventfd2), SCMP_SYS(signalfd4),
	SCMP_SYS(timerfd_create), SCMP_SYS(timerfd_settime), SCMP_SYS(timerfd_gettime),
	SCMP_SYS(fcntl), SCMP_SYS(lseek), SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(statx),
	/* sockets: the data path, the control socket, syslog, the resolver */
	SCMP_SYS(recvmmsg), SCMP_SYS(sendmmsg), SCMP_SYS(recvmsg), SCMP_SYS(sendmsg),
	SCMP_SYS(recvfrom), SCMP_SYS(sendto), SCMP_SYS(accept4), SCMP_SYS(connect),
	SCMP_SYS(getsockname), SCMP_SYS(getpeername), SCMP_SYS(getsockopt), SCMP_SYS(shutdown),
	/* libsodium's randombytes, the resolver's host name */
	SCMP_SYS(getrandom), SCMP_SYS(uname),
};

/* setsockopt(level, name) pairs: SO_MARK (ws link set fwmark) and the resolver's. */
static const int sockopts[][2] = {
	{SOL_SOCKET, SO_MARK},
	{SOL_IP, IP_RECVERR},
	{SOL_IPV6, IPV6_RECVERR},
};

/* One argument comparison (libseccomp's SCMP_An macros leave datum_b out, which -Wextra rejects). */
static struct scmp_arg_cmp cmp(unsigned arg, enum scmp_compare op, scmp_datum_t a, scmp_datum_t b)
{
	struct scmp_arg_cmp c = {.arg = arg, .op = op, .datum_a = a, .datum_b = b};

	return c;
}

static int add(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned n,
	       const struct scmp_arg_cmp *cmp)
{
	int ret = seccomp_rule_add_array(ctx, action, nr, n, cmp);

	return ret == -EEXIST ? 0 : ret;
}

static int add_sockets(scmp_filter_ctx ctx)
{
	const scmp_datum_t type_mask = (scmp_datum_t) ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	static const int inet[] = {AF_INET, AF_INET6}, types[] = {SOCK_DGRAM, SOCK_STREAM};
	struct scmp_arg_cmp c[2];
	int ret;

	c[0] = cmp(0, SCMP_CMP_EQ, AF_UNIX, 0);
	ret = add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, c);
	for (unsigned i = 0; !ret && i < 2; i++)
		for (unsigned j = 0; !ret && j < 2; j++) {
			c[0] = cmp(0, SCMP_CMP_EQ, (scmp_datum_t)inet[i], 0);
			c[1] = cmp(1, SCMP_CMP_MASKED_EQ, type_mask, (scmp_datum_t)types[j]);
			ret = add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2, c);
		}
	c[0] = cmp(0, SCMP_CMP_EQ, AF_NETLINK, 0);
	if (!ret)
		ret = add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1, c);
	for (unsigned i = 0; !ret && i < sizeof(sockopts) / sizeof(sockopts[0]); i++) {
		c[0] = cmp(1, SCMP_CMP_EQ, (scmp_datum_t)sockopts[i][0], 0);
		c[1] = cmp(2, SCMP_CMP_EQ, (scmp_datum_t)sockopts[i][1], 0);
		ret = add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(setsockopt), 2, c);
	}
	return ret;
}

static int add_narrowed(scmp_filter_ctx ctx, bool allow_unlink)
{
	const scmp_datum_t writes = O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND | __O_TMPFILE;
	struct scmp_arg_cmp c;
	int ret;

	/* Read-only opens: /etc files of the resolver, NSS modules, /proc, /sys. */
	c = cmp(2, SCMP_CMP_MASKED_EQ, writes, 0);
	ret = add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1, &c);
	/* Threads only (pthread_create): never a new process. glibc tries
	 * clone3 first and falls back to clone, whose flags can be checked. */
	c = cmp(0, SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD);
	if (!ret)
		ret = add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1, &c);
	if (!ret)
		ret = add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0, NULL);
	/* abort() and raise() signal this process, nothing else. */
	c = cmp(0, SCMP_CMP_EQ, (scmp_datum_t)getpid(), 0);
	if (!ret)
		ret = add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1, &c);
	/* How many bytes wait on a socket (glibc's DNS client); no other ioctl,
	 * SIOCSIF* on an inet socket would reach CAP_NET_ADMIN. */
	c = cmp(1, SCMP_CMP_EQ, FIONREAD, 0);
	if (!ret)
		ret = add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, &c);
	if (!ret && allow_unlink)
		ret = add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(unlink), 0, NULL);
	return ret;
}

int ws_sandbox_apply(bool allow_unlink)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int ret = 0;

	if (!ctx)
		return -ENOMEM;
	for (unsigned i = 0; !ret && i < sizeof(plain) / sizeof(plain[0]); i++)
		ret = add(ctx, SCMP_ACT_ALLOW, plain[i], 0, NULL);
	if (!ret)
		ret = add_sockets(ctx);
	if (!ret)
		ret = add_narrowed(ctx, allow_unlink);
	/* Every thread, or fail (there is only this one when it is called). */
	if (!ret)
		ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (!ret)
		ret = seccomp_load(ctx);
	seccomp_release(ctx);
	return ret > 0 ? -ret : ret;
}
