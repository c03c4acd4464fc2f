/* SPDX-License-Identifier: MIT */
/*
 * ws show [IFACE [dump]], ws showconf IFACE: the state of running
 * interfaces as WireGuard-like text, JSON (-j; key names documented in
 * ws(8) and docs/control-socket.md, kept stable), a tab-separated dump for
 * scripts, or the running configuration as a ws.conf file. `show` never
 * prints the private key; showconf does (the socket is root only anyway).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ws.h"

void ws_show_help(FILE *f)
{
	fprintf(f, "Usage: ws [-j] [-s] show [IFACE [dump]]\n"
		   "Show the interfaces served by wsd (all when IFACE is omitted): keys, port,\n"
		   "peers, endpoints, latest handshake, transfer, RTT, channels.\n"
		   "  -s    add packet, drop, control-channel and handshake counters\n"
		   "  -j    JSON: an array of interface objects (see ws(8))\n"
		   "  dump  tab-separated lines for scripts: the interface, then one per peer\n");
}

void ws_showconf_help(FILE *f)
{
	fprintf(f, "Usage: ws showconf IFACE\n"
		   "Print the running configuration of IFACE as a ws.conf(5) file,\n"
		   "private key included (same as 'ws link show IFACE config').\n");
}

/* ---- one interface, one peer: text and JSON from the same calls ---- */

static enum ws_print_mode stats_mode(bool stats)
{
	return stats ? WS_PRINT_ANY : WS_PRINT_JSON;
}

static void render_allowed_ips(struct ws_print *p, const struct ws_model_peer *peer)
{
	ws_print_text(p, "  allowed ips: ");
	ws_print_open_array(p, "allowed_ips");
	for (size_t i = 0; i < peer->n_allowed_ips; i++) {
		ws_print_text(p, "%s", i ? ", " : "");
		ws_print_string(p, WS_PRINT_ANY, NULL, "%s", peer->allowed_ips[i]);
	}
	ws_print_close_array(p);
	ws_print_text(p, "%s\n", peer->n_allowed_ips ? "" : "(none)");
}

static void render_channels(struct ws_print *p, const struct ws_model_peer *peer)
{
	ws_print_text(p, "  channels: ");
	ws_print_open_array(p, "channels");
	for (size_t i = 0; i < peer->n_channels; i++) {
		ws_print_text(p, "%s", i ? ", " : "");
		ws_print_open_object(p, NULL);
		ws_print_u64(p, WS_PRINT_ANY, "id", "%" PRIu64, peer->channels[i].id);
		ws_print_string(p, WS_PRINT_ANY, "kind", " (%s)", peer->channels[i].kind);
		ws_print_close_object(p);
	}
	ws_print_close_array(p);
	ws_print_text(p, "%s\n", peer->n_channels ? "" : "(none)");
}

static void render_transfer(struct ws_print *p, const struct ws_model_peer *peer, bool stats)
{
	enum ws_print_mode sm = stats_mode(stats);

	ws_print_bytes(p, WS_PRINT_ANY, "rx_bytes", "  transfer: %s received, ", peer->rx_bytes);
	ws_print_bytes(p, WS_PRINT_ANY, "tx_bytes", "%s sent\n", peer->tx_bytes);
	ws_print_u64(p, sm, "rx_packets", "  packets: %" PRIu64 " received, ", peer->rx_packets);
	ws_print_u64(p, sm, "tx_packets", "%" PRIu64 " sent, ", peer->tx_packets);
	ws_print_u64(p, sm, "rx_dropped", "%" PRIu64 " dropped\n", peer->rx_dropped);
}

static void render_counters(struct ws_print *p, const struct ws_model_peer *peer, bool stats)
{
	enum ws_print_mode sm = stats_mode(stats);

	ws_print_open_object(p, "control");
	ws_print_u64(p, sm, "tx", "  control: %" PRIu64 " sent, ", peer->ctl_tx);
	ws_print_u64(p, sm, "rx", "%" PRIu64 " received, ", peer->ctl_rx);
	ws_print_u64(p, sm, "retransmits", "%" PRIu64 " retransmits, ", peer->ctl_retransmits);
	ws_print_u64(p, sm, "resets", "%" PRIu64 " resets\n", peer->ctl_resets);
	ws_print_close_object(p);
	ws_print_open_object(p, "handshakes");
	ws_print_u64(p, sm, "initiated", "  handshakes: %" PRIu64 " initiated, ",
		     peer->handshakes_initiated);
	ws_print_u64(p, sm, "completed", "%" PRIu64 " completed\n", peer->handshakes_completed);
	ws_print_close_object(p);
}

