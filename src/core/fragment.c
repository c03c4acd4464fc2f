/* SPDX-License-Identifier: MIT */
/* Fragmentation and bounded reassembly. See fragment.h. */
#include "core/fragment.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- sender ------------------------------------------------------------------- */

size_t ws_fragment_max_payload(size_t max_packet_size)
{
	return max_packet_size > WS_TRANSPORT_OVERHEAD ? max_packet_size - WS_TRANSPORT_OVERHEAD : 0;
}

uint32_t ws_fragment_count(size_t frame_len, size_t max_frag_payload)
{
	size_t n;

	if (frame_len == 0 || max_frag_payload == 0)
		return 0;
	n = (frame_len - 1) / max_frag_payload + 1;
	return n > WS_MAX_FRAGMENTS ? 0 : (uint32_t)n;
}

size_t ws_fragment_span(size_t frame_len, size_t max_frag_payload, uint16_t index,
			size_t *offset)
{
	size_t off;

	if (index >= ws_fragment_count(frame_len, max_frag_payload))
		return 0;
	off = (size_t)index * max_frag_payload;   /* < frame_len: no overflow */
	*offset = off;
	return frame_len - off < max_frag_payload ? frame_len - off : max_frag_payload;
}

size_t ws_fragment_write(uint8_t *dst, uint32_t frame_id, uint16_t index, uint16_t count,
			 const uint8_t *data, size_t len)
{
	struct ws_fragment_header *h = (struct ws_fragment_header *)dst;

	if (count == 0 || index >= count)
		return 0;
	ws_put_le32(h->frame_id, frame_id);
	ws_put_le16(h->frag_index, index);
	ws_put_le16(h->frag_count, count);
	if (len)
		memcpy(dst + WS_SIZE_FRAGMENT_HEADER, data, len);
	return WS_SIZE_FRAGMENT_HEADER + len;
}

/* ---- budget ------------------------------------------------------------------- */

void ws_frag_budget_init(struct ws_frag_budget *b, size_t limit)
{
	atomic_init(&b->used, 0);
	b->limit = limit;
}

static bool budget_take(struct ws_frag_budget *b, size_t n)
{
	size_t used;

	if (!b)
		return true;
	used = atomic_load_explicit(&b->used, memory_order_relaxed);
	do {
		if (n > b->limit || used > b->limit - n)
			return false;
	} while (!atomic_compare_exchange_weak_explicit(&b->used, &used, used + n,
							memory_order_relaxed, memory_order_relaxed));
	return true;
}

static void budget_give(struct ws_frag_budget *b, size_t n)
{
	if (b)
		atomic_fetch_sub_explicit(&b->used, n, memory_order_relaxed);
}

/* ---- reassembler -------------------------------------------------------------- */

struct ws_partial_frame {
	struct ws_partial_frame *prev, *next;   /* in r's list, by last_ns */
	uint64_t last_ns;          /* when the last new fragment arrived */
	uint8_t *data;             /* cap bytes once frag_size is known, else NULL */
	uint8_t *stash;            /* the last fragment, while data is NULL */
	size_t cap;                /* count * frag_size */
	size_t frag_size;          /* size of every non-last fragment */
	size_t last_len;           /* size of the last fragment, once seen */
	size_t received_bytes;
	size_t charge;             /* bytes charged for this record and buffers */
	uint32_t frame_id;
	uint16_t count;
	uint16_t received;         /* < count while partial */
	uint64_t seen[];           /* count bits: fragment index received */
};

/* A fragment plaintext taken apart. */
struct frag_in {
	const uint8_t *data;
	size_t len;
	uint32_t frame_id;
	uint16_t index;
	uint16_t count;
};

static size_t record_size(uint16_t count)
{
	return sizeof(struct ws_partial_frame) + ((size_t)count + 63) / 64 * sizeof(uint64_t);
}

/* Allocation size of an n-byte buffer (never malloc(0)). */
static size_t alloc_len(size_t n)
{
	return n ? n : 1;
}

