/* SPDX-License-Identifier: MIT */
/*
 * ws: the ip-style command-line tool of wiresocket.
 *
 *   ws [OPTIONS] OBJECT COMMAND [ARGS]
 *
 * ws.c     options, the object table, unique-prefix matching, help
 * key.c    genkey, pubkey
 * call.c   the control socket round trip (docs/control-socket.md)
 * model.c  a `get` reply parsed into struct ws_model_iface (pure)
 * print.c  one printer for text and JSON, text formatters (pure)
 * show.c   show, showconf, dump
 * link.c   link show/add/del (starts and stops wsd)
 * peer.c   peer show/add/set/del
 * main.c   main() only, so tests can link everything else
 *
 * Every command writes to cli->out and reports errors as one line
 * "ws: ..." on cli->err; commands return the exit status (0 or 1).
 */
#ifndef WS_CLI_H
#define WS_CLI_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "conf/conf.h"
#include "core/crypto.h"
#include "core/ipc.h"
#include "os/ipc_sock.h"
#include "os/resolver.h"

#define WS_CLI_VERSION "0.1.0"

enum { WS_EXIT_OK = 0, WS_EXIT_FAIL = 1 };

struct ws_cli {
	FILE *in, *out, *err;
	bool json, stats;
	uint64_t now;                 /* wall clock, Unix seconds ("12 seconds ago") */
	const char *run_dir;          /* WS_RUN_DIR: *.sock and *.pid live there */
	/* Connect to IFNAME's control socket: an fd or -errno. ws_ipc_connect by
	 * default; tests substitute a fake daemon. */
	int (*connect)(void *ctx, const char *ifname);
	void *connect_ctx;
	/* How `peer add/set` checks an endpoint name: ws_resolver_lookup;
	 * tests substitute a fake DNS. */
	ws_resolver_fn *resolve;
	unsigned errors;              /* errors printed while going through all interfaces */
};

