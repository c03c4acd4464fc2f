/* SPDX-License-Identifier: MIT */
/*
 * The keys of ws.conf(5) (conf_keys.c): what the parse (conf_parse.c) calls
 * for each key line and each [Peer] header.
 */
#ifndef WS_CONF_KEYS_H
#define WS_CONF_KEYS_H

#include "conf/conf_util.h"

/* One "name = value" (or continuation) of the current line. */
int ws_conf_set_key(struct ws_conf_parser *p, const char *name, const char *value);
/* A new, empty peer for a [Peer] header on the current line. */
int ws_conf_add_peer(struct ws_conf_parser *p);

#endif
