/*
 * The `http` section: where the HTTP API and /metrics listen, the file holding the
 * bearer token that calls over TCP must present, and the names (besides the listen
 * address and localhost) a request's Host may give.
 *
 *   http: {listen: "127.0.0.1:9464", token_file: ./token, allowed_hosts: [vigil.lan]}
 *   http: {listen: off}
 */
#include "config/config_int.h"
#include "core/core.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_LISTEN_HOST "127.0.0.1"
#define DEFAULT_LISTEN_PORT 9464

static const char *const keys[] = {"listen", "token_file", "allowed_hosts"};
enum { K_LISTEN, K_TOKEN_FILE, K_ALLOWED_HOSTS, K_N };

void cfg__http_defaults(struct cfg_http *h) {
  memset(h, 0, sizeof *h);
  h->host = vg_strdup(DEFAULT_LISTEN_HOST);
  h->port = DEFAULT_LISTEN_PORT;
  h->listen = vg_asprintf("%s:%d", h->host, h->port);
}

void cfg__http_free(struct cfg_http *h) {
  free(h->listen);
  free(h->host);
  free(h->token_file);
  vg_strv_free(h->allowed_hosts);
  memset(h, 0, sizeof *h);
}

/* A host name (letters, digits, '-', '.') or an IP address literal, without a port. */
static bool valid_host(const char *s) {
  unsigned char addr[16];
  if (strchr(s, ':')) return inet_pton(AF_INET6, s, addr) == 1;
  if (!*s || strlen(s) > 253) return false;
  for (const char *p = s; *p; p++) {
    bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '.';
    if (!ok) return false;
  }
  return true;
}

/* "host:port" or "[v6]:port" with a port 1..65535. */
static bool split_listen(const char *s, char **host, int *port) {
  const char *colon = strrchr(s, ':');
  if (!colon || colon == s || !colon[1]) return false;
  const char *h = s;
  size_t hlen = (size_t)(colon - s);
  if (*s == '[') {
    if (hlen < 3 || colon[-1] != ']') return false;
    h++;
    hlen -= 2;
  } else if (memchr(s, ':', hlen)) {
    return false; /* a bare IPv6 address needs brackets */
  }
  char *end;
  long p = strtol(colon + 1, &end, 10);
  if (*end || p < 1 || p > 65535) return false;
  *host = vg_strndup(h, hlen);
  *port = (int)p;
  return true;
}

void cfg__http_parse(struct cfg__ctx *c, struct cfg_http *h, const struct cfg__node *n,
                     const char *dir) {
  const struct cfg__pair *f[K_N];
  h->pos = n->pos;
  if (!cfg__fields(c, n, keys, K_N, f)) return;
  if (f[K_LISTEN]) {
    char *s = cfg__string(c, f[K_LISTEN]->value);
    char *host = NULL;
    int port = 0;
    if (s && strcmp(s, "off") == 0) {
      free(h->listen);
      free(h->host);
      h->listen = h->host = NULL;
      h->port = 0;
    } else if (s && split_listen(s, &host, &port)) {
      free(h->listen);
      free(h->host);
      h->listen = vg_strdup(s);
      h->host = host;
      h->port = port;
    } else if (s) {
      cfg_diag_add(c->diags, f[K_LISTEN]->value->pos,
                   "bad listen address '%s': expected host:port (port 1..65535), "
                   "[v6addr]:port, or off", s);
    }
    free(s);
  }
  if (f[K_TOKEN_FILE]) {
    char *s = cfg__string(c, f[K_TOKEN_FILE]->value);
    if (s && !s[0]) cfg_diag_add(c->diags, f[K_TOKEN_FILE]->value->pos, "token_file is empty");
    else if (s) h->token_file = cfg__join_path(dir ? dir : "/", s);
    free(s);
  }
  if (f[K_ALLOWED_HOSTS]) {
    const struct cfg__node *v = f[K_ALLOWED_HOSTS]->value;
    char **names = cfg__strv(c, v, "a list of host names");
    for (size_t i = 0; names && names[i]; i++) {
      if (!valid_host(names[i]))
        cfg_diag_add(c->diags, v->items[i]->pos,
                     "bad host name '%s' in allowed_hosts: letters, digits, '-' and '.', "
                     "or an IP address, without a port", names[i]);
    }
    vg_strv_free(h->allowed_hosts);
    h->allowed_hosts = names;
  }
}
