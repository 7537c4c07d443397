/*
 * The alert history file, STATE_DIR/monitor/alerts: every alert the table holds (the
 * firing ones and the last alert_history resolved ones), so that a restart of vigil
 * finds them again. It is small and rewritten whole, atomically (vg_replace_file: temp
 * file, fsync, rename, fsync of the directory), after each evaluation that changed an
 * alert, so it is never seen half-written; the reader still checks everything.
 *
 * Format, version 1 (integers little endian):
 *
 *   header   8 bytes "VGALERTS", u32 version (1), u32 number of records
 *   record   u32 payload length (1 .. 65536), u32 checksum (the low 32 bits of XXH3-64
 *            of the payload), payload: one JSON object
 *              {"id":N,"check":S,"key":S,"severity":"info|warning|critical",
 *               "category":S,"message":S,"details":{...},"firing":B,
 *               "started":NS,"ended":NS,"changed":NS}
 *
 * Records go oldest first. The reader stops at the first record that is cut, too long,
 * fails its checksum or does not decode, keeps what came before and says where and why.
 */
#include "monitor/mon_int.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "core/endian.h"
#include "core/file.h"

#define MAGIC "VGALERTS"
#define VERSION 1
#define HEADER 16
#define MAX_PAYLOAD 65536
#define MAX_FILE (256u << 20)

/* The length of the valid UTF-8 sequence at p (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n) {
  if (p[0] < 0x80) return 1;
  size_t len = p[0] >= 0xc2 && p[0] <= 0xdf ? 2 : p[0] >= 0xe0 && p[0] <= 0xef ? 3
             : p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : 0;
  if (!len || len > n) return 0;
  for (size_t i = 1; i < len; i++)
    if ((p[i] & 0xc0) != 0x80) return 0;
  if (p[0] == 0xe0 && p[1] < 0xa0) return 0; /* overlong */
  if (p[0] == 0xed && p[1] > 0x9f) return 0; /* surrogates */
  if (p[0] == 0xf0 && p[1] < 0x90) return 0; /* overlong */
  if (p[0] == 0xf4 && p[1] > 0x8f) return 0; /* past U+10FFFF */
  return len;
}

/* s as a JSON string of valid UTF-8 (a bad byte becomes U+FFFD), cut at a character
 * boundary after max bytes: the reader (jansson) takes nothing else. */
static void json_str(struct vg_buf *b, const char *s, size_t max) {
  struct vg_buf clean;
  vg_buf_init(&clean);
  const unsigned char *p = (const unsigned char *)s;
  size_t n = strlen(s);
  for (size_t i = 0; i < n && clean.len < max;) {
    size_t l = utf8_len(p + i, n - i);
    if (l) vg_buf_append(&clean, p + i, l);
    else vg_buf_puts(&clean, "\xef\xbf\xbd");
    i += l ? l : 1;
  }
  vg_buf_json_str(b, clean.data ? clean.data : "");
  vg_buf_free(&clean);
}

static void record(struct vg_buf *out, const struct mon_alert *a) {
  struct vg_buf p;
  vg_buf_init(&p);
  vg_buf_printf(&p, "{\"id\":%llu,\"check\":", (unsigned long long)a->id);
  json_str(&p, a->check, 1000);
  vg_buf_puts(&p, ",\"key\":");
  json_str(&p, a->key, 2048);
  vg_buf_printf(&p, ",\"severity\":\"%s\",\"category\":", mon_severity_name(a->severity));
  json_str(&p, a->category, 100);
  vg_buf_puts(&p, ",\"message\":");
  json_str(&p, a->message, 4096);
  vg_buf_printf(&p, ",\"details\":%s,\"firing\":%s,\"started\":%lld,\"ended\":%lld,\"changed\":%lld}",
                a->details, a->firing ? "true" : "false", (long long)a->started,
                (long long)a->ended, (long long)a->changed);
  if (p.len > MAX_PAYLOAD) { /* huge details: keep the alert, drop the details */
    vg_buf_free(&p);
    struct mon_alert small = *a;
    small.details = (char *)"{\"truncated\":true}";
    record(out, &small);
    return;
  }
  uint8_t h[8];
  vg_put_le32(h, (uint32_t)p.len);
  vg_put_le32(h + 4, (uint32_t)XXH3_64bits(p.data, p.len));
  vg_buf_append(out, h, sizeof h);
  vg_buf_append(out, p.data, p.len);
  vg_buf_free(&p);
}

void mon_history_encode(const struct mon_alerts *as, struct vg_buf *out) {
  size_t n = mon_alerts_count(as, false);
  uint8_t h[HEADER];
  memcpy(h, MAGIC, 8);
  vg_put_le32(h + 8, VERSION);
  vg_put_le32(h + 12, (uint32_t)n);
  vg_buf_append(out, h, sizeof h);
  for (size_t i = n; i-- > 0;) record(out, mon_alerts_at(as, i));
}

static const char *str_of(json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s;
}

