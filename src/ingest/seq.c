/*
 * seq — sequence-gap tracking: "what did we miss?". Each key (the measurement plus the
 * values of the key tags) remembers the last sequence number seen, in an
 * open-addressing table of 64-bit key hashes that grows only when a new key appears, so
 * a message costs a hash and a probe. The counters are atomics for the readers on
 * other threads; the ring of recent gaps takes a mutex, which only a gap (rare) or a
 * reader touches.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

#include "core/core.h"
#include "ingest/ingest.h"

struct slot {
  uint64_t hash; /* 0: empty */
  int64_t last;
};

struct ingest_seq {
  char **key_tags;
  size_t n_key_tags;
  struct slot *slots;
  size_t cap, used; /* cap a power of two */
  _Atomic uint64_t gaps, missed, late, resets, keys;
  pthread_mutex_t mu;
  struct ingest_gap recent[INGEST_SEQ_RECENT];
  size_t n_recent, next; /* ring */
};

struct ingest_seq *ingest_seq_new(const char *const *key_tags, size_t n_key_tags) {
  struct ingest_seq *s = vg_calloc(1, sizeof *s);
  s->key_tags = vg_calloc(n_key_tags + 1, sizeof *s->key_tags);
  for (size_t i = 0; i < n_key_tags; i++) s->key_tags[i] = vg_strdup(key_tags[i]);
  s->n_key_tags = n_key_tags;
  s->cap = 1024;
  s->slots = vg_calloc(s->cap, sizeof *s->slots);
  pthread_mutex_init(&s->mu, NULL);
  return s;
}

void ingest_seq_free(struct ingest_seq *s) {
  if (!s) return;
  vg_strv_free(s->key_tags);
  free(s->slots);
  pthread_mutex_destroy(&s->mu);
  free(s);
}

static const struct tsdb_tag *find_tag(const struct tsdb_point *p, const char *name) {
  size_t n = strlen(name);
  for (size_t i = 0; i < p->n_tags; i++)
    if (p->tags[i].key.len == n && memcmp(p->tags[i].key.p, name, n) == 0) return &p->tags[i];
  return NULL;
}

static uint64_t key_hash(const struct ingest_seq *s, const struct tsdb_point *p) {
  XXH3_state_t st;
  XXH3_64bits_reset(&st);
  XXH3_64bits_update(&st, p->measurement.p, p->measurement.len);
  if (s->n_key_tags == 0) {
    for (size_t i = 0; i < p->n_tags; i++) {
      XXH3_64bits_update(&st, "\0", 1);
      XXH3_64bits_update(&st, p->tags[i].key.p, p->tags[i].key.len);
      XXH3_64bits_update(&st, "\0", 1);
      XXH3_64bits_update(&st, p->tags[i].value.p, p->tags[i].value.len);
    }
  } else {
    for (size_t i = 0; i < s->n_key_tags; i++) {
      const struct tsdb_tag *t = find_tag(p, s->key_tags[i]);
      XXH3_64bits_update(&st, "\0", 1);
      if (t) XXH3_64bits_update(&st, t->value.p, t->value.len);
    }
  }
  uint64_t h = XXH3_64bits_digest(&st);
  return h ? h : 1;
}

/* "measurement,tag=value,..." of the key tags, cut to fit. */
static void key_text(const struct ingest_seq *s, const struct tsdb_point *p, char *out, size_t len) {
  struct vg_buf b;
  vg_buf_init(&b);
  vg_buf_append(&b, p->measurement.p, p->measurement.len);
  for (size_t i = 0; i < (s->n_key_tags ? s->n_key_tags : p->n_tags); i++) {
    const struct tsdb_tag *t = s->n_key_tags ? find_tag(p, s->key_tags[i]) : &p->tags[i];
    if (!t) continue;
    vg_buf_putc(&b, ',');
    vg_buf_append(&b, t->key.p, t->key.len);
    vg_buf_putc(&b, '=');
    vg_buf_append(&b, t->value.p, t->value.len);
  }
  snprintf(out, len, "%s", b.data);
  vg_buf_free(&b);
}

static struct slot *lookup(struct ingest_seq *s, uint64_t h, bool *fresh) {
  if (s->used * 2 >= s->cap) {
    size_t ncap = s->cap * 2;
    struct slot *ns = vg_calloc(ncap, sizeof *ns);
    for (size_t i = 0; i < s->cap; i++) {
      if (!s->slots[i].hash) continue;
      size_t j = s->slots[i].hash & (ncap - 1);
      while (ns[j].hash) j = (j + 1) & (ncap - 1);
      ns[j] = s->slots[i];
    }
    free(s->slots);
    s->slots = ns;
    s->cap = ncap;
  }
  size_t j = h & (s->cap - 1);
  while (s->slots[j].hash && s->slots[j].hash != h) j = (j + 1) & (s->cap - 1);
  *fresh = s->slots[j].hash == 0;
  if (*fresh) {
    s->slots[j].hash = h;
    s->used++;
  }
  return &s->slots[j];
}

uint64_t ingest_seq_note(struct ingest_seq *s, const struct tsdb_point *p, int64_t seq,
                         int64_t wall_ns) {
  bool fresh;
  struct slot *sl = lookup(s, key_hash(s, p), &fresh);
  if (fresh) {
    sl->last = seq;
    atomic_fetch_add_explicit(&s->keys, 1, memory_order_relaxed);
    return 0;
  }
  int64_t last = sl->last;
  if (seq == last + 1) {
    sl->last = seq;
    return 0;
  }
  if (seq <= last) {
    if (seq <= 1 && last > 1) {
      atomic_fetch_add_explicit(&s->resets, 1, memory_order_relaxed);
      sl->last = seq;
    } else {
      atomic_fetch_add_explicit(&s->late, 1, memory_order_relaxed);
    }
    return 0;
  }
  uint64_t missed = (uint64_t)seq - (uint64_t)last - 1;
  sl->last = seq;
  atomic_fetch_add_explicit(&s->gaps, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&s->missed, missed, memory_order_relaxed);
  struct ingest_gap g = {.after = last, .got = seq, .wall_ns = wall_ns};
  key_text(s, p, g.key, sizeof g.key);
  pthread_mutex_lock(&s->mu);
  s->recent[s->next] = g;
  s->next = (s->next + 1) % INGEST_SEQ_RECENT;
  if (s->n_recent < INGEST_SEQ_RECENT) s->n_recent++;
  pthread_mutex_unlock(&s->mu);
  return missed;
}

size_t ingest_seq_read(struct ingest_seq *s, struct ingest_seq_counts *c, struct ingest_gap *gaps,
                       size_t max) {
  if (c) {
    c->gaps = atomic_load_explicit(&s->gaps, memory_order_relaxed);
    c->missed = atomic_load_explicit(&s->missed, memory_order_relaxed);
    c->late = atomic_load_explicit(&s->late, memory_order_relaxed);
    c->resets = atomic_load_explicit(&s->resets, memory_order_relaxed);
    c->keys = atomic_load_explicit(&s->keys, memory_order_relaxed);
  }
  size_t n = 0;
  pthread_mutex_lock(&s->mu);
  for (; n < max && n < s->n_recent; n++)
    gaps[n] = s->recent[(s->next + INGEST_SEQ_RECENT - 1 - n) % INGEST_SEQ_RECENT];
  pthread_mutex_unlock(&s->mu);
  return n;
}
