/* SPDX-License-Identifier: MIT */
/*
 * The resolver (resolver.h): a table of WS_RESOLVER_SLOTS requests under one
 * mutex, detached worker threads, and an eventfd for the answers. The
 * resolver is freed by whoever drops the last reference: the owner's
 * destroy, or a worker that comes back from a slow lookup after it.
 */
#include "os/resolver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

enum slot_state { SLOT_FREE, SLOT_QUEUED, SLOT_RUNNING, SLOT_DONE };

struct slot {
	enum slot_state state;
	uint64_t seq;                 /* submission order */
	struct ws_resolver_answer a;
};

struct ws_resolver {
	pthread_mutex_t lock;
	pthread_cond_t work;
	ws_resolver_fn *fn;
	int efd;
	unsigned refs;                /* the owner and each live worker */
	bool stopping;
	uint64_t seq;
	struct slot slots[WS_RESOLVER_SLOTS];
};

/* Called with r->lock held; unlocks it. Frees r when it was the last reference. */
static void put_locked(struct ws_resolver *r)
{
	bool last = --r->refs == 0;

	pthread_mutex_unlock(&r->lock);
	if (!last)
		return;
	close(r->efd);
	pthread_cond_destroy(&r->work);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* The oldest slot in state s, or NULL (r->lock held). */
static struct slot *oldest(struct ws_resolver *r, enum slot_state s)
{
	struct slot *best = NULL;

	for (unsigned i = 0; i < WS_RESOLVER_SLOTS; i++)
		if (r->slots[i].state == s && (!best || r->slots[i].seq < best->seq))
			best = &r->slots[i];
	return best;
}

static void *worker(void *arg)
{
	struct ws_resolver *r = arg;
	struct sockaddr_storage addr;
	char host[WS_RESOLVER_HOST_MAX + 1];
	uint64_t one = 1;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		struct slot *s = NULL;
		uint16_t port;
		int err;

		while (!r->stopping && !(s = oldest(r, SLOT_QUEUED)))
			pthread_cond_wait(&r->work, &r->lock);
		if (r->stopping)
			break;
		s->state = SLOT_RUNNING;
		memcpy(host, s->a.host, sizeof(host));
		port = s->a.port;
		pthread_mutex_unlock(&r->lock);
		memset(&addr, 0, sizeof(addr));
		err = r->fn(&addr, host, port);
		pthread_mutex_lock(&r->lock);
		if (r->stopping)
			break; /* destroy dropped the table: nobody wants it */
		s->a.err = err;
		s->a.addr = addr;
		s->state = SLOT_DONE;
		if (write(r->efd, &one, sizeof(one)) < 0) {
			/* Only EAGAIN at a counter near 2^64: the fd is readable anyway. */
		}
	}
	put_locked(r);
	return NULL;
}

int ws_resolver_create(struct ws_resolver **out, ws_resolver_fn *fn)
{
	struct ws_resolver *r = calloc(1, sizeof(*r));
	pthread_attr_t attr;
	int ret = 0;

	if (!r)
		return -ENOMEM;
	r->fn = fn ? fn : ws_resolver_lookup;
	r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->efd < 0) {
		ret = -errno;
		free(r);
		return ret;
	}
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->work, NULL);
	r->refs = 1;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_mutex_lock(&r->lock);
	for (unsigned i = 0; i < WS_RESOLVER_THREADS && !ret; i++) {
		pthread_t t;

		ret = -pthread_create(&t, &attr, worker, r);
		if (!ret)
			r->refs++;
	}
	pthread_attr_destroy(&attr);
	if (ret && r->refs == 1) { /* no worker at all */
		pthread_mutex_unlock(&r->lock);
		ws_resolver_destroy(r);
		return ret;
	}
	pthread_mutex_unlock(&r->lock);
	*out = r;
	return 0;
}

void ws_resolver_destroy(struct ws_resolver *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stopping = true;
	pthread_cond_broadcast(&r->work);
	put_locked(r);
}

int ws_resolver_fd(const struct ws_resolver *r)
{
	return r->efd;
}

int ws_resolver_submit(struct ws_resolver *r, const uint8_t id[WS_RESOLVER_ID_LEN], uint64_t gen,
		       const char *host, uint16_t port)
{
	struct slot *s;

	if (strlen(host) > WS_RESOLVER_HOST_MAX)
		return -ENAMETOOLONG;
	pthread_mutex_lock(&r->lock);
	s = oldest(r, SLOT_FREE);
	if (!s) {
		pthread_mutex_unlock(&r->lock);
		return -EAGAIN;
	}
	memset(&s->a, 0, sizeof(s->a));
	memcpy(s->a.id, id, WS_RESOLVER_ID_LEN);
	s->a.gen = gen;
	strcpy(s->a.host, host);
	s->a.port = port;
	s->seq = ++r->seq;
	s->state = SLOT_QUEUED;
	pthread_cond_signal(&r->work);
	pthread_mutex_unlock(&r->lock);
	return 0;
}

bool ws_resolver_collect(struct ws_resolver *r, struct ws_resolver_answer *out)
{
	struct slot *s;

	pthread_mutex_lock(&r->lock);
	s = oldest(r, SLOT_DONE);
	if (s) {
		*out = s->a;
		s->state = SLOT_FREE;
	}
	pthread_mutex_unlock(&r->lock);
	return s != NULL;
}

static int first_address(struct sockaddr_storage *out, const char *host, uint16_t port, int flags)
{
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_flags = flags}, *res;
	char serv[8];
	int ret;

	snprintf(serv, sizeof(serv), "%u", port);
	ret = getaddrinfo(host, serv, &hints, &res);
	if (ret == EAI_SYSTEM)
		return errno ? -errno : -EIO;
	if (ret == EAI_AGAIN)
		return -EAGAIN;     /* no DNS server answered */
	if (ret == EAI_MEMORY)
		return -ENOMEM;
	if (ret)
		return -EHOSTUNREACH; /* no such name, or no address of a usable family */
	if (res->ai_addrlen > sizeof(*out)) {
		freeaddrinfo(res);
		return -EAFNOSUPPORT;
	}
	memset(out, 0, sizeof(*out));
	memcpy(out, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

int ws_resolver_lookup(struct sockaddr_storage *out, const char *host, uint16_t port)
{
	int ret = first_address(out, host, port, AI_ADDRCONFIG);

	/* AI_ADDRCONFIG hides v6 when only loopback has it: ask again without it.
	 * Not after a timeout: that would only double the wait. */
	if (ret == -EHOSTUNREACH)
		ret = first_address(out, host, port, 0);
	return ret;
}

int ws_resolver_numeric(struct sockaddr_storage *out, const char *host, uint16_t port)
{
	return first_address(out, host, port, AI_NUMERICHOST) ? -EINVAL : 0;
}
