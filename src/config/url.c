/*
 * The one check of a URL-valued key (a service's ready.http probe, sinks.influx.url,
 * compute.on_complete): an absolute http:// (or, where allowed, https://) URL with a
 * host, so nothing else ever reaches libcurl or the probe (file://, gopher://, a bare
 * word). The requests themselves are also held to http and https where they are made.
 */
#include "config/config_int.h"

#include <stdio.h>
#include <string.h>

static bool host_char(char ch, bool v6) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
         ch == '-' || ch == '.' || ch == '_' || (v6 && ch == ':');
}

int cfg__url_check(const char *s, unsigned flags, const char *what, char *err, size_t errlen) {
  const char *rest = NULL;
  if (strncmp(s, "http://", 7) == 0) {
    rest = s + 7;
  } else if (strncmp(s, "https://", 8) == 0) {
    if (!(flags & CFG__URL_HTTPS)) {
      snprintf(err, errlen, "https is not supported by %s: use http://", what);
      return -1;
    }
    rest = s + 8;
  }
  if (!rest) goto bad;
  for (const char *p = s; *p; p++)
    if ((unsigned char)*p <= ' ' || *p == 0x7f) goto bad;
  if ((flags & CFG__URL_NO_QUERY) && strpbrk(rest, "?#")) goto bad;
  size_t len = strcspn(rest, "/?#");
  if (memchr(rest, '@', len)) goto bad; /* user info */
  const char *host = rest, *after;
  size_t host_len;
  bool v6 = rest[0] == '[';
  if (v6) {
    const char *close = memchr(rest, ']', len);
    if (!close) goto bad;
    host = rest + 1;
    host_len = (size_t)(close - host);
    after = close + 1;
  } else {
    const char *colon = memchr(rest, ':', len);
    host_len = colon ? (size_t)(colon - rest) : len;
    after = rest + host_len;
  }
  if (host_len == 0) goto bad;
  for (size_t i = 0; i < host_len; i++)
    if (!host_char(host[i], v6)) goto bad;
  const char *end = rest + len;
  if (after < end) {
    if (*after != ':') goto bad;
    const char *port = after + 1;
    size_t plen = (size_t)(end - port);
    long v = 0;
    bool ok = plen >= 1 && plen <= 5;
    for (size_t i = 0; ok && i < plen; i++) {
      ok = port[i] >= '0' && port[i] <= '9';
      v = v * 10 + (port[i] - '0');
    }
    if (!ok || v < 1 || v > 65535) {
      snprintf(err, errlen, "bad port '%.*s' in '%s': expected 1..65535", (int)plen, port, s);
      return -1;
    }
  }
  return 0;
bad:
  snprintf(err, errlen, "bad url '%s': expected %s", s,
           (flags & CFG__URL_HTTPS) ? "http://host[:port][/path] or https://..."
                                    : "http://host[:port]/path");
  return -1;
}
