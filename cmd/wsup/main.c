/* SPDX-License-Identifier: MIT */
/*
 * wsup NAME|FILE, wsdown NAME|FILE (wsup(8)). A bare NAME means
 * /etc/wiresocket/NAME.conf; a FILE (a path, or anything ending in .conf)
 * names the interface by its basename without .conf. Which command runs is
 * chosen by the basename of argv[0] (wsdown is a hard link to wsup).
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wsup.h"

#define WSUP_CONF_DIR "/etc/wiresocket"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s NAME | FILE\n"
		"  NAME  the interface; its config is " WSUP_CONF_DIR "/NAME.conf\n"
		"  FILE  a config path ending in IFNAME.conf (IFNAME: 1-15 of a-z A-Z 0-9 _ = + . -)\n"
		"%s. See wsup(8) and ws.conf(5).\n",
		wsup_prog,
		strcmp(wsup_prog, "wsdown")
			? "Brings the interface up: PreUp, wsd, addresses, MTU, DNS, routes, PostUp"
			: "Takes it down again: PreDown, routes, rules, DNS, wsd, PostDown");
}

/* 1..15 bytes of [a-zA-Z0-9_=+.-], not "." or "..". */
static bool valid_ifname(const char *s, size_t len)
{
	if (len == 0 || len >= IFNAMSIZ || (len == 1 && s[0] == '.') ||
	    (len == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_=+.-",
			    s[i]) || s[i] == '\0')
			return false;
	return true;
}

static bool ends_with_conf(const char *s)
{
	size_t len = strlen(s);

	return len >= 5 && !strcmp(s + len - 5, ".conf");
}

static int resolve(struct wsup *w, const char *arg)
{
	const char *base = strrchr(arg, '/');
	size_t len;

	if (!base && !ends_with_conf(arg)) {
		if (!valid_ifname(arg, strlen(arg))) {
			wsup_err("'%s' is not an interface name (1-15 of a-z A-Z 0-9 _ = + . -)", arg);
			return -1;
		}
		snprintf(w->ifname, sizeof(w->ifname), "%s", arg);
		snprintf(w->config, sizeof(w->config), WSUP_CONF_DIR "/%s.conf", arg);
		return 0;
	}
	base = base ? base + 1 : arg;
	len = strlen(base);
	if (!ends_with_conf(base) || !valid_ifname(base, len - 5)) {
		wsup_err("'%s': a config file must be named IFNAME.conf, IFNAME being 1-15 of "
			 "a-z A-Z 0-9 _ = + . -", arg);
		return -1;
	}
	if (strlen(arg) >= sizeof(w->config)) {
		wsup_err("'%s': path too long", arg);
		return -1;
	}
	snprintf(w->ifname, sizeof(w->ifname), "%.*s", (int)(len - 5), base);
	snprintf(w->config, sizeof(w->config), "%s", arg);
	return 0;
}

static int load(struct wsup *w)
{
	struct ws_conf_error err;

	if (wsup_check_config_file(w->config) < 0)
		return -1;
	if (ws_conf_load_file(&w->conf, w->config, &err) < 0 ||
	    ws_conf_validate(&w->conf, WS_CONF_NEED_PRIVATE_KEY, &err) < 0) {
		wsup_err("%s", err.msg);
		return -1;
	}
	if (err.warnings)
		wsup_warn("%s", err.warning);
	return 0;
}

int main(int argc, char **argv)
{
	static struct wsup w;
	const char *base = argc > 0 ? strrchr(argv[0], '/') : NULL;
	bool down;
	int rc;

	base = base ? base + 1 : argc > 0 ? argv[0] : "wsup";
	down = !strcmp(base, "wsdown");
	wsup_prog = down ? "wsdown" : "wsup";
	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
			  !strcmp(argv[1], "help"))) {
		usage(stdout);
		return 0;
	}
	if (argc != 2 || argv[1][0] == '-') {
		usage(stderr);
		return 1;
	}
	if (resolve(&w, argv[1]) < 0)
		return 1;
	if (geteuid() != 0) {
		wsup_err("must be run as root");
		return 1;
	}
	umask(077);
	wsup_state_init(&w.st);
	wsup_signals_init();
	if (down) {
		rc = wsup_down(&w);
	} else {
		rc = load(&w);
		if (rc == 0)
			rc = wsup_up(&w);
		ws_conf_free(&w.conf);
	}
	wsup_state_free(&w.st);
	return rc < 0 ? 1 : 0;
}
