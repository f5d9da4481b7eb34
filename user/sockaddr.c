// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "escape.h"
#include "sockaddr.h"

#define SUN_PATH_OFF offsetof(struct sockaddr_un, sun_path)

/* sun_path bytes as the kernel reads them: abstract when the first is a
 * NUL (every byte after it counts), else a path up to its first NUL. */
static void unix_name(const uint8_t *p, size_t n, struct sockaddr_view *v)
{
	v->family = AF_UNIX;
	v->abstract = n > 0 && p[0] == 0;
	v->name = v->abstract ? p + 1 : p;
	v->name_len = v->abstract ? n - 1 : strnlen((const char *)p, n);
}

void sockaddr_view(const uint8_t *sa, size_t len, struct sockaddr_view *v)
{
	memset(v, 0, sizeof(*v));
	v->family = -1;
	if (len < sizeof(sa_family_t))
		return;
	{
		sa_family_t family;

		memcpy(&family, sa, sizeof(family));
		v->family = family;
	}
	if (v->family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		struct sockaddr_in sin;

		memcpy(&sin, sa, sizeof(sin));
		inet_ntop(AF_INET, &sin.sin_addr, v->addr, sizeof(v->addr));
		v->port = ntohs(sin.sin_port);
	} else if (v->family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		struct sockaddr_in6 sin6;

		memcpy(&sin6, sa, sizeof(sin6));
		inet_ntop(AF_INET6, &sin6.sin6_addr, v->addr, sizeof(v->addr));
		v->port = ntohs(sin6.sin6_port);
	} else if (v->family == AF_UNIX) {
		unix_name(sa + SUN_PATH_OFF, len - SUN_PATH_OFF, v);
	} else if (v->family == AF_INET || v->family == AF_INET6) {
		snprintf(v->addr, sizeof(v->addr), "?"); /* shorter than its family's */
	}
}

void fd_sockstrs(const struct zcap_fd_ev *ev, const uint8_t *data, struct fd_sockstrs *s)
{
	memset(s, 0, sizeof(*s));
	s->addr.family = s->local.family = s->peer.family = -1;
	if (ev->addr_len)
		sockaddr_view(data, ev->addr_len, &s->addr);
	if (ev->lname_len)
		unix_name(data + ev->addr_len, ev->lname_len, &s->local);
	if (ev->pname_len)
		unix_name(data + ev->addr_len + ev->lname_len, ev->pname_len, &s->peer);
}

void sockaddr_fprint(FILE *out, const struct sockaddr_view *v)
{
	switch (v->family) {
	case AF_INET:
		fprintf(out, "%s:%u", v->addr, v->port);
		break;
	case AF_INET6:
		fprintf(out, "[%s]:%u", v->addr, v->port);
		break;
	case AF_UNIX:
		if (!v->abstract && !v->name_len) {
			fputs("unix", out);
			break;
		}
		fputs(v->abstract ? "@\"" : "\"", out);
		esc_fwrite(out, v->name, v->name_len, 0);
		fputc('"', out);
		break;
	default:
		fprintf(out, "family %d", v->family);
	}
}

void sockaddr_jw(struct jw *w, const char *key, const struct sockaddr_view *v)
{
	if (v->family < 0)
		return;
	jw_key(w, key);
	jw_obj_open(w);
	switch (v->family) {
	case AF_INET:
	case AF_INET6:
		jw_kstr(w, "family", v->family == AF_INET ? "inet" : "inet6");
		jw_kstr(w, "addr", v->addr);
		jw_ki64(w, "port", v->port);
		break;
	case AF_UNIX: {
		char *at;

		jw_kstr(w, "family", "unix");
		if (!v->abstract && !v->name_len)
			break;
		if (!v->abstract) {
			jw_ktext(w, "path", (const char *)v->name, v->name_len);
			break;
		}
		/* "@name", as ss(8) writes it, with every byte of the name */
		at = malloc(v->name_len + 1);
		if (!at) {
			w->oom = true;
			break;
		}
		at[0] = '@';
		memcpy(at + 1, v->name, v->name_len);
		jw_ktext(w, "path", at, v->name_len + 1);
		jw_kbool(w, "abstract", true);
		free(at);
		break;
	}
	default:
		jw_ki64(w, "family", v->family);
	}
	jw_obj_close(w);
}
