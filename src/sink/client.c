/*
 * client.c — the InfluxDB 1.x HTTP API through one libcurl easy handle, reused so the
 * connection stays alive between batches: POST /write with line protocol, POST /query
 * with InfluxQL, and the reading of an answer (status → retry or not, InfluxDB's
 * error message). Used by the sender thread only.
 */
#include "sink/sink_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

/* An error answer is a line of JSON; more is not worth keeping. */
#define MAX_ANSWER (64u << 10)

struct sink__client {
  CURL *curl;
  char *write_url, *query_url;
  struct curl_slist *write_hdrs, *query_hdrs;
  struct vg_buf answer;
  char errbuf[CURL_ERROR_SIZE];
};

enum sink__outcome sink__classify(long status) {
  if (status >= 200 && status < 300) return SINK__OK;
  if (status == 0 || status >= 500 || status == 408 || status == 429) return SINK__RETRY;
  return SINK__REJECT; /* other 4xx; 1xx/3xx would not change on a retry either */
}

static void copy_msg(char *msg, size_t msglen, const char *s) {
  snprintf(msg, msglen, "%s", s);
}

void sink__influx_error(const char *body, size_t len, char *msg, size_t msglen) {
  msg[0] = '\0';
  json_t *doc = json_loadb(body, len, 0, NULL);
  if (!doc) return;
  const char *e = json_string_value(json_object_get(doc, "error"));
  if (e) {
    copy_msg(msg, msglen, e);
  } else {
    json_t *results = json_object_get(doc, "results");
    size_t i;
    json_t *r;
    json_array_foreach(results, i, r) {
      e = json_string_value(json_object_get(r, "error"));
      if (e) {
        copy_msg(msg, msglen, e);
        break;
      }
    }
  }
  json_decref(doc);
}

static size_t on_data(char *p, size_t size, size_t n, void *arg) {
  struct vg_buf *b = arg;
  size_t len = size * n;
  if (b->len < MAX_ANSWER) vg_buf_append(b, p, len < MAX_ANSWER - b->len ? len : MAX_ANSWER - b->len);
  return len;
}

struct sink__client *sink__client_new(const char *url, const char *db, const char *rp,
                                      const char *username, const char *password,
                                      int64_t timeout_ms) {
  struct sink__client *c = vg_calloc(1, sizeof *c);
  c->curl = curl_easy_init();
  VG_ASSERT(c->curl != NULL);
  char *edb = curl_easy_escape(c->curl, db, 0);
  VG_ASSERT(edb != NULL);
  if (rp) {
    char *erp = curl_easy_escape(c->curl, rp, 0);
    VG_ASSERT(erp != NULL);
    c->write_url = vg_asprintf("%s/write?db=%s&rp=%s&precision=ns", url, edb, erp);
    curl_free(erp);
  } else {
    c->write_url = vg_asprintf("%s/write?db=%s&precision=ns", url, edb);
  }
  curl_free(edb);
  c->query_url = vg_asprintf("%s/query", url);
  /* "Expect:" stops curl from waiting for 100-continue before large bodies. */
  c->write_hdrs = curl_slist_append(NULL, "Content-Type: text/plain; charset=utf-8");
  c->write_hdrs = curl_slist_append(c->write_hdrs, "Expect:");
  c->query_hdrs = curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded");
  c->query_hdrs = curl_slist_append(c->query_hdrs, "Expect:");
  VG_ASSERT(c->write_hdrs && c->query_hdrs);
  vg_buf_init(&c->answer);

  CURL *h = c->curl;
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* no SIGALRM in a threaded program */
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout_ms < 5000 ? timeout_ms : 5000));
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &c->answer);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "vigil/" VIGIL_VERSION);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"); /* should redirects be followed */
  if (username) {
    curl_easy_setopt(h, CURLOPT_USERNAME, username);
    curl_easy_setopt(h, CURLOPT_PASSWORD, password ? password : "");
  }
  return c;
}

void sink__client_free(struct sink__client **cp) {
  struct sink__client *c = *cp;
  if (!c) return;
  curl_easy_cleanup(c->curl);
  curl_slist_free_all(c->write_hdrs);
  curl_slist_free_all(c->query_hdrs);
  free(c->write_url);
  free(c->query_url);
  vg_buf_free(&c->answer);
  free(c);
  *cp = NULL;
}

/* One POST; fills r and returns what the answer means. */
static enum sink__outcome post(struct sink__client *c, const char *url, struct curl_slist *hdrs,
                               const char *body, size_t len, struct sink__reply *r) {
  CURL *h = c->curl;
  vg_buf_reset(&c->answer);
  c->errbuf[0] = '\0';
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  CURLcode rc = curl_easy_perform(h);
  r->status = 0;
  r->msg[0] = '\0';
  if (rc != CURLE_OK) {
    copy_msg(r->msg, sizeof r->msg, c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
    return SINK__RETRY;
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
  if (c->answer.len) sink__influx_error(c->answer.data, c->answer.len, r->msg, sizeof r->msg);
  if (!r->msg[0] && sink__classify(r->status) != SINK__OK && c->answer.len)
    snprintf(r->msg, sizeof r->msg, "%.200s", c->answer.data);
  return sink__classify(r->status);
}

enum sink__outcome sink__client_write(struct sink__client *c, const char *body, size_t len,
                                      struct sink__reply *r) {
  return post(c, c->write_url, c->write_hdrs, body, len, r);
}

enum sink__outcome sink__client_query(struct sink__client *c, const char *q,
                                      struct sink__reply *r) {
  char *eq = curl_easy_escape(c->curl, q, 0);
  VG_ASSERT(eq != NULL);
  char *form = vg_asprintf("q=%s", eq);
  curl_free(eq);
  enum sink__outcome o = post(c, c->query_url, c->query_hdrs, form, strlen(form), r);
  free(form);
  /* /query answers 200 even when the statement failed; the error is in the results. */
  if (o == SINK__OK && r->msg[0]) o = SINK__REJECT;
  return o;
}