static bool has_seen(const struct ws_partial_frame *p, uint16_t i)
{
	return p->seen[i / 64] & (1ULL << (i % 64));
}

void ws_reassembler_init(struct ws_reassembler *r, struct ws_frag_budget *budget)
{
	memset(r, 0, sizeof(*r));
	r->budget = budget;
}

/* Charge n bytes to r and the shared budget, or nothing. */
static bool take(struct ws_reassembler *r, size_t n)
{
	if (n > WS_MAX_REASSEMBLY_PER_SESSION - r->bytes || !budget_take(r->budget, n))
		return false;
	r->bytes += n;
	return true;
}

static void give(struct ws_reassembler *r, size_t n)
{
	r->bytes -= n;
	budget_give(r->budget, n);
}

static void unlink_partial(struct ws_reassembler *r, struct ws_partial_frame *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		r->oldest = p->next;
	if (p->next)
		p->next->prev = p->prev;
	else
		r->newest = p->prev;
	p->prev = p->next = NULL;
}

static void link_newest(struct ws_reassembler *r, struct ws_partial_frame *p)
{
	p->prev = r->newest;
	p->next = NULL;
	if (r->newest)
		r->newest->next = p;
	else
		r->oldest = p;
	r->newest = p;
}

static void drop_partial(struct ws_reassembler *r, struct ws_partial_frame *p)
{
	unlink_partial(r, p);
	give(r, p->charge);
	free(p->data);
	free(p->stash);
	free(p);
	r->partials--;
}

static void release_done(struct ws_reassembler *r)
{
	if (!r->done)
		return;
	give(r, r->done_charge);
	free(r->done);
	r->done = NULL;
	r->done_charge = 0;
}

void ws_reassembler_free(struct ws_reassembler *r)
{
	while (r->oldest)
		drop_partial(r, r->oldest);
	release_done(r);
}

static bool expired(const struct ws_partial_frame *p, uint64_t now_ns)
{
	return now_ns > p->last_ns && now_ns - p->last_ns >= WS_FRAGMENT_TIMEOUT_NS;
}

unsigned ws_reassembler_expire(struct ws_reassembler *r, uint64_t now_ns)
{
	struct ws_partial_frame *p, *next;
	unsigned n = 0;

	release_done(r);

	/* The list is in last_ns order, but a clock step back must not hide an
	 * expired frame, so look at all of them (at most 64). */
	for (p = r->oldest; p; p = next) {
		next = p->next;
		if (expired(p, now_ns)) {
			drop_partial(r, p);
			n++;
		}
	}
	return n;
}

uint64_t ws_reassembler_next_expiry(const struct ws_reassembler *r)
{
	uint64_t next = UINT64_MAX;

	if (r->done)
		return 0;
	/* All of them, not only the oldest: a clock step may have broken the order. */
	for (const struct ws_partial_frame *p = r->oldest; p; p = p->next) {
		uint64_t t = p->last_ns > UINT64_MAX - WS_FRAGMENT_TIMEOUT_NS
			? UINT64_MAX : p->last_ns + WS_FRAGMENT_TIMEOUT_NS;

		if (t < next)
			next = t;
	}
	return next;
}

static struct ws_partial_frame *find(const struct ws_reassembler *r, uint32_t frame_id)
{
	for (struct ws_partial_frame *p = r->oldest; p; p = p->next)
		if (p->frame_id == frame_id)
			return p;
	return NULL;
}

/* Charge n bytes, discarding r's least recent partial frames but keep. */
static bool reserve(struct ws_reassembler *r, size_t n, const struct ws_partial_frame *keep)
{
	while (!take(r, n)) {
		struct ws_partial_frame *victim = r->oldest;

		if (victim && victim == keep)
			victim = victim->next;
		if (!victim)
			return false;
		drop_partial(r, victim);
	}
	return true;
}

