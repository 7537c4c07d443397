/*
 * Content negotiation: which format a scraper's Accept header asks for.
 *
 * Prometheus 2.x sends
 *   application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,
 *   text/plain;version=0.0.4;q=0.5,STAR/STAR;q=0.1
 * (STAR being the asterisk, which cannot stand next to a slash in a C comment).
 * OpenMetrics is chosen only when application/openmetrics-text is listed, with
 * version 1.0.0 or no version, at a q above 0 and not lower than text/plain's (or,
 * when text/plain is not listed, than that of text/STAR, then of STAR/STAR). Anything
 * else, a missing or unreadable header included, gets the text format every scraper
 * reads.
 */
#include "metrics/metrics_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct span {
  const char *p;
  size_t n;
};

static struct span trim(const char *p, size_t n) {
  while (n && (*p == ' ' || *p == '\t')) p++, n--;
  while (n && (p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
  return (struct span){p, n};
}

static bool span_is(struct span s, const char *lit) {
  return s.n == strlen(lit) && strncasecmp(s.p, lit, s.n) == 0;
}

/* One media range, "type/subtype *( ; name=value )": its type, q (1 when absent, -1
 * when unreadable) and version parameter (n = 0 when absent). */
struct range {
  struct span type, version;
  double q;
};

static struct range parse_range(const char *p, size_t n) {
  struct range r = {.q = 1};
  const char *end = p + n;
  const char *semi = memchr(p, ';', n);
  r.type = trim(p, (size_t)((semi ? semi : end) - p));
  while (semi) {
    const char *start = semi + 1;
    semi = memchr(start, ';', (size_t)(end - start));
    struct span param = trim(start, (size_t)((semi ? semi : end) - start));
    const char *eq = memchr(param.p, '=', param.n);
    if (!eq) continue;
    struct span name = trim(param.p, (size_t)(eq - param.p));
    struct span value = trim(eq + 1, (size_t)(param.p + param.n - eq - 1));
    if (value.n >= 2 && value.p[0] == '"' && value.p[value.n - 1] == '"') {
      value.p++;
      value.n -= 2;
    }
    if (span_is(name, "q")) {
      char buf[16];
      char *stop;
      if (value.n == 0 || value.n >= sizeof buf) {
        r.q = -1;
        continue;
      }
      memcpy(buf, value.p, value.n);
      buf[value.n] = '\0';
      r.q = strtod(buf, &stop);
      if (*stop || !(r.q >= 0 && r.q <= 1)) r.q = -1;
    } else if (span_is(name, "version")) {
      r.version = value;
    }
  }
  return r;
}

enum mt_format mt_negotiate(const char *accept) {
  if (!accept) return MT_FORMAT_TEXT;
  double om = -1, text_plain = -1, text_any = -1, any = -1;
  const char *p = accept;
  for (;;) {
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    struct range r = parse_range(p, n);
    if (r.q >= 0) {
      if (span_is(r.type, "application/openmetrics-text")) {
        if ((r.version.n == 0 || (r.version.n == 5 && memcmp(r.version.p, "1.0.0", 5) == 0)) &&
            r.q > om)
          om = r.q;
      } else if (span_is(r.type, "text/plain")) {
        if (r.q > text_plain) text_plain = r.q;
      } else if (span_is(r.type, "text/*")) {
        if (r.q > text_any) text_any = r.q;
      } else if (span_is(r.type, "*/*")) {
        if (r.q > any) any = r.q;
      }
    }
    if (!comma) break;
    p = comma + 1;
  }
  double text = text_plain >= 0 ? text_plain : text_any >= 0 ? text_any : any >= 0 ? any : 0;
  return om > 0 && om >= text ? MT_FORMAT_OPENMETRICS : MT_FORMAT_TEXT;
}

const char *mt_content_type(enum mt_format fmt) {
  return fmt == MT_FORMAT_OPENMETRICS ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
                                      : "text/plain; version=0.0.4; charset=utf-8";
}