void ws_show_render_peer(struct ws_print *p, const struct ws_model_peer *peer, uint64_t now,
			 bool stats)
{
	enum ws_print_mode sm = stats_mode(stats);

	ws_print_open_object(p, NULL);
	ws_print_string(p, WS_PRINT_ANY, "public_key", "peer: %s\n", peer->public_key);
	ws_print_string(p, WS_PRINT_ANY, "endpoint", "  endpoint: %s\n", peer->endpoint);
	ws_print_string(p, sm, "endpoint_config", "  configured endpoint: %s\n",
			peer->endpoint_config);
	render_allowed_ips(p, peer);
	ws_print_ago(p, WS_PRINT_ANY, "latest_handshake", "  latest handshake: %s\n",
		     peer->last_handshake_sec, now);
	render_transfer(p, peer, stats);
	if (peer->has_rtt)
		ws_print_usecs(p, WS_PRINT_ANY, "rtt_us", "  rtt: %s\n", peer->rtt_us);
	else
		ws_print_null(p, WS_PRINT_ANY, "rtt_us", "  rtt: unknown\n");
	ws_print_bool(p, WS_PRINT_ANY, "connected", "  connected: %s\n", peer->connected);
	ws_print_u64(p, sm, "sessions", "  sessions: %" PRIu64 "\n", peer->sessions);
	ws_print_secs(p, peer->persistent_keepalive ? WS_PRINT_ANY : WS_PRINT_JSON,
		      "persistent_keepalive", "  persistent keepalive: every %s\n",
		      peer->persistent_keepalive);
	render_channels(p, peer);
	render_counters(p, peer, stats);
	ws_print_close_object(p);
}

static void render_iface_stats(struct ws_print *p, const struct ws_model_iface *m, bool stats)
{
	enum ws_print_mode sm = stats_mode(stats);

	if (m->has_mtu)
		ws_print_u64(p, sm, "mtu", "  mtu: %" PRIu64 "\n", m->mtu);
	else
		ws_print_null(p, WS_PRINT_JSON, "mtu", NULL);
	ws_print_u64(p, sm, "max_packet_size", "  max packet size: %" PRIu64 "\n",
		     m->max_packet_size);
	ws_print_u64(p, sm, "workers", "  workers: %" PRIu64 "\n", m->workers);
	ws_print_open_object(p, "stats");
	ws_print_u64(p, sm, "handshake_queue", "  handshake queue: %" PRIu64 "\n",
		     m->handshake_queue);
	ws_print_u64(p, sm, "cookie_replies_sent", "  cookie replies sent: %" PRIu64 "\n",
		     m->cookie_replies_sent);
	ws_print_u64(p, sm, "handshakes_rate_limited", "  handshakes rate limited: %" PRIu64 "\n",
		     m->handshakes_rate_limited);
	ws_print_u64(p, sm, "inbox_dropped", "  inbox dropped: %" PRIu64 "\n", m->inbox_dropped);
	ws_print_u64(p, sm, "tx_no_route", "  tx no route: %" PRIu64 "\n", m->tx_no_route);
	ws_print_u64(p, sm, "tx_no_session", "  tx no session: %" PRIu64 "\n", m->tx_no_session);
	ws_print_u64(p, sm, "rx_unknown_index", "  rx unknown index: %" PRIu64 "\n",
		     m->rx_unknown_index);
	ws_print_u64(p, sm, "rx_bad_packet", "  rx bad packet: %" PRIu64 "\n", m->rx_bad_packet);
	ws_print_u64(p, sm, "tx_loop_dropped", "  tx routing loop dropped: %" PRIu64 "\n",
		     m->tx_loop_dropped);
	ws_print_u64(p, sm, "drop_rx_replay", "  dropped: rx replayed: %" PRIu64 "\n", m->drop_rx_replay);
	ws_print_u64(p, sm, "drop_rx_decrypt", "  dropped: rx decryption failed: %" PRIu64 "\n", m->drop_rx_decrypt);
	ws_print_u64(p, sm, "drop_rx_bad_frame", "  dropped: rx bad frame: %" PRIu64 "\n", m->drop_rx_bad_frame);
	ws_print_u64(p, sm, "drop_rx_unknown_channel", "  dropped: rx unknown channel: %" PRIu64 "\n", m->drop_rx_unknown_channel);
	ws_print_u64(p, sm, "drop_rx_unknown_event", "  dropped: rx unknown event: %" PRIu64 "\n", m->drop_rx_unknown_event);
	ws_print_u64(p, sm, "drop_rx_source", "  dropped: rx source not allowed: %" PRIu64 "\n", m->drop_rx_source);
	ws_print_u64(p, sm, "drop_rx_reassembly", "  dropped: rx reassembly refused: %" PRIu64 "\n", m->drop_rx_reassembly);
	ws_print_u64(p, sm, "drop_rx_tun_refused", "  dropped: rx tun write refused: %" PRIu64 "\n", m->drop_rx_tun_refused);
	ws_print_u64(p, sm, "drop_tx_bad_packet", "  dropped: tx bad packet: %" PRIu64 "\n", m->drop_tx_bad_packet);
	ws_print_u64(p, sm, "drop_tx_too_big", "  dropped: tx too big: %" PRIu64 "\n", m->drop_tx_too_big);
	ws_print_u64(p, sm, "drop_tx_staging_full", "  dropped: tx staging full: %" PRIu64 "\n", m->drop_tx_staging_full);
	ws_print_u64(p, sm, "drop_tx_send_failed", "  dropped: tx send failed: %" PRIu64 "\n", m->drop_tx_send_failed);
	ws_print_close_object(p);
}

