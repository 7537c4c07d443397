/*
 * The alert table. An alert is keyed by (check, key): a finding with no firing alert
 * fires one; a firing alert found again keeps firing (a new severity counts as a change,
 * a new message does not: a staleness message carries the age); a firing alert of a
 * check that ran and found nothing is resolved and moves into the bounded history of
 * resolved alerts (the oldest is dropped first). Firing alerts are never dropped.
 *
 *   state \ event   found                 not found (its check ran)   check did not run
 *   (none)          fire                  -                           -
 *   firing          keep (severity: a change)  resolve                keep
 *   resolved        a new alert fires     -                           -
 */
#include "monitor/mon_int.h"
#include "core/vtime.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

struct mon_alerts {
  struct mon_alert *firing; /* in the order they fired */
  size_t n_firing, cap_firing;
  struct mon_alert *resolved; /* a ring of max entries, grown up to max as it fills */
  size_t max, cap, head, n_resolved; /* head: where the next one goes */
  uint64_t next_id;
};

void mon_alert_clear(struct mon_alert *a) {
  free(a->check);
  free(a->key);
  free(a->category);
  free(a->message);
  free(a->details);
  memset(a, 0, sizeof *a);
}

static void alert_copy(struct mon_alert *dst, const struct mon_alert *src) {
  *dst = *src;
  dst->check = vg_strdup(src->check);
  dst->key = vg_strdup(src->key);
  dst->category = vg_strdup(src->category ? src->category : "");
  dst->message = vg_strdup(src->message ? src->message : "");
  dst->details = vg_strdup(src->details ? src->details : "{}");
}

struct mon_alerts *mon_alerts_new(size_t max_history) {
  struct mon_alerts *as = vg_calloc(1, sizeof *as);
  as->max = max_history ? max_history : 1;
  as->cap = as->max < 16 ? as->max : 16;
  as->resolved = vg_calloc(as->cap, sizeof *as->resolved);
  as->next_id = 1;
  return as;
}

void mon_alerts_free(struct mon_alerts **asp) {
  struct mon_alerts *as = *asp;
  if (!as) return;
  for (size_t i = 0; i < as->n_firing; i++) mon_alert_clear(&as->firing[i]);
  for (size_t i = 0; i < as->cap; i++) mon_alert_clear(&as->resolved[i]);
  free(as->firing);
  free(as->resolved);
  free(as);
  *asp = NULL;
}

size_t mon_alerts_count(const struct mon_alerts *as, bool firing_only) {
  return as->n_firing + (firing_only ? 0 : as->n_resolved);
}

const struct mon_alert *mon_alerts_at(const struct mon_alerts *as, size_t i) {
  if (i < as->n_firing) return &as->firing[as->n_firing - 1 - i];
  i -= as->n_firing;
  if (i >= as->n_resolved) return NULL;
  return &as->resolved[(as->head + as->cap - 1 - i) % as->cap];
}

static struct mon_alert *push_firing(struct mon_alerts *as) {
  if (as->n_firing == as->cap_firing) {
    as->cap_firing = as->cap_firing ? 2 * as->cap_firing : 16;
    as->firing = vg_realloc(as->firing, as->cap_firing * sizeof *as->firing);
  }
  return &as->firing[as->n_firing++];
}

/* Moves a (taken whole) into the resolved ring. */
static void push_resolved(struct mon_alerts *as, struct mon_alert *a) {
  if (as->n_resolved == as->cap && as->cap < as->max) {
    /* full but never overwritten (that happens only at max): slots 0..cap-1 hold the
     * alerts oldest first and head came round to 0; the next goes after them */
    size_t cap = as->cap * 2 < as->max ? as->cap * 2 : as->max;
    as->resolved = vg_realloc(as->resolved, cap * sizeof *as->resolved);
    memset(as->resolved + as->cap, 0, (cap - as->cap) * sizeof *as->resolved);
    as->head = as->cap;
    as->cap = cap;
  }
  struct mon_alert *slot = &as->resolved[as->head];
  mon_alert_clear(slot);
  *slot = *a;
  as->head = (as->head + 1) % as->cap;
  if (as->n_resolved < as->cap) as->n_resolved++;
}

void mon_alerts_restore(struct mon_alerts *as, const struct mon_alert *a) {
  struct mon_alert c;
  alert_copy(&c, a);
  if (a->id >= as->next_id) as->next_id = a->id + 1;
  if (c.firing) *push_firing(as) = c;
  else push_resolved(as, &c);
}

void mon_alerts_event(struct mon_alerts *as, struct mon_alert *a) {
  a->id = as->next_id++;
  struct mon_alert c;
  alert_copy(&c, a);
  c.firing = false;
  push_resolved(as, &c);
}

/* ---- an index of (check, key) over the firing alerts, rebuilt per evaluation ---- */
struct index {
  uint32_t *slot; /* alert index + 1, 0 empty */
  size_t mask;
};

static uint64_t hash2(const char *a, const char *b) {
  return XXH3_64bits_withSeed(b, strlen(b), XXH3_64bits(a, strlen(a)));
}

