/*
 * A strict, bounded HTTP/1.x request-head parser, used by both listeners: request line,
 * headers up to HTTP_MAX_HEAD bytes and HTTP_MAX_HEADERS lines; only Content-Length,
 * Authorization, Accept, Host and Expect are kept. Anything malformed gets its 4xx/5xx
 * and a reason; a bad request line as soon as it is visible.
 */
#include "http/http.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int fail(char *err, size_t errlen, int status, const char *msg) {
  snprintf(err, errlen, "%s", msg);
  return -status;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = tolower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* Percent-decodes src[0..n) into out; rejects NUL bytes and bad escapes. */
static int decode(const char *src, size_t n, char *out, size_t outlen) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    int c = (unsigned char)src[i];
    if (c == '%') {
      if (i + 2 >= n) return -1;
      int h = hexval((unsigned char)src[i + 1]), l = hexval((unsigned char)src[i + 2]);
      if (h < 0 || l < 0) return -1;
      c = h * 16 + l;
      i += 2;
    } else if (c == '+') {
      c = ' ';
    }
    if (c == 0 || k + 1 >= outlen) return -1;
    out[k++] = (char)c;
  }
  out[k] = '\0';
  return 0;
}

/* The longest request line that can hold a valid request: method, path, query, version. */
#define MAX_LINE (16 + 512 + 512 + 16)

/* Checks a complete request line p[0..eol) and fills method, path, query, minor. */
static int parse_line(const char *p, const char *eol, struct http_request *req, char *err,
                      size_t errlen) {
  const char *sp1 = memchr(p, ' ', (size_t)(eol - p));
  if (!sp1 || sp1 == p) return fail(err, errlen, 400, "malformed request line");
  const char *sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
  if (!sp2) return fail(err, errlen, 400, "malformed request line");
  size_t mlen = (size_t)(sp1 - p);
  if (mlen >= sizeof req->method) return fail(err, errlen, 501, "unknown method");
  for (size_t i = 0; i < mlen; i++)
    if (!isupper((unsigned char)p[i])) return fail(err, errlen, 400, "malformed method");
  memcpy(req->method, p, mlen);
  size_t vlen = (size_t)(eol - sp2 - 1);
  if (vlen != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0 || (sp2[8] != '0' && sp2[8] != '1'))
    return fail(err, errlen, 505, "only HTTP/1.0 and HTTP/1.1 are spoken");
  req->minor = sp2[8] - '0';

  const char *target = sp1 + 1;
  size_t tlen = (size_t)(sp2 - target);
  if (tlen == 0 || target[0] != '/') return fail(err, errlen, 400, "target must be an absolute path");
  const char *q = memchr(target, '?', tlen);
  size_t plen = q ? (size_t)(q - target) : tlen;
  if (plen >= sizeof req->path) return fail(err, errlen, 414, "path too long");
  if (decode(target, plen, req->path, sizeof req->path) < 0)
    return fail(err, errlen, 400, "bad percent-encoding in path");
  if (strstr(req->path, "/..") || strstr(req->path, "//"))
    return fail(err, errlen, 400, "path must not contain '..' or '//'");
  if (q) {
    size_t qlen = tlen - plen - 1;
    if (qlen >= sizeof req->query) return fail(err, errlen, 414, "query too long");
    memcpy(req->query, q + 1, qlen);
    req->query[qlen] = '\0';
  }
  return 0;
}

/* A head still arriving: refuses what can already be seen to be wrong (a method that is
 * not one, a bare LF, a request line longer than any valid one, a wrong line once it is
 * complete), so garbage is answered at once instead of at the head's deadline. */
static int check_partial(const char *buf, size_t len, struct http_request *req, char *err,
                         size_t errlen) {
  size_t i = 0;
  while (i < len && buf[i] != ' ' && buf[i] != '\r' && buf[i] != '\n') {
    if (!isupper((unsigned char)buf[i])) return fail(err, errlen, 400, "malformed method");
    if (++i >= sizeof req->method) return fail(err, errlen, 501, "unknown method");
  }
  if (i < len && buf[i] != ' ') return fail(err, errlen, 400, "malformed request line");
  if (i + 1 < len && buf[i + 1] != '/') return fail(err, errlen, 400, "target must be an absolute path");
  const char *cr = memchr(buf, '\r', len);
  if (cr && cr + 1 < buf + len && cr[1] != '\n') return fail(err, errlen, 400, "bare CR in request line");
  const char *lf = memchr(buf, '\n', len);
  if (lf && (lf == buf || lf[-1] != '\r')) return fail(err, errlen, 400, "bare LF in request line");
  if (lf) return parse_line(buf, lf - 1, req, err, errlen);
  if (len > MAX_LINE) return fail(err, errlen, 414, "request line too long");
  return 0;
}