void ws_show_render_iface(struct ws_print *p, const struct ws_model_iface *m, uint64_t now,
			  bool stats)
{
	ws_print_open_object(p, NULL);
	ws_print_string(p, WS_PRINT_ANY, "interface", "interface: %s\n", m->name);
	ws_print_string(p, WS_PRINT_ANY, "public_key", "  public key: %s\n",
			m->public_key[0] ? m->public_key : NULL);
	ws_print_u64(p, WS_PRINT_ANY, "listen_port", "  listening port: %" PRIu64 "\n",
		     m->listen_port);
	ws_print_u64(p, m->fwmark ? WS_PRINT_ANY : WS_PRINT_JSON, "fwmark",
		     "  fwmark: 0x%" PRIx64 "\n", m->fwmark);
	render_iface_stats(p, m, stats);
	ws_print_open_array(p, "peers");
	for (size_t i = 0; i < m->n_peers; i++) {
		ws_print_text(p, "\n");
		ws_show_render_peer(p, &m->peers[i], now, stats);
	}
	ws_print_close_array(p);
	ws_print_close_object(p);
}

/* ---- dump: tab-separated, wg's column order first, new columns appended ---- */

static void dump_opt(FILE *f, const char *sep, const char *s)
{
	fprintf(f, "%s%s", sep, s ? s : "(none)");
}

static void dump_list_allowed(FILE *f, const struct ws_model_peer *peer)
{
	fputc('\t', f);
	for (size_t i = 0; i < peer->n_allowed_ips; i++)
		fprintf(f, "%s%s", i ? "," : "", peer->allowed_ips[i]);
	if (!peer->n_allowed_ips)
		fputs("(none)", f);
}

static void dump_list_channels(FILE *f, const struct ws_model_peer *peer)
{
	fputc('\t', f);
	for (size_t i = 0; i < peer->n_channels; i++)
		fprintf(f, "%s%" PRIu64 ":%s", i ? "," : "", peer->channels[i].id,
			peer->channels[i].kind);
	if (!peer->n_channels)
		fputs("(none)", f);
}

static void dump_peer(FILE *f, const struct ws_model_peer *p)
{
	dump_opt(f, "", p->public_key);
	dump_opt(f, "\t", p->endpoint);
	dump_list_allowed(f, p);
	fprintf(f, "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64, p->last_handshake_sec, p->rx_bytes,
		p->tx_bytes);
	if (p->persistent_keepalive)
		fprintf(f, "\t%" PRIu64, p->persistent_keepalive);
	else
		fputs("\toff", f);
	if (p->has_rtt)
		fprintf(f, "\t%" PRIu64, p->rtt_us);
	else
		fputs("\t(none)", f);
	fprintf(f, "\t%s\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64, p->connected ? "yes" : "no",
		p->sessions, p->rx_packets, p->tx_packets, p->rx_dropped);
	fprintf(f, "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64,
		p->ctl_tx, p->ctl_rx, p->ctl_retransmits, p->ctl_resets, p->handshakes_initiated,
		p->handshakes_completed);
	dump_opt(f, "\t", p->endpoint_config);
	dump_list_channels(f, p);
	fputc('\n', f);
}

