/*
 * The composite hash of a cell and why a ledger row no longer matches it.
 *
 *   deps      = H(result of each dependency for the date, in deps order,
 *                 then the cell's own results for the previous `history` dates)
 *   composite = H(effective code (sources + argv template), epoch, deps, root inputs)
 *
 * Equal composites mean the ledger's result stands. The parts are stored beside the
 * composite so a plan can say which one changed.
 */
#include "compute/cp_int.h"

#include <stdio.h>
#include <string.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

static void digest(XXH3_state_t *st, uint8_t out[CP_HASH]) {
  XXH128_canonical_t cn;
  XXH128_canonicalFromHash(&cn, XXH3_128bits_digest(st));
  memcpy(out, cn.digest, CP_HASH);
}

void cp__key_make(const struct cp_engine *e, size_t calc, const uint8_t (*dep_results)[CP_HASH],
                  size_t n_results, const uint8_t inputs[CP_HASH], struct cp__key *k) {
  XXH3_state_t st;
  XXH3_128bits_reset(&st);
  XXH3_128bits_update(&st, dep_results, n_results * CP_HASH);
  digest(&st, k->deps);
  memcpy(k->code, e->calcs[calc].code, CP_HASH);
  memcpy(k->inputs, inputs, CP_HASH);
  int64_t epoch = e->cp->epoch;
  XXH3_128bits_reset(&st);
  XXH3_128bits_update(&st, k->code, CP_HASH);
  XXH3_128bits_update(&st, &epoch, sizeof epoch);
  XXH3_128bits_update(&st, k->deps, CP_HASH);
  XXH3_128bits_update(&st, k->inputs, CP_HASH);
  digest(&st, k->composite);
}

enum cp_reason cp__reason(const struct cp_engine *e, const struct cp__row *row,
                          const struct cp__key *k) {
  if (row->status == CP__S_REQUEUED) return CP_R_REQUEUED;
  if (row->epoch != e->cp->epoch) return CP_R_EPOCH;
  if (memcmp(row->code, k->code, CP_HASH)) return CP_R_CODE;
  if (memcmp(row->inputs, k->inputs, CP_HASH)) return CP_R_INPUT;
  if (memcmp(row->deps, k->deps, CP_HASH)) return CP_R_DEPENDENCY;
  return CP_R_NONE;
}

const char *cp_class_name(enum cp_class c) {
  static const char *const names[] = {"uptodate", "runnable", "rerun", "blocked", "impossible", "dead"};
  return c < CP_N_CLASSES ? names[c] : "?";
}

const char *cp_reason_name(enum cp_reason r) {
  static const char *const names[] = {"", "code", "dependency", "epoch", "input", "requeued"};
  return r <= CP_R_REQUEUED ? names[r] : "?";
}

void cp_format_date(long days, char *buf) { vg_date_format(days, buf, 11); }

long cp_today(void) { return (long)(vg_wall_ns() / VG_NS_PER_DAY); }
