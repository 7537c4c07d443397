/*
 * series — canonical series keys and the map from key to series.
 *
 * A key is `measurement,tag=value,...#field` with the tags sorted. Each component is
 * escaped (a backslash before its separators and before '\\'; bytes below 0x20 as \xNN)
 * so that two different series can never have the same key, and keys never contain the
 * 0x1f byte that separates a rollup series' suffix from its base key.
 */
#include <string.h>
#include <xxhash.h>

#include "tsdb/tsdb_int.h"

/* Bytes escaped in every component: the separators of any component (one set for all
 * keeps the encoding injective and the check a single table lookup), '\\' and controls. */
static const uint8_t needs_escape[256] = {
    [0 ... 0x1f] = 2, [','] = 1, ['='] = 1, [' '] = 1, ['#'] = 1, ['\\'] = 1};

void tsdb__key_escape(struct vg_buf *b, const char *p, size_t n, const char *special) {
  (void)special;
  size_t i = 0;
  while (i < n && !needs_escape[(unsigned char)p[i]]) i++;
  vg_buf_append(b, p, i); /* the common case: nothing to escape */
  for (; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    if (needs_escape[c] == 2) {
      vg_buf_printf(b, "\\x%02x", c);
    } else if (needs_escape[c]) {
      char e[2] = {'\\', (char)c};
      vg_buf_append(b, e, 2);
    } else {
      vg_buf_append(b, &p[i], 1);
    }
  }
}

/* Appends p[0..n) escaped at o, which has room for 4 bytes per input byte; returns the
 * new end. */
static char *escape_into(char *o, const char *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    if (!needs_escape[c]) {
      *o++ = (char)c;
    } else if (needs_escape[c] == 2) {
      static const char hex[] = "0123456789abcdef";
      *o++ = '\\', *o++ = 'x', *o++ = hex[c >> 4], *o++ = hex[c & 15];
    } else {
      *o++ = '\\', *o++ = (char)c;
    }
  }
  return o;
}

/* The write path builds a key per point: one reserve for the worst case (\xNN, four
 * bytes per byte), then bytes written in place, rather than an append per component. */
void tsdb__key_build(struct vg_buf *b, struct tsdb_str measurement, const struct tsdb_tag *tags,
                     size_t n_tags, struct tsdb_str field) {
  size_t most = measurement.len + field.len + 1;
  for (size_t i = 0; i < n_tags; i++) most += tags[i].key.len + tags[i].value.len + 2;
  vg_buf_reserve(b, 4 * most);
  char *start = b->data + b->len, *o = start;
  o = escape_into(o, measurement.p, measurement.len);
  for (size_t i = 0; i < n_tags; i++) {
    *o++ = ',';
    o = escape_into(o, tags[i].key.p, tags[i].key.len);
    *o++ = '=';
    o = escape_into(o, tags[i].value.p, tags[i].value.len);
  }
  *o++ = '#';
  o = escape_into(o, field.p, field.len);
  b->len += (size_t)(o - start);
  b->data[b->len] = '\0';
}

/* Reads one component up to an unescaped byte of stop (or end); returns an owned copy. */
static char *unescape(const char *p, size_t len, size_t *pos, const char *stop, int *bad) {
  struct vg_buf out;
  vg_buf_init(&out);
  size_t i = *pos;
  while (i < len && !strchr(stop, p[i])) {
    if (p[i] == '\\') {
      if (i + 1 >= len) { *bad = 1; break; }
      if (p[i + 1] == 'x') {
        unsigned v = 0;
        for (int k = 2; k < 4; k++) {
          char h = i + (size_t)k < len ? p[i + (size_t)k] : 0;
          int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : -1;
          if (d < 0) { *bad = 1; break; }
          v = v * 16 + (unsigned)d;
        }
        vg_buf_putc(&out, (char)v);
        i += 4;
      } else {
        vg_buf_putc(&out, p[i + 1]);
        i += 2;
      }
    } else {
      vg_buf_putc(&out, p[i++]);
    }
  }
  *pos = i;
  vg_buf_putc(&out, 0);
  return (char *)out.data;
}

int tsdb__key_parse(struct tsdb__series *s, const char *key, size_t len) {
  int bad = 0;
  size_t pos = 0;
  size_t base = len;
  const char *sep = memchr(key, 0x1f, len);
  if (sep) base = (size_t)(sep - key);
  s->measurement = unescape(key, base, &pos, ",#", &bad);
  size_t cap = 0;
  while (!bad && pos < base && key[pos] == ',') {
    pos++;
    if (s->n_tags == cap) {
      cap = cap ? cap * 2 : 4;
      s->tags = vg_realloc(s->tags, cap * sizeof *s->tags);
    }
    char *k = unescape(key, base, &pos, "=,#", &bad);
    if (pos >= base || key[pos] != '=') bad = 1;
    else pos++;
    char *v = unescape(key, base, &pos, ",#", &bad);
    s->tags[s->n_tags++] = (struct tsdb_tag){{k, strlen(k)}, {v, strlen(v)}};
  }
  if (bad || pos >= base || key[pos] != '#') return -1;
  pos++;
  s->field = unescape(key, base, &pos, "", &bad);
  return bad ? -1 : 0;
}