void ws_show_render_dump(FILE *f, const struct ws_model_iface *m)
{
	dump_opt(f, "", m->public_key[0] ? m->public_key : NULL);
	fprintf(f, "\t%" PRIu64, m->listen_port);
	if (m->fwmark)
		fprintf(f, "\t0x%" PRIx64, m->fwmark);
	else
		fputs("\toff", f);
	if (m->has_mtu)
		fprintf(f, "\t%" PRIu64, m->mtu);
	else
		fputs("\t(none)", f);
	fprintf(f, "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\n",
		m->max_packet_size, m->workers, m->handshake_queue, m->cookie_replies_sent,
		m->handshakes_rate_limited);
	for (size_t i = 0; i < m->n_peers; i++)
		dump_peer(f, &m->peers[i]);
}

/* ---- showconf: the reply as a ws.conf model ---- */

static int bad(char *what, size_t cap, const char *key, const char *value)
{
	snprintf(what, cap, "%s '%s'", key, value);
	return -EPROTO;
}

static int bad_u64(char *what, size_t cap, const char *key, uint64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRIu64, v);
	return bad(what, cap, key, num);
}

static int peer_to_conf(struct ws_conf_peer *cp, const struct ws_model_peer *mp, char *what,
			size_t cap)
{
	const char *ep = mp->endpoint_config ? mp->endpoint_config : mp->endpoint;

	if (ws_key_from_base64(cp->public_key, mp->public_key))
		return bad(what, cap, "public_key", mp->public_key);
	if (mp->persistent_keepalive > UINT16_MAX)
		return bad_u64(what, cap, "persistent_keepalive_interval", mp->persistent_keepalive);
	cp->persistent_keepalive = (uint16_t)mp->persistent_keepalive;
	if (ep && ws_conf_parse_endpoint(&cp->endpoint, ep))
		return bad(what, cap, "endpoint", ep);
	cp->has_endpoint = ep != NULL;
	if (mp->n_allowed_ips) {
		cp->allowed_ips = calloc(mp->n_allowed_ips, sizeof(*cp->allowed_ips));
		if (!cp->allowed_ips)
			return -ENOMEM;
	}
	for (size_t i = 0; i < mp->n_allowed_ips; i++, cp->n_allowed_ips++)
		if (ws_conf_parse_prefix(&cp->allowed_ips[i], mp->allowed_ips[i],
					 WS_CONF_PREFIX_MASK))
			return bad(what, cap, "allowed_ip", mp->allowed_ips[i]);
	return 0;
}

static int iface_to_conf(struct ws_conf *c, const struct ws_model_iface *m, char *what, size_t cap)
{
	c->has_private_key = m->has_private_key;
	memcpy(c->private_key, m->private_key, WS_KEY_LEN);
	if (m->listen_port > UINT16_MAX)
		return bad_u64(what, cap, "listen_port", m->listen_port);
	c->listen_port = (uint16_t)m->listen_port;
	if (m->fwmark > UINT32_MAX)
		return bad_u64(what, cap, "fwmark", m->fwmark);
	c->fwmark = (uint32_t)m->fwmark;
	/* Running values the config can hold; anything else stays default. */
	if (m->has_mtu && m->mtu >= WS_CONF_MTU_MIN && m->mtu <= WS_CONF_MTU_MAX)
		c->mtu = (uint32_t)m->mtu;
	if (m->max_packet_size >= WS_CONF_MAX_PACKET_SIZE_MIN &&
	    m->max_packet_size <= WS_CONF_MAX_PACKET_SIZE_MAX)
		c->max_packet_size = (uint32_t)m->max_packet_size;
	return 0;
}

int ws_show_to_conf(struct ws_conf *c, const struct ws_model_iface *m, char *what, size_t cap)
{
	int ret;

	memset(c, 0, sizeof(*c));
	what[0] = '\0';
	ret = iface_to_conf(c, m, what, cap);
	if (!ret && m->n_peers) {
		c->peers = calloc(m->n_peers, sizeof(*c->peers));
		ret = c->peers ? 0 : -ENOMEM;
	}
	for (size_t i = 0; !ret && i < m->n_peers; i++, c->n_peers++)
		ret = peer_to_conf(&c->peers[i], &m->peers[i], what, cap);
	if (ret)
		ws_conf_free(c);
	return ret;
}

