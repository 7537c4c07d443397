/* Restart arithmetic: exponential backoff with jitter, and the sliding window that
 * decides when a crash loop becomes fatal. Pure functions of their inputs. */
#include "supervise/sv_int.h"

#include <stdlib.h>

/* xorshift64*: a small deterministic generator; jitter needs spread, not secrecy. */
static uint64_t next_random(uint64_t *s) {
  uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 0x2545f4914f6cdd1dull;
}

int64_t sv__backoff_delay(const struct cfg_restart *r, unsigned step, uint64_t *seed) {
  if (r->delay_ms <= 0) return 0;
  int64_t d = r->delay_ms;
  for (unsigned i = 0; i < step && d < r->max_delay_ms; i++) d *= 2;
  if (d > r->max_delay_ms) d = r->max_delay_ms;
  if (r->jitter > 0) {
    /* uniform in [-jitter·d, +jitter·d] */
    double u = (double)(next_random(seed) >> 11) / (double)(1ull << 53);
    double j = (u * 2.0 - 1.0) * r->jitter * (double)d;
    d += (int64_t)j;
    if (d < 0) d = 0;
  }
  return d;
}

size_t sv__note_failure(struct sv_service *svc, uint64_t now_ms) {
  const struct cfg_restart *r = &svc->def->restart;
  size_t want = r->max_restarts > 0 ? (size_t)r->max_restarts + 1 : 1;
  if (svc->fail_cap != want) {
    /* the limit changed (first use or reload): start the history afresh */
    free(svc->fail_ms);
    svc->fail_ms = vg_calloc(want, sizeof *svc->fail_ms);
    svc->fail_cap = want;
    svc->n_fail = svc->fail_head = 0;
  }
  svc->fail_ms[svc->fail_head] = now_ms;
  svc->fail_head = (svc->fail_head + 1) % svc->fail_cap;
  if (svc->n_fail < svc->fail_cap) svc->n_fail++;
  size_t recent = 0;
  for (size_t i = 0; i < svc->n_fail; i++)
    if (now_ms - svc->fail_ms[i] < (uint64_t)r->window_ms) recent++;
  return recent;
}