void tsdb__series_free(struct tsdb__series *s) {
  if (!s) return;
  free(s->key);
  free(s->measurement);
  for (size_t i = 0; i < s->n_tags; i++) {
    free((void *)s->tags[i].key.p);
    free((void *)s->tags[i].value.p);
  }
  free(s->tags);
  free(s->field);
  free(s->rollups);
  tsdb__head_free(NULL, &s->head, s->type); /* pooled segments go with the pool */
  tsdb__head_free(NULL, &s->frozen, s->type);
  if (s->has_last && s->last.type == TSDB_STRING) free((void *)s->last.v.s.p);
  free(s);
}

/* ---- open addressing on the key hash; the map only grows ---- */
void tsdb__map_init(struct tsdb__map *m) {
  memset(m, 0, sizeof *m);
  m->next_id = 1;
}

void tsdb__map_free(struct tsdb__map *m) {
  for (size_t i = 0; i < m->cap; i++) tsdb__series_free(m->slots[i]);
  for (size_t i = 0; i < m->meas_cap; i++) free(m->meas[i].name);
  free(m->meas);
  free(m->slots);
  free(m->by_id);
  tsdb__map_init(m);
}

struct tsdb__series *tsdb__map_get(const struct tsdb__map *m, uint64_t hash, const char *key,
                                   size_t len) {
  if (!m->cap) return NULL;
  for (size_t i = hash & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
    struct tsdb__series *s = m->slots[i];
    if (!s) return NULL;
    if (s->hash == hash && s->keylen == len && memcmp(s->key, key, len) == 0) return s;
  }
}

static void insert_slot(struct tsdb__series **slots, size_t cap, struct tsdb__series *s) {
  size_t i = s->hash & (cap - 1);
  while (slots[i]) i = (i + 1) & (cap - 1);
  slots[i] = s;
}

static struct tsdb__meas *meas_slot(const struct tsdb__map *m, const char *name, uint64_t h) {
  for (size_t i = h & (m->meas_cap - 1);; i = (i + 1) & (m->meas_cap - 1)) {
    struct tsdb__meas *e = &m->meas[i];
    if (!e->name || (e->hash == h && strcmp(e->name, name) == 0)) return e;
  }
}

struct tsdb__series *tsdb__map_measurement(const struct tsdb__map *m, const char *name) {
  if (!m->meas_cap) return NULL;
  struct tsdb__meas *e = meas_slot(m, name, XXH3_64bits(name, strlen(name)));
  return e->name ? e->first : NULL;
}

static void meas_add(struct tsdb__map *m, struct tsdb__series *s) {
  if ((m->meas_n + 1) * 2 > m->meas_cap) {
    size_t cap = m->meas_cap ? m->meas_cap * 2 : 64;
    struct tsdb__map bigger = {.meas = vg_calloc(cap, sizeof(struct tsdb__meas)), .meas_cap = cap};
    for (size_t i = 0; i < m->meas_cap; i++)
      if (m->meas[i].name) *meas_slot(&bigger, m->meas[i].name, m->meas[i].hash) = m->meas[i];
    free(m->meas);
    m->meas = bigger.meas;
    m->meas_cap = cap;
  }
  uint64_t h = XXH3_64bits(s->measurement, strlen(s->measurement));
  struct tsdb__meas *e = meas_slot(m, s->measurement, h);
  if (!e->name) {
    e->name = vg_strdup(s->measurement);
    e->hash = h;
    m->meas_n++;
  }
  s->next_in_measurement = e->first;
  e->first = s;
}

void tsdb__map_put(struct tsdb__map *m, struct tsdb__series *s) {
  meas_add(m, s);
  if ((m->n + 1) * 4 > m->cap * 3) {
    size_t cap = m->cap ? m->cap * 2 : 1024;
    struct tsdb__series **slots = vg_calloc(cap, sizeof *slots);
    for (size_t i = 0; i < m->cap; i++)
      if (m->slots[i]) insert_slot(slots, cap, m->slots[i]);
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
  }
  insert_slot(m->slots, m->cap, s);
  m->n++;
  if (!s->id) s->id = m->next_id;
  if (s->id >= m->next_id) m->next_id = s->id + 1;
  if (s->id >= m->by_id_cap) {
    size_t cap = m->by_id_cap ? m->by_id_cap : 1024;
    while (cap <= s->id) cap *= 2;
    m->by_id = vg_realloc(m->by_id, cap * sizeof *m->by_id);
    memset(m->by_id + m->by_id_cap, 0, (cap - m->by_id_cap) * sizeof *m->by_id);
    m->by_id_cap = cap;
  }
  m->by_id[s->id] = s;
}