/* ---- the commands ---- */

/* One interface: fetched before anything is printed. */
static int show_one(struct ws_cli *cli, const char *ifname, bool dump)
{
	struct ws_model_iface m;
	struct ws_print p;

	if (ws_cli_get(cli, ifname, &m, false)) {
		ws_model_free(&m);
		return WS_EXIT_FAIL;
	}
	ws_print_init(&p, cli->out, cli->json);
	if (dump) {
		ws_show_render_dump(cli->out, &m);
	} else {
		ws_print_open_array(&p, NULL);
		ws_show_render_iface(&p, &m, cli->now, cli->stats);
		ws_print_close_array(&p);
	}
	ws_print_end(&p);
	ws_model_free(&m);
	return WS_EXIT_OK;
}

/* Every interface whose daemon answers; the others are skipped silently. */
static int show_all(struct ws_cli *cli)
{
	struct ws_print p;
	char **names;
	size_t n, shown = 0;
	int ret = ws_cli_list(cli, &names, &n);

	if (ret)
		return ws_cli_fail(cli, "cannot list %s: %s", cli->run_dir, strerror(-ret));
	ws_print_init(&p, cli->out, cli->json);
	ws_print_open_array(&p, NULL);
	for (size_t i = 0; i < n; i++) {
		struct ws_model_iface m;

		if (!ws_cli_get(cli, names[i], &m, true)) {
			ws_print_text(&p, "%s", shown++ ? "\n" : "");
			ws_show_render_iface(&p, &m, cli->now, cli->stats);
		}
		ws_model_free(&m);
	}
	ws_print_close_array(&p);
	ws_print_end(&p);
	ws_cli_free_names(names, n);
	return cli->errors ? WS_EXIT_FAIL : WS_EXIT_OK;
}

static const struct ws_word show_keywords[] = {
	{ "dump", NULL, NULL },
	{ NULL, NULL, NULL },
};

int ws_show_main(struct ws_cli *cli, int argc, char **argv)
{
	bool dump = argc == 3;

	if (argc == 2 && ws_cli_is_help(argv[1])) {
		ws_show_help(cli->out);
		return WS_EXIT_OK;
	}
	if (argc > 3)
		return ws_cli_fail(cli, "show: unexpected argument '%s'", argv[3]);
	if (argc > 1 && !ws_cli_check_ifname(cli, argv[1]))
		return WS_EXIT_FAIL;
	if (dump && ws_cli_lookup(cli, show_keywords, argv[2], "show keyword") < 0)
		return WS_EXIT_FAIL;
	if (dump && cli->json)
		return ws_cli_fail(cli, "show: 'dump' is text; use either -json or dump");
	return argc > 1 ? show_one(cli, argv[1], dump) : show_all(cli);
}

int ws_show_config(struct ws_cli *cli, const char *ifname)
{
	struct ws_model_iface m;
	struct ws_conf c;
	char what[WS_IPC_MAX_LINE + 64];
	int ret;

	if (!ws_cli_check_ifname(cli, ifname))
		return WS_EXIT_FAIL;
	if (ws_cli_get(cli, ifname, &m, false)) {
		ws_model_free(&m);
		return WS_EXIT_FAIL;
	}
	ret = ws_show_to_conf(&c, &m, what, sizeof(what));
	ws_model_free(&m);
	if (ret)
		return ws_cli_fail(cli, "%s: the running config does not fit ws.conf: %s", ifname,
				   ret == -ENOMEM ? strerror(ENOMEM) : what);
	ws_cli_warn_readable(cli);   /* the private key follows */
	ret = ws_conf_write(cli->out, &c, true);
	ws_conf_free(&c);
	return ret ? ws_cli_fail(cli, "showconf: %s", strerror(-ret)) : WS_EXIT_OK;
}

int ws_showconf_main(struct ws_cli *cli, int argc, char **argv)
{
	if (argc == 2 && ws_cli_is_help(argv[1])) {
		ws_showconf_help(cli->out);
		return WS_EXIT_OK;
	}
	if (argc < 2)
		return ws_cli_fail(cli, "showconf: missing IFACE (usage: ws showconf IFACE)");
	if (argc > 2)
		return ws_cli_fail(cli, "showconf: unexpected argument '%s'", argv[2]);
	return ws_show_config(cli, argv[1]);
}
