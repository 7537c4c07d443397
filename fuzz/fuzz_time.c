/*
 * libFuzzer target for core's time grammar (core/vtime.h), which every verb, route and
 * the config use: query times (vg_time_parse, RFC 3339, epoch seconds, relative),
 * durations (vg_duration_parse in ns and in ms) and dates (vg_date_parse). Each line
 * of the input is tried as all of them. Beyond crashes and sanitizer reports it checks
 * the contracts: an error's column lies within the input (or just past it); what
 * parses formats to text that parses back to the same value; a date parses only from
 * its canonical form.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static void col_ok(const struct vg_time_error *e, const char *s) {
  if (e->col < 1 || e->col > strlen(s) + 1 || !e->msg[0]) abort();
}

static void one(const char *s) {
  struct vg_time_error e;
  int64_t t, back, d, ms;
  const int64_t now = INT64_C(1700000000) * VG_NS_PER_SEC;
  char out[VG_TIME_LEN];
  if (vg_time_parse(s, now, &t, &e) == 0) {
    static const int digits[] = {VG_FRAC_AUTO, 0, 3, 6, 9};
    for (size_t i = 0; i < sizeof digits / sizeof *digits; i++) {
      size_t n = vg_rfc3339_format(t, digits[i], out, sizeof out);
      if (n >= sizeof out) abort();
      if (vg_rfc3339_parse(out, &back, NULL) < 0) {
        /* truncated towards the past, the first second of int64 time falls before it */
        if (t >= INT64_MIN + VG_NS_PER_SEC) abort();
        continue;
      }
      if ((digits[i] == VG_FRAC_AUTO || digits[i] == 9) && back != t) abort();
      if (back > t) abort(); /* truncation goes towards the past */
    }
  } else {
    col_ok(&e, s);
  }
  if (vg_duration_parse(s, 1, &d, &e) == 0) {
    if (d < 0) abort();
    vg_duration_format(d, out, sizeof out);
    if (vg_duration_parse(out, 1, &back, NULL) < 0 || back != d) abort();
  } else {
    col_ok(&e, s);
  }
  if (vg_duration_parse(s, VG_NS_PER_MS, &ms, &e) == 0) {
    if (ms < 0) abort();
    if (ms <= INT64_MAX / VG_NS_PER_MS && (vg_duration_parse(s, 1, &d, NULL) < 0 || d != ms * VG_NS_PER_MS))
      abort();
  } else {
    col_ok(&e, s);
  }
  int64_t days;
  if (vg_date_parse(s, &days, &e) == 0) {
    vg_date_format(days, out, sizeof out);
    if (strcmp(out, s) != 0) abort();
  } else {
    col_ok(&e, s);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
  char *s = malloc(len + 1);
  memcpy(s, data, len);
  s[len] = 0;
  for (char *line = s, *next; line; line = next) {
    next = strchr(line, '\n');
    if (next) *next++ = 0;
    one(line);
  }
  free(s);
  return 0;
}