static void index_build(struct index *ix, const struct mon_alerts *as) {
  size_t cap = 16;
  while (cap < 2 * as->n_firing + 2) cap *= 2;
  ix->slot = vg_calloc(cap, sizeof *ix->slot);
  ix->mask = cap - 1;
  for (size_t i = 0; i < as->n_firing; i++) {
    size_t h = hash2(as->firing[i].check, as->firing[i].key) & ix->mask;
    while (ix->slot[h]) h = (h + 1) & ix->mask;
    ix->slot[h] = (uint32_t)i + 1;
  }
}

static long index_find(const struct index *ix, const struct mon_alerts *as, const char *check,
                       const char *key) {
  size_t h = hash2(check, key) & ix->mask;
  for (; ix->slot[h]; h = (h + 1) & ix->mask) {
    const struct mon_alert *a = &as->firing[ix->slot[h] - 1];
    if (!strcmp(a->check, check) && !strcmp(a->key, key)) return (long)ix->slot[h] - 1;
  }
  return -1;
}

const char *mon__check_name(const struct cfg_monitor *m, size_t i) {
  return i < m->n_checks ? m->checks[i].name : MON__BACKEND_CHECK;
}

/* Whether the check named check ran in ev; a check no longer configured counts as ran
 * (its alerts resolve). */
static bool check_ran(const struct cfg_monitor *m, const struct mon_eval *ev, const char *check) {
  for (size_t i = 0; i <= m->n_checks; i++)
    if (!strcmp(mon__check_name(m, i), check)) return ev->ran[i];
  return true;
}

size_t mon_alerts_apply(struct mon_alerts *as, const struct cfg_monitor *m, const struct mon_eval *ev,
                        mon_changed_fn *changed_fn, void *arg) {
  struct index ix;
  index_build(&ix, as);
  size_t n_before = as->n_firing, changed = 0;
  bool *seen = vg_calloc(n_before + 1, sizeof *seen);
  for (size_t i = 0; i < ev->n; i++) {
    const struct mon_finding *f = &ev->f[i];
    long at = index_find(&ix, as, f->check, f->key);
    if (at >= 0 && (size_t)at < n_before && seen[at]) continue; /* the same key twice in a check */
    if (at >= 0) {
      struct mon_alert *a = &as->firing[at];
      seen[at] = true;
      free(a->message);
      a->message = vg_strdup(f->message);
      free(a->details);
      a->details = vg_strdup(f->details);
      if (a->severity != f->severity) {
        a->severity = f->severity;
        a->changed = ev->at;
        changed++;
        if (changed_fn) changed_fn(arg, a);
      }
      continue;
    }
    struct mon_alert *a = push_firing(as);
    *a = (struct mon_alert){.id = as->next_id++,
                            .check = vg_strdup(f->check),
                            .key = vg_strdup(f->key),
                            .category = vg_strdup(f->category),
                            .message = vg_strdup(f->message),
                            .details = vg_strdup(f->details),
                            .severity = f->severity,
                            .firing = true,
                            .started = ev->at,
                            .changed = ev->at};
    /* later findings of the same (check, key) in this evaluation find it */
    if (2 * as->n_firing + 2 > ix.mask + 1) {
      free(ix.slot);
      index_build(&ix, as);
    } else {
      size_t h = hash2(a->check, a->key) & ix.mask;
      while (ix.slot[h]) h = (h + 1) & ix.mask;
      ix.slot[h] = (uint32_t)as->n_firing;
    }
    changed++;
    if (changed_fn) changed_fn(arg, a);
  }
  /* resolve, keeping the order of those that stay */
  size_t o = 0;
  for (size_t i = 0; i < as->n_firing; i++) {
    struct mon_alert *a = &as->firing[i];
    if (i < n_before && !seen[i] && check_ran(m, ev, a->check)) {
      a->firing = false;
      a->ended = ev->at;
      a->changed = ev->at;
      changed++;
      if (changed_fn) changed_fn(arg, a);
      struct mon_alert moved = *a;
      push_resolved(as, &moved);
      continue;
    }
    as->firing[o++] = *a;
  }
  as->n_firing = o;
  free(seen);
  free(ix.slot);
  return changed;
}

static void time_json(struct vg_buf *out, int64_t ns) {
  if (!ns) {
    vg_buf_puts(out, "null");
    return;
  }
  char t[VG_TIME_LEN];
  vg_rfc3339_format(ns, 3, t, sizeof t);
  vg_buf_printf(out, "\"%s\"", t);
}

void mon_alert_json(const struct mon_alert *a, struct vg_buf *out) {
  vg_buf_printf(out, "{\"id\":\"%llu\",\"check\":", (unsigned long long)a->id);
  vg_buf_json_str(out, a->check);
  vg_buf_puts(out, ",\"key\":");
  vg_buf_json_str(out, a->key);
  vg_buf_printf(out, ",\"severity\":\"%s\",\"category\":", mon_severity_name(a->severity));
  vg_buf_json_str(out, a->category);
  vg_buf_puts(out, ",\"message\":");
  vg_buf_json_str(out, a->message);
  vg_buf_printf(out, ",\"details\":%s,\"state\":\"%s\",\"started_at\":", a->details,
                a->firing ? "firing" : "resolved");
  time_json(out, a->started);
  vg_buf_puts(out, ",\"ended_at\":");
  time_json(out, a->ended);
  vg_buf_putc(out, '}');
}
