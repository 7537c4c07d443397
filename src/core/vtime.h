/*
 * vtime — vigil's one implementation of time: clocks, the duration grammar (config,
 * CLI and queries), civil dates, RFC 3339 parsing and formatting, and the time grammar
 * of queries. Times are int64 nanoseconds since 1970-01-01T00:00:00Z (1677-09-21 to
 * 2262-04-11); dates are days since 1970-01-01 in the proleptic Gregorian calendar.
 *
 * Parsers are strict: a value is accepted only as written, never normalised
 * (2023-02-31, 24:00, 23:59:60 and a tenth fraction digit are refused), and a
 * failure says where (the 1-based byte column of the input) and why.
 */
#ifndef VIGIL_CORE_VTIME_H
#define VIGIL_CORE_VTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VG_NS_PER_US INT64_C(1000)
#define VG_NS_PER_MS INT64_C(1000000)
#define VG_NS_PER_SEC INT64_C(1000000000)
#define VG_NS_PER_DAY (INT64_C(86400) * VG_NS_PER_SEC)

/* Why a parse failed: col is the 1-based byte column in the input where it went
 * wrong, msg what was expected there ("day 31 is past the end of 2023-02"). */
struct vg_time_error {
  size_t col;
  char msg[120];
};

/* ---- clocks ---- */
/* Monotonic clock in milliseconds / nanoseconds. */
uint64_t vg_now_ms(void);
uint64_t vg_now_ns(void);
/* The same clocks read from the kernel's last tick (resolution 1-4 ms, a few ns to
 * read instead of 25 or more on a VM): for per-message bookkeeping on hot paths. */
uint64_t vg_now_coarse_ns(void);
int64_t vg_wall_coarse_ns(void);
/* Wall clock in ns since the epoch. */
int64_t vg_wall_ns(void);
/* Wall clock in seconds since the epoch, with sub-second precision. */
double vg_wall_seconds(void);

/* ---- durations ---- */
/* A sequence of NUMBER UNIT pairs, units ns, us, ms, s, m, h, d (86400 s) and w (7 d),
 * in any order: "250ms", "1h30m", "2s500ms", "1w". The only unit-less value is "0".
 * Numbers are whole decimal digits; no sign, space, fraction or exponent.
 *
 * The total is returned in multiples of unit_ns (1 for ns, VG_NS_PER_MS for ms):
 * 0, or -1 with *err filled (may be NULL) when s is not a duration, is not a whole
 * number of unit_ns ("1500us" in ms), or its total does not fit in int64. *out is
 * untouched on error. unit_ns must be positive. */
int vg_duration_parse(const char *s, int64_t unit_ns, int64_t *out, struct vg_time_error *err);

/* Formats ns as a duration the parser reads back: largest units first ("1d2h",
 * "1m30s", "250ms", "1us500ns"); "0" for 0, a leading '-' when negative. Weeks are
 * written as days. Returns the length (as snprintf; 32 bytes always suffice). */
size_t vg_duration_format(int64_t ns, char *buf, size_t len);

/* ---- civil dates ---- */
bool vg_leap_year(int64_t y);
/* Days in month m (1-12) of year y. */
int vg_days_in_month(int64_t y, int m);
/* Days since 1970-01-01 of y-m-d; m and d must be valid (see vg_days_in_month). Exact
 * for any y within +-2^40. */
int64_t vg_days_from_civil(int64_t y, int m, int d);
/* The inverse: the date of days since 1970-01-01. */
void vg_civil_from_days(int64_t days, int64_t *y, int *m, int *d);

#define VG_DATE_LEN 24 /* enough for any int64 date from a time */
/* "YYYY-MM-DD" exactly (ten characters, a year 0000-9999, a real day) into days since
 * 1970-01-01. 0 or -1 with *err (may be NULL). */
int vg_date_parse(const char *s, int64_t *days, struct vg_time_error *err);
/* days as "YYYY-MM-DD" (a year beyond 9999 gets more digits, a negative one a '-').
 * Returns the length, as snprintf. */
size_t vg_date_format(int64_t days, char *buf, size_t len);

/* ---- RFC 3339 ---- */
#define VG_TIME_LEN 40 /* enough for any formatted time */
/* Fraction digits for vg_rfc3339_format: as many as needed (none for whole seconds). */
#define VG_FRAC_AUTO (-1)

/* "2026-11-23T06:00:00Z", "2026-11-23t06:00:00.25+01:00", "2026-11-23 06:00:00Z", or a
 * bare date "2026-11-23" (midnight UTC). Seconds and an offset (Z or +-HH:MM) are
 * required after a time of day; 1 to 9 fraction digits. 0, or -1 with *err (may be
 * NULL); the time must fall within int64 ns (1677-09-21T00:12:43.145224192Z to
 * 2262-04-11T23:47:16.854775807Z). */
int vg_rfc3339_parse(const char *s, int64_t *ns, struct vg_time_error *err);
/* ns in UTC, "2026-11-23T06:00:00.25Z": frac_digits 0, 3, 6 or 9 writes that many
 * fraction digits (truncated towards the past), VG_FRAC_AUTO as many as needed.
 * Returns the length, as snprintf; VG_TIME_LEN bytes always suffice. */
size_t vg_rfc3339_format(int64_t ns, int frac_digits, char *buf, size_t len);

/* ---- the time grammar of queries and verbs ---- */
/* An RFC 3339 time or bare date (vg_rfc3339_parse); epoch seconds with up to 9
 * fraction digits ("1763877600.25"); "now"; or now plus or minus a duration: "-1h",
 * "now-15m", "+30s" (vg_duration_parse). 0, or -1 with *err (may be NULL). */
int vg_time_parse(const char *s, int64_t now, int64_t *ns, struct vg_time_error *err);

#endif
