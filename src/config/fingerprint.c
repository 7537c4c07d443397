/*
 * The fingerprint of a service: XXH3-64 over a canonical serialisation of its whole
 * definition except its name and file positions, so a reload can tell which
 * services changed (and must restart) and two identically defined services hash
 * the same. Every field is written with a tag and a length, so no two different
 * definitions serialise to the same bytes.
 */
#include "config/config_int.h"
#include "core/core.h"

#include <string.h>
#include <xxhash.h>

static void put_u64(struct vg_buf *b, char tag, uint64_t v) {
  unsigned char x[9];
  x[0] = (unsigned char)tag;
  for (int i = 0; i < 8; i++) x[1 + i] = (unsigned char)(v >> (8 * i));
  vg_buf_append(b, x, sizeof x);
}

/* NULL and "" differ: the length of NULL is written as UINT64_MAX. */
static void put_str(struct vg_buf *b, char tag, const char *s) {
  put_u64(b, tag, s ? strlen(s) : UINT64_MAX);
  if (s) vg_buf_puts(b, s);
}

static void put_strv(struct vg_buf *b, char tag, char *const *v) {
  put_u64(b, tag, v ? vg_strv_len(v) : UINT64_MAX);
  for (size_t i = 0; v && v[i]; i++) put_str(b, 's', v[i]);
}

static void put_limit(struct vg_buf *b, char tag, const struct cfg_limit *l) {
  put_u64(b, tag, l->set);
  put_u64(b, tag, l->set ? (uint64_t)l->value : 0);
}

uint64_t cfg__fingerprint(const struct cfg_service *s) {
  struct vg_buf b;
  vg_buf_init(&b);
  put_u64(&b, 'V', 1); /* format version of this serialisation */
  put_strv(&b, 'a', s->argv);
  put_u64(&b, 'b', s->shell);
  put_strv(&b, 'e', s->env);
  put_u64(&b, 'c', s->clear_env);
  put_str(&b, 'w', s->cwd);
  put_str(&b, 'u', s->user);
  put_str(&b, 'g', s->group);
  put_strv(&b, 'd', s->depends_on);

  put_u64(&b, 'R', (uint64_t)s->ready.kind);
  put_str(&b, 't', s->ready.target);
  put_strv(&b, 'x', s->ready.argv);
  put_u64(&b, 'o', (uint64_t)s->ready.timeout_ms);
  put_u64(&b, 'i', (uint64_t)s->ready.interval_ms);
  put_u64(&b, 'w', (uint64_t)s->ready.within_ms);

  put_u64(&b, 'P', (uint64_t)s->restart.policy);
  put_u64(&b, 'p', (uint64_t)s->restart.delay_ms);
  put_u64(&b, 'p', (uint64_t)s->restart.max_delay_ms);
  uint64_t jitter;
  double j = s->restart.jitter == 0 ? 0.0 : s->restart.jitter;
  memcpy(&jitter, &j, sizeof jitter);
  put_u64(&b, 'j', jitter);
  put_u64(&b, 'p', (uint64_t)s->restart.reset_after_ms);
  put_u64(&b, 'p', (uint64_t)s->restart.max_restarts);
  put_u64(&b, 'p', (uint64_t)s->restart.window_ms);
  put_u64(&b, 'X', s->n_no_restart_exit_codes);
  for (size_t i = 0; i < s->n_no_restart_exit_codes; i++)
    put_u64(&b, 'x', (uint64_t)s->no_restart_exit_codes[i]);

  put_u64(&b, 'S', (uint64_t)s->stop.signal);
  put_u64(&b, 'S', (uint64_t)s->stop.timeout_ms);
  put_u64(&b, 'W', (uint64_t)s->watchdog_ms);
  put_str(&b, 'S', s->stale_key);
  put_u64(&b, 'a', (uint64_t)s->stale_warn_ms);
  put_u64(&b, 'A', (uint64_t)s->stale_restart_ms);

  put_u64(&b, 'L', s->log.capture);
  put_u64(&b, 'L', s->log.echo);
  put_u64(&b, 'L', s->log.file);
  put_u64(&b, 'L', (uint64_t)s->log.max_bytes);
  put_u64(&b, 'L', (uint64_t)s->log.keep);

  put_limit(&b, 'n', &s->limits.nofile);
  put_limit(&b, 'k', &s->limits.core);
  put_limit(&b, 'm', &s->limits.as);
  put_str(&b, 'r', s->role);

  uint64_t h = XXH3_64bits(b.data, b.len);
  vg_buf_free(&b);
  return h;
}