int http_parse_request(const char *buf, size_t len, struct http_request *req, char *err,
                       size_t errlen) {
  memset(req, 0, sizeof *req);
  const char *end = NULL;
  for (size_t i = 0; i + 3 < len; i++) {
    if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n') {
      end = buf + i;
      break;
    }
  }
  if (!end) {
    if (len >= HTTP_MAX_HEAD) return fail(err, errlen, 431, "request head too large");
    int rc = check_partial(buf, len, req, err, errlen);
    memset(req, 0, sizeof *req);
    return rc;
  }
  size_t head_len = (size_t)(end - buf) + 4;
  if (head_len > HTTP_MAX_HEAD) return fail(err, errlen, 431, "request head too large");

  /* request line: METHOD SP target SP HTTP/1.x */
  const char *p = buf, *eol = memchr(p, '\r', (size_t)(end - p) + 1);
  if (memchr(p, '\n', (size_t)(eol - p))) return fail(err, errlen, 400, "bare LF in request line");
  if (eol[1] != '\n') return fail(err, errlen, 400, "bare CR in request line");
  int rc = parse_line(p, eol, req, err, errlen);
  if (rc < 0) return rc;

  /* headers */
  int count = 0;
  p = eol + 2;
  while (p < end + 2) {
    eol = memchr(p, '\r', (size_t)(end + 2 - p));
    if (!eol || eol[1] != '\n') return fail(err, errlen, 400, "bare CR in header");
    if (eol == p) break;
    if (++count > HTTP_MAX_HEADERS) return fail(err, errlen, 431, "too many headers");
    const char *colon = memchr(p, ':', (size_t)(eol - p));
    if (!colon || colon == p) return fail(err, errlen, 400, "malformed header line");
    for (const char *c = p; c < colon; c++)
      if (!isgraph((unsigned char)*c)) return fail(err, errlen, 400, "malformed header name");
    const char *v = colon + 1;
    while (v < eol && (*v == ' ' || *v == '\t')) v++;
    size_t nlen = (size_t)(colon - p), vl = (size_t)(eol - v);
    while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t')) vl--;
    if (nlen == 14 && strncasecmp(p, "Content-Length", 14) == 0) {
      size_t n = 0;
      if (vl == 0 || vl > 9) return fail(err, errlen, 400, "bad Content-Length");
      for (size_t i = 0; i < vl; i++) {
        if (!isdigit((unsigned char)v[i])) return fail(err, errlen, 400, "bad Content-Length");
        n = n * 10 + (size_t)(v[i] - '0');
      }
      if (n > HTTP_MAX_BODY) return fail(err, errlen, 413, "request body too large");
      req->content_length = n;
    } else if (nlen == 13 && strncasecmp(p, "Authorization", 13) == 0) {
      if (vl >= sizeof req->authorization) return fail(err, errlen, 431, "Authorization too long");
      memcpy(req->authorization, v, vl);
      req->authorization[vl] = '\0';
    } else if (nlen == 6 && strncasecmp(p, "Accept", 6) == 0) {
      /* only used to pick a metrics format: a longer one is cut, not refused */
      size_t n = vl < sizeof req->accept - 1 ? vl : sizeof req->accept - 1;
      memcpy(req->accept, v, n);
      req->accept[n] = '\0';
    } else if (nlen == 4 && strncasecmp(p, "Host", 4) == 0) {
      if (req->host[0]) return fail(err, errlen, 400, "more than one Host header");
      if (vl == 0 || vl >= sizeof req->host) return fail(err, errlen, 400, "bad Host header");
      memcpy(req->host, v, vl);
      req->host[vl] = '\0';
    } else if (nlen == 6 && strncasecmp(p, "Expect", 6) == 0) {
      if (vl != 12 || strncasecmp(v, "100-continue", 12) != 0)
        return fail(err, errlen, 417, "only Expect: 100-continue is understood");
      req->expect_continue = true;
    } else if (nlen == 17 && strncasecmp(p, "Transfer-Encoding", 17) == 0) {
      return fail(err, errlen, 501, "Transfer-Encoding (a chunked body) is not supported: "
                                    "send Content-Length");
    }
    p = eol + 2;
  }
  return (int)head_len;
}

int http_frame_request(const char *buf, size_t len, struct http_request *req, size_t *head_len,
                       char *err, size_t errlen) {
  *head_len = 0;
  int rc = http_parse_request(buf, len, req, err, errlen);
  if (rc <= 0) return rc;
  *head_len = (size_t)rc;
  size_t whole = (size_t)rc + req->content_length; /* both bounded: no overflow */
  return len >= whole ? (int)whole : 0;
}

int http_query_get(const char *query, const char *name, char *out, size_t outlen) {
  size_t nlen = strlen(name);
  const char *p = query;
  while (p && *p) {
    const char *amp = strchr(p, '&');
    size_t len = amp ? (size_t)(amp - p) : strlen(p);
    if (len >= nlen && strncmp(p, name, nlen) == 0 && (len == nlen || p[nlen] == '=')) {
      const char *v = len == nlen ? p + len : p + nlen + 1;
      size_t vlen = len == nlen ? 0 : len - nlen - 1;
      return decode(v, vlen, out, outlen);
    }
    p = amp ? amp + 1 : NULL;
  }
  return -1;
}
