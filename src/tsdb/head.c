/*
 * head — the in-memory values of a series since the last flush, as a chain of
 * segments, and the pool the segments come from (see tsdb_int.h for why).
 *
 * The pool maps slabs of SLAB_BYTES and cuts them into segments of SEG_BYTES; it never
 * gives memory back before the store closes, so its size is the largest head (plus the
 * frozen head of a flush) the store has held. Slabs are aligned to 2 MiB and asked for
 * transparent huge pages: a store that grows its head at a million points a second
 * takes two page faults per slab instead of a thousand, and on a virtual machine a
 * first touch of a page costs 8-17 us. Under AddressSanitizer the free segments are
 * poisoned, so a use after a flush is caught.
 */
#include <string.h>
#include <sys/mman.h>

#include "tsdb/tsdb_int.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define SEG_BYTES ((size_t)16 << 10)    /* about 1000 numeric values */
#define SMALL_SEG_BYTES ((size_t)1 << 10) /* a series' first segment: about 60 */
#define SLAB_BYTES ((size_t)4 << 20)
#define HUGE_PAGE ((size_t)2 << 20)

void tsdb__segpool_init(struct tsdb__segpool *p) {
  memset(p, 0, sizeof *p);
  pthread_mutex_init(&p->mu, NULL);
}

void tsdb__segpool_destroy(struct tsdb__segpool *p) {
  for (size_t i = 0; i < p->n_slabs; i++) {
    UNPOISON(p->slabs[i], SLAB_BYTES);
    munmap(p->slabs[i], SLAB_BYTES);
  }
  free(p->slabs);
  pthread_mutex_destroy(&p->mu);
  memset(p, 0, sizeof *p);
}

static uint32_t seg_cap(size_t bytes, enum tsdb_type t) {
  return (uint32_t)((bytes - sizeof(struct tsdb__seg)) / (sizeof(int64_t) + tsdb__type_size(t)));
}

static void *seg_vals(const struct tsdb__seg *s) { return (void *)(s->ts + s->cap); }

/* A slab aligned to HUGE_PAGE (mapped larger, the ends given back), advised for huge
 * pages where the kernel takes the advice (THP "madvise" or "always"). */