/* Fill *cli with the defaults for the real program. */
void ws_cli_init(struct ws_cli *cli, FILE *in, FILE *out, FILE *err);
/* Run "ws ARGS..." (argv[0] is the program name). Returns the exit status. */
int ws_cli_main(struct ws_cli *cli, int argc, char **argv);
/* Print "ws: MESSAGE\n" on cli->err and return WS_EXIT_FAIL. */
int ws_cli_fail(struct ws_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- words: objects, commands, keywords (ws.c) ---- */

typedef int ws_cli_run_fn(struct ws_cli *cli, int argc, char **argv);

/* A table ends with a NULL name. run and help are NULL for plain keywords. */
struct ws_word {
	const char *name;
	ws_cli_run_fn *run;
	void (*help)(FILE *f);
};

enum { WS_MATCH_NONE = -1, WS_MATCH_AMBIGUOUS = -2 };
/* Index of the word that equals `word`, else of the only word it is a
 * non-empty prefix of; WS_MATCH_NONE or WS_MATCH_AMBIGUOUS otherwise. */
int ws_match(const struct ws_word *table, const char *word);
/* The words `word` is a prefix of (all of them for ""), as "a, b, c"
 * (truncated to fit cap). */
const char *ws_match_candidates(char *buf, size_t cap, const struct ws_word *table,
				const char *word);
/* ws_match, printing "ws: unknown/ambiguous WHAT 'word'..." on failure. */
int ws_cli_lookup(struct ws_cli *cli, const struct ws_word *table, const char *word,
		  const char *what);
/* Run the command argv[1] of object argv[0] from table; argc < 2 runs
 * the table's entry `dflt` (NULL: "missing command" error). */
int ws_cli_dispatch(struct ws_cli *cli, const struct ws_word *table, const char *dflt, int argc,
		    char **argv);
/* True when word is "help" (objects whose next word is an interface name
 * take only the full word). */
bool ws_cli_is_help(const char *word);

/* ---- objects ---- */
int ws_key_genkey(struct ws_cli *cli, int argc, char **argv);
int ws_key_pubkey(struct ws_cli *cli, int argc, char **argv);
int ws_show_main(struct ws_cli *cli, int argc, char **argv);
int ws_showconf_main(struct ws_cli *cli, int argc, char **argv);
int ws_link_main(struct ws_cli *cli, int argc, char **argv);
int ws_peer_main(struct ws_cli *cli, int argc, char **argv);

/* Help texts, one per object (stdout of `ws OBJECT help`). */
void ws_help_top(FILE *f);
void ws_key_help_genkey(FILE *f);
void ws_key_help_pubkey(FILE *f);
void ws_show_help(FILE *f);
void ws_showconf_help(FILE *f);
void ws_link_help(FILE *f);
void ws_peer_help(FILE *f);

/* ---- the model of a `get` reply (model.c, pure) ---- */

struct ws_model_channel {
	uint64_t id;
	char *kind;                   /* "control", "data", or what the daemon says */
};

struct ws_model_peer {
	char public_key[WS_KEY_B64_LEN + 1];
	char *endpoint;               /* NULL when unknown */
	char *endpoint_config;        /* NULL when not configured */
	char **allowed_ips;
	size_t n_allowed_ips, cap_allowed_ips;
	struct ws_model_channel *channels;
	size_t n_channels, cap_channels;
	uint64_t last_handshake_sec, last_handshake_nsec;
	uint64_t rx_bytes, tx_bytes, rx_packets, tx_packets, rx_dropped;
	bool has_rtt;
	uint64_t rtt_us;
	bool connected;
	uint64_t sessions, persistent_keepalive;
	uint64_t ctl_tx, ctl_rx, ctl_retransmits, ctl_resets;
	uint64_t handshakes_initiated, handshakes_completed;
};

struct ws_model_iface {
	char *name;                   /* NULL when the daemon did not say */
	bool has_private_key;
	uint8_t private_key[WS_KEY_LEN];   /* secret: wiped by ws_model_free */
	char public_key[WS_KEY_B64_LEN + 1];
	uint64_t listen_port, fwmark, max_packet_size, workers;
	bool has_mtu;
	uint64_t mtu;
	uint64_t handshake_queue, cookie_replies_sent, handshakes_rate_limited;
	uint64_t inbox_dropped, tx_no_route, tx_no_session, rx_unknown_index, rx_bad_packet;
	uint64_t tx_loop_dropped;
	uint64_t drop_rx_replay, drop_rx_decrypt, drop_rx_bad_frame, drop_rx_unknown_channel;
	uint64_t drop_rx_unknown_event, drop_rx_source, drop_rx_reassembly, drop_rx_tun_refused;
	uint64_t drop_tx_bad_packet, drop_tx_too_big, drop_tx_staging_full, drop_tx_send_failed;
	struct ws_model_peer *peers;
	size_t n_peers, cap_peers;
};

/*
 * Parse a `get` reply (buf[0..len), modified in place) into *m, which must
 * be zeroed. The first public_key before any peer is the interface's; each
 * later one starts a peer. Unknown keys (and errno) are ignored. Returns 0,
 * -EPROTO for a malformed line or a bad value of a known key, or -ENOMEM;
 * *m must be freed with ws_model_free in every case.
 */
int ws_model_parse(struct ws_model_iface *m, char *buf, size_t len);
void ws_model_free(struct ws_model_iface *m);
/* The peer with this base64 key, or NULL. */
const struct ws_model_peer *ws_model_find_peer(const struct ws_model_iface *m, const char *key);

/* ---- printer: one call per field, text or JSON (print.c) ---- */

enum ws_print_mode {
	WS_PRINT_ANY,                 /* text (with fmt) and JSON */
	WS_PRINT_TEXT,                /* text only */
	WS_PRINT_JSON,                /* JSON only */
};

enum { WS_PRINT_DEPTH = 16, WS_FMT_LEN = 128 };

struct ws_print {
	FILE *f;
	bool json;
	unsigned depth;
	bool comma[WS_PRINT_DEPTH];   /* an element was written at this level */
};

void ws_print_init(struct ws_print *p, FILE *f, bool json);
/* JSON containers; key is NULL inside arrays and at the top. No-ops in text. */
void ws_print_open_object(struct ws_print *p, const char *key);
void ws_print_close_object(struct ws_print *p);
void ws_print_open_array(struct ws_print *p, const char *key);
void ws_print_close_array(struct ws_print *p);
/* Text mode only: printf(fmt, ...). */
void ws_print_text(struct ws_print *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * Field printers: in text mode print fmt (when not NULL) with the value
 * rendered for humans; in JSON write "key": value. The mode limits a call to
 * one of them.
 */
/* v NULL: JSON null, and nothing in text. */
void ws_print_string(struct ws_print *p, enum ws_print_mode m, const char *key, const char *fmt,
		     const char *v);
void ws_print_u64(struct ws_print *p, enum ws_print_mode m, const char *key, const char *fmt,
		  uint64_t v);
/* Text: "yes"/"no" through %s. */
void ws_print_bool(struct ws_print *p, enum ws_print_mode m, const char *key, const char *fmt,
		   bool v);
/* JSON null; text prints fmt as is. */
void ws_print_null(struct ws_print *p, enum ws_print_mode m, const char *key, const char *fmt);
/* Text "1.20 KiB" through %s; JSON the number. */
void ws_print_bytes(struct ws_print *p, enum ws_print_mode m, const char *key, const char *fmt,
		    uint64_t v);
/* Text "2 minutes, 3 seconds ago" ("never" for 0) through %s; JSON then. */
void ws_print_ago(struct ws_print *p, enum ws_print_mode m, const char *key, const char *fmt,
		  uint64_t then, uint64_t now);
/* Text "25 seconds" through %s; JSON the number. */
void ws_print_secs(struct ws_print *p, enum ws_print_mode m, const char *key, const char *fmt,
		   uint64_t secs);
/* Text "0.123 ms" through %s; JSON the number of microseconds. */
void ws_print_usecs(struct ws_print *p, enum ws_print_mode m, const char *key, const char *fmt,
		    uint64_t us);
/* Finish the output: a newline after JSON; fflush. */
void ws_print_end(struct ws_print *p);

/* Pure formatters; each returns buf. */
const char *ws_fmt_bytes(char buf[WS_FMT_LEN], uint64_t bytes);
const char *ws_fmt_duration(char buf[WS_FMT_LEN], uint64_t secs);
const char *ws_fmt_ago(char buf[WS_FMT_LEN], uint64_t then, uint64_t now);
const char *ws_fmt_usecs(char buf[WS_FMT_LEN], uint64_t us);
/* Write s as a JSON string: quoted, escaped, invalid UTF-8 as U+FFFD. */
void ws_json_string(FILE *f, const char *s);

/* ---- rendering a model (show.c) ---- */

/* `ws show`: one interface (text block or JSON object). */
void ws_show_render_iface(struct ws_print *p, const struct ws_model_iface *m, uint64_t now,
			  bool stats);
/* One peer (text block or JSON object). */
void ws_show_render_peer(struct ws_print *p, const struct ws_model_peer *peer, uint64_t now,
			 bool stats);
/* `ws showconf IFACE` (also `ws link show IFACE config`). */
int ws_show_config(struct ws_cli *cli, const char *ifname);
/* `ws show IFACE dump`: tab-separated lines. */
void ws_show_render_dump(FILE *f, const struct ws_model_iface *m);
/* The running config as a ws.conf model (ws_conf_free it). 0 or -EPROTO/-ENOMEM
 * (with what: the value that does not fit the config model). */
int ws_show_to_conf(struct ws_conf *c, const struct ws_model_iface *m, char *what, size_t cap);

/* ---- the control socket (call.c) ---- */

/* Interface names: 1..15 bytes, no '/', whitespace or ':'; not "." or "..". */
bool ws_ifname_valid(const char *name);
/*
 * One round trip on a connected fd: write req, read the reply, split off its
 * final errno=N. Returns 0 with *daemon_errno = N (and the reply in *reply,
 * malloc'd, when N is 0), or -errno for a transport or framing failure.
 */
int ws_cli_exchange(int fd, const char *req, size_t len, char **reply, size_t *reply_len,
		    int *daemon_errno);
/*
 * Connect to IFNAME and exchange. Transport failures are printed ("no such
 * wiresocket interface 'X' (is wsd running?)" when nothing listens) and
 * return -1. quiet (for going through every socket) silences an absent
 * daemon and a broken reply; other connect errors (EACCES: not root) are
 * still printed and counted in cli->errors. A daemon error returns its
 * positive errno (not printed); success returns 0 with the reply.
 */
int ws_cli_call(struct ws_cli *cli, const char *ifname, const struct ws_ipc_buf *req,
		char **reply, size_t *reply_len, bool quiet);
/* `get` IFNAME into *m (zeroed by the callee). 0, or -1 after printing
 * (nothing printed when quiet). ws_model_free(m) in both cases. */
int ws_cli_get(struct ws_cli *cli, const char *ifname, struct ws_model_iface *m, bool quiet);
/* Send a `set` request; daemon errors are printed as "ws: WHAT: strerror". */
int ws_cli_set(struct ws_cli *cli, const char *ifname, const struct ws_ipc_buf *req,
	       const char *what);
/* Names of the interfaces with a socket in cli->run_dir, sorted (malloc'd;
 * free with ws_cli_free_names). 0 or -errno (-ENOENT: no run dir: n = 0). */
int ws_cli_list(struct ws_cli *cli, char ***names, size_t *n);
void ws_cli_free_names(char **names, size_t n);
/* Warn on cli->err when cli->out is a regular file that group or others can
 * read, before a private key is written to it (genkey, showconf). */
void ws_cli_warn_readable(struct ws_cli *cli);
/* Check an IFACE argument; prints the error. */
bool ws_cli_check_ifname(struct ws_cli *cli, const char *name);

/* ---- peer arguments (peer.c, pure) ---- */

struct ws_peer_args {
	const char *ifname;
	char public_key[WS_KEY_B64_LEN + 1];   /* canonical base64 */
	bool has_allowed_ips;
	struct ws_conf_prefix *allowed_ips;
	size_t n_allowed_ips;
	bool has_endpoint;
	struct ws_conf_endpoint endpoint;
	bool has_keepalive;
	uint16_t keepalive;
};

/* Parse "IFACE PUBKEY [keyword value]..." (argv[0] is the command name;
 * keywords only when with_options). 0, or WS_EXIT_FAIL after printing the
 * error; ws_peer_args_free(a) in both cases. */
int ws_peer_parse_args(struct ws_cli *cli, struct ws_peer_args *a, int argc, char **argv,
		       bool with_options);
void ws_peer_args_free(struct ws_peer_args *a);
enum ws_peer_op { WS_PEER_ADD, WS_PEER_SET, WS_PEER_DEL };
/* The `set` request for the operation (ws_ipc_buf_free it). */
void ws_peer_build_request(struct ws_ipc_buf *b, const struct ws_peer_args *a, enum ws_peer_op op);

#endif