/* One payload into a; false when it is not a whole alert. */
static bool decode_alert(const uint8_t *p, size_t len, struct mon_alert *a, char *why, size_t whylen) {
  json_error_t je;
  json_t *o = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES, &je);
  if (!o || !json_is_object(o)) {
    snprintf(why, whylen, "not a JSON object (%s)", o ? "another JSON value" : je.text);
    json_decref(o);
    return false;
  }
  const char *check = str_of(o, "check"), *key = str_of(o, "key"), *sev = str_of(o, "severity"),
             *cat = str_of(o, "category"), *msg = str_of(o, "message");
  json_t *id = json_object_get(o, "id"), *det = json_object_get(o, "details"),
         *firing = json_object_get(o, "firing"), *started = json_object_get(o, "started"),
         *ended = json_object_get(o, "ended"), *changed = json_object_get(o, "changed");
  int s = sev ? mon_severity_parse(sev) : -1;
  if (!check || !key || s < 0 || !cat || !msg || !json_is_integer(id) || json_integer_value(id) < 1 ||
      !json_is_object(det) || !json_is_boolean(firing) || !json_is_integer(started) ||
      !json_is_integer(ended) || !json_is_integer(changed)) {
    snprintf(why, whylen, "an alert record lacks a field or has one of the wrong type");
    json_decref(o);
    return false;
  }
  char *d = json_dumps(det, JSON_COMPACT);
  *a = (struct mon_alert){.id = (uint64_t)json_integer_value(id),
                          .check = vg_strdup(check),
                          .key = vg_strdup(key),
                          .category = vg_strdup(cat),
                          .message = vg_strdup(msg),
                          .details = vg_strdup(d ? d : "{}"),
                          .severity = s,
                          .firing = json_is_true(firing),
                          .started = json_integer_value(started),
                          .ended = json_integer_value(ended),
                          .changed = json_integer_value(changed)};
  free(d);
  json_decref(o);
  return true;
}

size_t mon_history_decode(const uint8_t *p, size_t len, struct mon_alerts *as, char *why,
                          size_t whylen) {
  why[0] = '\0';
  if (len < HEADER || memcmp(p, MAGIC, 8) != 0) {
    snprintf(why, whylen, "not an alert history file (bad header)");
    return 0;
  }
  uint32_t version = vg_get_le32(p + 8);
  if (version != VERSION) {
    snprintf(why, whylen, "alert history version %u, this vigil reads %u", version, VERSION);
    return 0;
  }
  size_t off = HEADER, n = 0;
  while (off < len) {
    char sub[200];
    if (len - off < 8) {
      snprintf(why, whylen, "record at byte %zu is cut in its header", off);
      break;
    }
    uint32_t plen = vg_get_le32(p + off), sum = vg_get_le32(p + off + 4);
    if (plen == 0 || plen > MAX_PAYLOAD) {
      snprintf(why, whylen, "record at byte %zu has a bad length %u", off, plen);
      break;
    }
    if (len - off - 8 < plen) {
      snprintf(why, whylen, "record at byte %zu is cut (%u bytes announced, %zu there)", off, plen,
               len - off - 8);
      break;
    }
    const uint8_t *payload = p + off + 8;
    if ((uint32_t)XXH3_64bits(payload, plen) != sum) {
      snprintf(why, whylen, "record at byte %zu fails its checksum", off);
      break;
    }
    struct mon_alert a;
    if (!decode_alert(payload, plen, &a, sub, sizeof sub)) {
      snprintf(why, whylen, "record at byte %zu: %s", off, sub);
      break;
    }
    mon_alerts_restore(as, &a);
    mon_alert_clear(&a);
    n++;
    off += 8 + plen;
  }
  return n;
}

int mon_history_save(const struct mon_alerts *as, const char *path) {
  struct vg_buf b;
  vg_buf_init(&b);
  mon_history_encode(as, &b);
  int rc = vg_replace_file(path, b.data, b.len, 0640);
  vg_buf_free(&b);
  return rc;
}

int mon_history_load(struct mon_alerts *as, const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? 0 : -errno;
  struct stat st;
  if (fstat(fd, &st) < 0 || st.st_size > (off_t)MAX_FILE) {
    int e = errno;
    close(fd);
    return st.st_size > (off_t)MAX_FILE ? -EFBIG : -e;
  }
  size_t len = (size_t)st.st_size;
  uint8_t *p = vg_malloc(len + 1);
  int rc = len ? vg_pread_all(fd, p, len, 0) : 0;
  close(fd);
  if (rc < 0) {
    free(p);
    return rc;
  }
  char why[300];
  size_t n = mon_history_decode(p, len, as, why, sizeof why);
  if (why[0])
    VG_WARN("alert history: the rest of the file was dropped", VF_S("path", path),
            VF_S("why", why), VF_I("kept", (long long)n));
  else
    VG_DEBUG("alert history read", VF_S("path", path), VF_I("alerts", (long long)n));
  free(p);
  return 0;
}