static void *map_slab(void) {
  char *p = mmap(NULL, SLAB_BYTES + HUGE_PAGE, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return NULL;
  char *a = (char *)(((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
  if (a > p) munmap(p, (size_t)(a - p));
  size_t tail = (size_t)(p + SLAB_BYTES + HUGE_PAGE - (a + SLAB_BYTES));
  if (tail) munmap(a + SLAB_BYTES, tail);
#ifdef MADV_HUGEPAGE
  (void)madvise(a, SLAB_BYTES, MADV_HUGEPAGE); /* advice only: small pages also work */
#endif
  return a;
}

/* A segment from the pool; NULL when no slab can be mapped (the caller mallocs). */
static struct tsdb__seg *pool_take(struct tsdb__segpool *p) {
  pthread_mutex_lock(&p->mu);
  if (!p->free) {
    void *slab = map_slab();
    if (!slab) {
      pthread_mutex_unlock(&p->mu);
      return NULL;
    }
    p->slabs = vg_realloc(p->slabs, (p->n_slabs + 1) * sizeof *p->slabs);
    p->slabs[p->n_slabs++] = slab;
    for (size_t off = 0; off + SEG_BYTES <= SLAB_BYTES; off += SEG_BYTES) {
      struct tsdb__seg *s = (struct tsdb__seg *)((char *)slab + off);
      s->next = p->free;
      p->free = s;
      p->n_free++, p->n_total++;
      POISON((char *)s + sizeof s->next, SEG_BYTES - sizeof s->next);
    }
  }
  struct tsdb__seg *s = p->free;
  p->free = s->next;
  p->n_free--;
  pthread_mutex_unlock(&p->mu);
  UNPOISON(s, SEG_BYTES);
  return s;
}

/* Gives a chain of pooled segments back, first..last, in one lock. */
static void pool_give(struct tsdb__segpool *p, struct tsdb__seg *first, struct tsdb__seg *last,
                      size_t n) {
  for (struct tsdb__seg *s = first;; s = s->next) {
    POISON((char *)s + sizeof s->next, SEG_BYTES - sizeof s->next);
    if (s == last) break;
  }
  pthread_mutex_lock(&p->mu);
  last->next = p->free;
  p->free = first;
  p->n_free += n;
  pthread_mutex_unlock(&p->mu);
}

static struct tsdb__seg *add_seg(struct tsdb__segpool *p, struct tsdb__head *h, enum tsdb_type t) {
  /* a series that fills its small first segment gets full-size ones from the pool */
  struct tsdb__seg *s = h->first ? pool_take(p) : NULL;
  bool pooled = s != NULL;
  size_t bytes = h->first ? SEG_BYTES : SMALL_SEG_BYTES;
  if (!s) s = vg_malloc(bytes);
  s->next = NULL;
  s->n = 0;
  s->cap = seg_cap(bytes, t);
  s->pooled = pooled;
  if (h->last) h->last->next = s;
  else h->first = s;
  h->last = s;
  return s;
}

void tsdb__head_push(struct tsdb__segpool *p, struct tsdb__head *h, enum tsdb_type t, int64_t ts,
                     const struct tsdb_value *v) {
  struct tsdb__seg *s = h->last;
  if (!s || s->n == s->cap) s = add_seg(p, h, t);
  uint32_t i = s->n++;
  s->ts[i] = ts;
  void *vals = seg_vals(s);
  switch (t) {
  case TSDB_FLOAT: ((double *)vals)[i] = v->v.f; break;
  case TSDB_INT: ((int64_t *)vals)[i] = v->v.i; break;
  case TSDB_UINT: ((uint64_t *)vals)[i] = v->v.u; break;
  case TSDB_BOOL: ((uint8_t *)vals)[i] = v->v.b; break;
  case TSDB_STRING: {
    char *c = vg_malloc(v->v.s.len + 1);
    memcpy(c, v->v.s.p, v->v.s.len);
    c[v->v.s.len] = 0;
    ((struct tsdb_str *)vals)[i] = (struct tsdb_str){c, v->v.s.len};
    break;
  }
  }
  if (h->n == 0 || ts < h->min) h->min = ts;
  if (h->n == 0 || ts > h->max) h->max = ts;
  h->n++;
}

void tsdb__head_free(struct tsdb__segpool *p, struct tsdb__head *h, enum tsdb_type t) {
  struct tsdb__seg *pf = NULL, *pl = NULL;
  size_t np = 0;
  for (struct tsdb__seg *s = h->first, *next; s; s = next) {
    next = s->next;
    if (t == TSDB_STRING)
      for (uint32_t i = 0; i < s->n; i++) free((void *)((struct tsdb_str *)seg_vals(s))[i].p);
    if (!s->pooled) {
      free(s);
    } else if (p) {
      s->next = pf; /* chain the pooled ones to give back at once */
      pf = s;
      if (!pl) pl = s;
      np++;
    }
  }
  if (pf) pool_give(p, pf, pl, np);
  memset(h, 0, sizeof *h);
}

void tsdb__head_copy_range(struct tsdb__col *out, const struct tsdb__head *h, enum tsdb_type t,
                           int64_t from, int64_t to) {
  struct tsdb_value v = {.type = t};
  for (const struct tsdb__seg *s = h->first; s; s = s->next) {
    const void *vals = seg_vals(s);
    for (uint32_t i = 0; i < s->n; i++) {
      if (s->ts[i] < from || s->ts[i] >= to) continue;
      switch (t) {
      case TSDB_FLOAT: v.v.f = ((const double *)vals)[i]; break;
      case TSDB_INT: v.v.i = ((const int64_t *)vals)[i]; break;
      case TSDB_UINT: v.v.u = ((const uint64_t *)vals)[i]; break;
      case TSDB_BOOL: v.v.b = ((const uint8_t *)vals)[i] != 0; break;
      case TSDB_STRING: v.v.s = ((const struct tsdb_str *)vals)[i]; break;
      }
      tsdb__col_push(out, t, s->ts[i], &v);
    }
  }
}

void tsdb__head_to_col(struct tsdb__col *out, const struct tsdb__head *h, enum tsdb_type t) {
  tsdb__col_reserve(out, t, h->n);
  size_t sz = tsdb__type_size(t);
  for (const struct tsdb__seg *s = h->first; s; s = s->next) {
    memcpy(out->ts + out->n, s->ts, s->n * sizeof *s->ts);
    if (t != TSDB_STRING || !out->owns_strings) {
      memcpy((char *)out->v.any + out->n * sz, seg_vals(s), s->n * sz);
    } else {
      const struct tsdb_str *in = seg_vals(s);
      for (uint32_t i = 0; i < s->n; i++) {
        char *c = vg_malloc(in[i].len + 1);
        memcpy(c, in[i].p, in[i].len);
        c[in[i].len] = 0;
        out->v.s[out->n + i] = (struct tsdb_str){c, in[i].len};
      }
    }
    out->n += s->n;
  }
}

int64_t tsdb__head_next_ts(const struct tsdb__head *h, int64_t from) {
  int64_t best = TSDB_TIME_MAX;
  for (const struct tsdb__seg *s = h->first; s; s = s->next)
    for (uint32_t i = 0; i < s->n; i++)
      if (s->ts[i] >= from && s->ts[i] < best) best = s->ts[i];
  return best;
}

void tsdb__head_prepend(struct tsdb__head *h, struct tsdb__head *front) {
  if (!front->first) return;
  front->last->next = h->first;
  if (!h->first) h->last = front->last;
  h->first = front->first;
  if (h->n == 0 || front->min < h->min) h->min = front->min;
  if (h->n == 0 || front->max > h->max) h->max = front->max;
  h->n += front->n;
  memset(front, 0, sizeof *front);
}
