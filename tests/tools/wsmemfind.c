/* SPDX-License-Identifier: MIT */
/*
 * wsmemfind: how many copies of a key a process holds in its memory (test
 * tool, root only; it only reads).
 *
 *   wsmemfind PID BASE64_KEY
 *
 * Decodes the 32-byte key and scans every readable mapping of PID (through
 * /proc/PID/maps and /proc/PID/mem) for its raw bytes and its text. Prints
 * "copies N locked L base64 B": N copies, L of them on pages locked in
 * memory (mlock; from /proc/PID/pagemap and /proc/kpageflags), and B copies
 * of the key's base64 text. Exit 0, or 1 on error.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/crypto.h"

enum { CHUNK = 1 << 20, KPF_MLOCKED_BIT = 33 };

struct scan {
	int mem, pagemap, kpageflags;
	uint8_t key[WS_KEY_LEN];
	const char *b64;
	unsigned long copies, locked, b64_copies;
};

/* Is the page at addr resident and mlocked? */
static bool page_locked(const struct scan *s, uint64_t addr)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t entry, flags;

	if (pread(s->pagemap, &entry, sizeof(entry), (off_t)(addr / (uint64_t)page * 8)) != 8 ||
	    !(entry >> 63))
		return false;
	entry &= (1ull << 55) - 1; /* the page frame number */
	if (pread(s->kpageflags, &flags, sizeof(flags), (off_t)(entry * 8)) != 8)
		return false;
	return (flags >> KPF_MLOCKED_BIT) & 1;
}

static void scan_range(struct scan *s, uint64_t start, uint64_t end, uint8_t *buf)
{
	/* Chunks overlap by the key length less one, so no copy is split. */
	for (uint64_t at = start; at < end; at += CHUNK - (WS_KEY_LEN - 1)) {
		size_t want = end - at < CHUNK ? (size_t)(end - at) : CHUNK;
		ssize_t n = pread(s->mem, buf, want, (off_t)at);

		if (n < (ssize_t)WS_KEY_LEN)
			return; /* unreadable (guard pages, vvar): skip the mapping */
		for (size_t i = 0; i + WS_KEY_LEN <= (size_t)n; i++) {
			if (buf[i] == s->key[0] && !memcmp(buf + i, s->key, WS_KEY_LEN)) {
				s->copies++;
				s->locked += page_locked(s, at + i);
			}
			if (i + WS_KEY_B64_LEN <= (size_t)n && buf[i] == (uint8_t)s->b64[0] &&
			    !memcmp(buf + i, s->b64, WS_KEY_B64_LEN))
				s->b64_copies++;
		}
		if ((size_t)n < want)
			return;
		if (at + want >= end)
			return;
	}
}

int main(int argc, char **argv)
{
	struct scan s = {0};
	char path[64], line[512];
	uint8_t *buf = malloc(CHUNK);
	FILE *maps;

	if (argc != 3 || !buf || ws_key_from_base64(s.key, argv[2])) {
		fprintf(stderr, "usage: wsmemfind PID BASE64_KEY\n");
		return 1;
	}
	s.b64 = argv[2];
	snprintf(path, sizeof(path), "/proc/%s/maps", argv[1]);
	maps = fopen(path, "re");
	snprintf(path, sizeof(path), "/proc/%s/mem", argv[1]);
	s.mem = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/%s/pagemap", argv[1]);
	s.pagemap = open(path, O_RDONLY | O_CLOEXEC);
	s.kpageflags = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	if (!maps || s.mem < 0 || s.pagemap < 0 || s.kpageflags < 0) {
		fprintf(stderr, "wsmemfind: cannot read process %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	while (fgets(line, sizeof(line), maps)) {
		uint64_t start, end;
		char perms[8];

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s", &start, &end, perms) == 3 &&
		    perms[0] == 'r' && !strstr(line, "[vvar]") && !strstr(line, "[vsyscall]"))
			scan_range(&s, start, end, buf);
	}
	printf("copies %lu locked %lu base64 %lu\n", s.copies, s.locked, s.b64_copies);
	return 0;
}
