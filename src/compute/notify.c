/*
 * The on_complete webhook: a JSON summary POSTed when a scheduled run ends, so the
 * desk's downstream jobs (reports, uploads) can start without polling.
 */
#include "compute/cp_int.h"

#include <curl/curl.h>
#include <stdio.h>

static size_t discard(char *p, size_t size, size_t n, void *arg) {
  (void)p;
  (void)arg;
  return size * n;
}

int cp_notify(const struct cp_engine *e, const struct cp_run_stats *st, int exit_code, char *err,
              size_t errlen) {
  const char *url = e->cp->on_complete;
  if (!url) return 0;
  char from[16], to[16];
  cp_format_date(e->from, from);
  cp_format_date(e->to, to);
  struct vg_buf b;
  vg_buf_init(&b);
  vg_buf_printf(&b,
                "{\"event\":\"compute_run_complete\",\"from\":\"%s\",\"to\":\"%s\",\"exit\":%d,"
                "\"ran\":%zu,\"stable\":%zu,\"uptodate\":%zu,\"failed\":%zu,\"dead\":%zu,"
                "\"blocked\":%zu,\"impossible\":%zu,\"breakers\":%zu}",
                from, to, exit_code, st->ran, st->stable, st->uptodate, st->failed, st->dead,
                st->blocked, st->impossible, st->breakers);
  CURL *c = curl_easy_init();
  if (!c) {
    snprintf(err, errlen, "cannot initialise libcurl");
    vg_buf_free(&b);
    return -1;
  }
  struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
  curl_easy_setopt(c, CURLOPT_URL, url);
  /* the config allows only http(s) URLs (config/url.c); curl is held to them too */
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, b.data);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
  CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  int out = 0;
  if (rc != CURLE_OK) {
    snprintf(err, errlen, "on_complete %s: %s", url, curl_easy_strerror(rc));
    out = -1;
  } else if (status < 200 || status > 299) {
    snprintf(err, errlen, "on_complete %s answered %ld", url, status);
    out = -1;
  }
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  vg_buf_free(&b);
  return out;
}