static int parse(const uint8_t *plain, size_t len, struct frag_in *in)
{
	const struct ws_fragment_header *h = (const struct ws_fragment_header *)plain;

	if (len < WS_SIZE_FRAGMENT_HEADER)
		return -EINVAL;
	in->frame_id = ws_le32(h->frame_id);
	in->index = ws_le16(h->frag_index);
	in->count = ws_le16(h->frag_count);
	in->data = plain + WS_SIZE_FRAGMENT_HEADER;
	in->len = len - WS_SIZE_FRAGMENT_HEADER;
	if (in->count == 0 || in->index >= in->count)
		return -EINVAL;
	return 0;
}

static bool is_last(const struct frag_in *in)
{
	return in->index == in->count - 1;
}

/* Does the fragment fit the frame p (NULL: a new frame)? 0 or -errno. */
static int check_fit(const struct ws_partial_frame *p, const struct frag_in *in)
{
	if (p && in->len > WS_MAX_FRAME_REASSEMBLY - p->received_bytes)
		return -EMSGSIZE;                    /* running total */
	if (p && p->data) {
		if (is_last(in))
			return in->len > p->frag_size ? -EPROTO : 0;
		return in->len != p->frag_size ? -EPROTO : 0;
	}
	if (is_last(in))
		return in->len > WS_MAX_FRAME_REASSEMBLY ? -EMSGSIZE : 0;
	/* First non-last fragment: it sets the frame's size estimate. */
	if (in->len > WS_MAX_FRAME_REASSEMBLY / in->count)
		return -EMSGSIZE;                    /* count x size > 256 KiB */
	if (p && p->stash && p->last_len > in->len)
		return -EPROTO;
	return 0;
}

/* What storing a fragment must allocate. */
struct frag_alloc {
	struct ws_partial_frame *rec;   /* a new record, or NULL */
	uint8_t *data;                  /* the frame buffer, when sized now */
	uint8_t *stash;                 /* an early last fragment */
	size_t data_len, stash_len, total;
};

static void alloc_plan(const struct ws_partial_frame *p, const struct frag_in *in,
		       struct frag_alloc *a)
{
	bool sized = p && p->data;

	memset(a, 0, sizeof(*a));
	if (!p)
		a->total += record_size(in->count);
	if (!sized && !is_last(in))
		a->data_len = alloc_len((size_t)in->count * in->len);
	if (!sized && is_last(in) && in->len)
		a->stash_len = in->len;
	a->total += a->data_len + a->stash_len;
}

static int alloc_do(struct frag_alloc *a, bool new_record, uint16_t count)
{
	if (new_record)
		a->rec = calloc(1, record_size(count));
	if (a->data_len)
		a->data = malloc(a->data_len);
	if (a->stash_len)
		a->stash = malloc(a->stash_len);
	if ((new_record && !a->rec) || (a->data_len && !a->data) || (a->stash_len && !a->stash)) {
		free(a->rec);
		free(a->data);
		free(a->stash);
		return -ENOMEM;
	}
	return 0;
}

/* Give p its frame buffer; move an early last fragment into place. */
static void install_data(struct ws_reassembler *r, struct ws_partial_frame *p,
			 const struct frag_alloc *a, size_t frag_size)
{
	p->data = a->data;
	p->cap = a->data_len;
	p->frag_size = frag_size;
	if (!p->stash)
		return;
	memcpy(p->data + (size_t)(p->count - 1) * frag_size, p->stash, p->last_len);
	free(p->stash);
	p->stash = NULL;
	p->charge -= p->last_len;
	give(r, p->last_len);
}

/* Reserve, allocate and copy the fragment in; *pp is created if NULL. */
static int store(struct ws_reassembler *r, struct ws_partial_frame **pp, const struct frag_in *in)
{
	struct ws_partial_frame *p = *pp;
	struct frag_alloc a;
	int ret;

	alloc_plan(p, in, &a);
	if (!reserve(r, a.total, p))
		return -ENOBUFS;
	ret = alloc_do(&a, !p, in->count);
	if (ret) {
		give(r, a.total);
		return ret;
	}
	if (!p) {
		p = a.rec;
		p->frame_id = in->frame_id;
		p->count = in->count;
		link_newest(r, p);
		r->partials++;
		*pp = p;
	}
	p->charge += a.total;
	if (a.data)
		install_data(r, p, &a, in->len);
	if (p->data)
		memcpy(p->data + (size_t)in->index * p->frag_size, in->data, in->len);
	else if (a.stash)
		memcpy(p->stash = a.stash, in->data, in->len);
	if (is_last(in))
		p->last_len = in->len;
	p->received_bytes += in->len;
	return 0;
}

/* Hand the completed frame to the caller; forget its frame_id. */
static void complete(struct ws_reassembler *r, struct ws_partial_frame *p, const uint8_t **frame,
		     size_t *frame_len)
{
	*frame = p->data;
	*frame_len = (size_t)(p->count - 1) * p->frag_size + p->last_len;
	r->done = p->data;
	r->done_charge = p->cap;
	p->charge -= p->cap;
	p->data = NULL;
	drop_partial(r, p);
}

int ws_reassembler_add(struct ws_reassembler *r, const uint8_t *frag_plain, size_t len,
		       uint64_t now_ns, const uint8_t **frame, size_t *frame_len)
{
	struct ws_partial_frame *p;
	struct frag_in in;
	int ret;

	ws_reassembler_expire(r, now_ns);            /* also releases done */
	ret = parse(frag_plain, len, &in);
	if (ret)
		return ret;
	if (in.count == 1) {
		*frame = in.data;
		*frame_len = in.len;
		return 1;
	}
	p = find(r, in.frame_id);
	if (!p && r->partials >= WS_MAX_INCOMPLETE_FRAMES)
		return -ENOSPC;
	if (p && p->count != in.count)
		return -EPROTO;
	if (p && has_seen(p, in.index))
		return 0;                            /* duplicate: keep the first */
	ret = check_fit(p, &in);
	if (ret == -EMSGSIZE && p)
		drop_partial(r, p);                  /* the frame is too big: all of it goes */
	if (!ret)
		ret = store(r, &p, &in);
	if (ret)
		return ret;
	p->seen[in.index / 64] |= 1ULL << (in.index % 64);
	p->received++;
	p->last_ns = now_ns;
	unlink_partial(r, p);
	link_newest(r, p);
	if (p->received < p->count)
		return 0;
	complete(r, p, frame, frame_len);
	return 1;
}

/* ---- self-check --------------------------------------------------------------- */

static unsigned popcount_seen(const struct ws_partial_frame *p)
{
	unsigned n = 0;

	for (size_t w = 0; w < ((size_t)p->count + 63) / 64; w++)
		n += (unsigned)__builtin_popcountll(p->seen[w]);
	return n;
}

static bool partial_consistent(const struct ws_partial_frame *p)
{
	size_t want = record_size(p->count) + (p->data ? p->cap : 0) + (p->stash ? p->last_len : 0);

	if (p->count < 2 || p->received >= p->count || popcount_seen(p) != p->received)
		return false;
	if (p->charge != want || p->received_bytes > WS_MAX_FRAME_REASSEMBLY)
		return false;
	if (p->data && (p->cap != alloc_len((size_t)p->count * p->frag_size) ||
			(size_t)p->count * p->frag_size > WS_MAX_FRAME_REASSEMBLY))
		return false;
	if (p->data && p->stash)
		return false;
	return true;
}

bool ws_reassembler_consistent(const struct ws_reassembler *r)
{
	const struct ws_partial_frame *p, *prev = NULL;
	size_t bytes = r->done ? r->done_charge : 0;
	uint32_t n = 0;

	for (p = r->oldest; p; prev = p, p = p->next) {
		if (p->prev != prev || !partial_consistent(p) || ++n > WS_MAX_INCOMPLETE_FRAMES)
			return false;
		bytes += p->charge;
	}
	if (prev != r->newest || n != r->partials || bytes != r->bytes)
		return false;
	if (r->bytes > WS_MAX_REASSEMBLY_PER_SESSION)
		return false;
	return !r->budget ||
	       atomic_load_explicit(&r->budget->used, memory_order_relaxed) <= r->budget->limit;
}
