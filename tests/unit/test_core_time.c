/* Unit tests of core's time kit (core/vtime.h): every duration unit, overflow in ns and
 * ms, civil dates and leap years, RFC 3339 parsing and formatting at the int64 edges,
 * the query time grammar, and bad input refused with the right column. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/core.h"

#define NS VG_NS_PER_SEC

/* s must be refused, the error at column col, its message containing want. */
#define REFUSED(call, s, col, want) refused((call), (s), (col), (want), &e, __LINE__)
static void refused(int rc, const char *s, size_t col, const char *want,
                    const struct vg_time_error *e, int line) {
  if (rc == 0 || e->col != col || !strstr(e->msg, want))
    print_error("line %d: '%s': rc %d, column %zu '%s'; want column %zu '%s'\n", line, s, rc,
                e->col, e->msg, col, want);
  assert_int_equal(rc, -1);
  assert_int_equal(e->col, col);
  assert_non_null(strstr(e->msg, want));
}

static void durations_every_unit(void **state) {
  static const struct {
    const char *s;
    int64_t ns;
  } ok[] = {
      {"0", 0},
      {"0s", 0},
      {"7ns", 7},
      {"7us", 7000},
      {"7ms", 7000000},
      {"7s", 7 * NS},
      {"7m", 420 * NS},
      {"7h", 7 * 3600 * NS},
      {"7d", 7 * 86400 * NS},
      {"2w", 14 * 86400 * NS},
      {"1h30m", 5400 * NS},
      {"2s500ms", 2500000000},
      {"30m1h", 5400 * NS}, /* any order, as the config has always read it */
      {"1w1d1h1m1s1ms1us1ns", (8 * 86400 + 3661) * NS + 1001001},
      {"9223372036854775807ns", INT64_MAX},
      {"9223372036s854775807ns", INT64_MAX},
  };
  for (size_t i = 0; i < VG_ARRAY_LEN(ok); i++) {
    int64_t ns = -1;
    struct vg_time_error e;
    if (vg_duration_parse(ok[i].s, 1, &ns, &e) < 0) print_error("'%s': %s\n", ok[i].s, e.msg);
    assert_int_equal(vg_duration_parse(ok[i].s, 1, &ns, &e), 0);
    assert_int_equal(ns, ok[i].ns);
  }
}

static void durations_in_ms(void **state) {
  int64_t ms = 0;
  struct vg_time_error e;
  assert_int_equal(vg_duration_parse("1500us", VG_NS_PER_MS, &ms, &e) == 0, false);
  assert_int_equal(vg_duration_parse("1w", VG_NS_PER_MS, &ms, NULL), 0);
  assert_int_equal(ms, 7 * 86400000);
  assert_int_equal(vg_duration_parse("2000us", VG_NS_PER_MS, &ms, NULL), 0);
  assert_int_equal(ms, 2);
  /* the config's range is 64-bit milliseconds, beyond 64-bit nanoseconds */
  assert_int_equal(vg_duration_parse("9223372036854775807ms", VG_NS_PER_MS, &ms, NULL), 0);
  assert_int_equal(ms, INT64_MAX);
  assert_int_equal(vg_duration_parse("106751991167d", VG_NS_PER_MS, &ms, NULL), 0);
  assert_int_equal(ms, INT64_C(106751991167) * 86400000);
  REFUSED(vg_duration_parse("1s1500us", VG_NS_PER_MS, &ms, &e), "1s1500us", 1,
          "not a whole number of milliseconds");
  REFUSED(vg_duration_parse("1d106751991167d", VG_NS_PER_MS, &ms, &e), "1d106751991167d", 3,
          "too long: the total must fit in 64-bit milliseconds");
}

static void durations_refused_with_column(void **state) {
  static const struct {
    const char *s;
    size_t col;
    const char *want;
  } bad[] = {
      {"", 1, "expected a duration"},
      {"30", 3, "expected a unit (ns, us, ms, s, m, h, d or w) after the number, got the end"},
      {"30x", 3, "got 'x'"},
      {"-1s", 1, "expected a number, got '-'"},
      {"+1s", 1, "expected a number"},
      {"1.5s", 2, "expected a unit"},
      {" 1s", 1, "expected a number, got ' '"},
      {"1s ", 3, "expected a number, got ' '"},
      {"1S", 2, "got 'S'"},
      {"1sec", 3, "expected a number, got 'e'"},
      {"00", 3, "expected a unit"},
      {"1h30", 5, "expected a unit"},
      {"ms", 1, "expected a number"},
      {"1hm", 3, "expected a number, got 'm'"},
      {"1\x01s", 2, "got 0x01"},
      {"9223372036854775808ns", 1, "number too large"},
      {"9223372036854775807ns1ns", 22, "too long: the total must fit in 64-bit nanoseconds"},
      {"9223372037s", 1, "too long"},
      {"15251w", 1, "too long"},
  };
  for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++) {
    int64_t ns = 42;
    struct vg_time_error e;
    REFUSED(vg_duration_parse(bad[i].s, 1, &ns, &e), bad[i].s, bad[i].col, bad[i].want);
    assert_int_equal(ns, 42);
  }
  int64_t ns;
  assert_int_equal(vg_duration_parse("1s", 1, &ns, NULL), 0); /* err may be NULL */
  assert_int_equal(vg_duration_parse("x", 1, &ns, NULL), -1);
}

static void durations_format_and_read_back(void **state) {
  static const struct {
    int64_t ns;
    const char *s;
  } v[] = {
      {0, "0"},
      {1, "1ns"},
      {1500, "1us500ns"},
      {250 * VG_NS_PER_MS, "250ms"},
      {90 * NS, "1m30s"},
      {5400 * NS, "1h30m"},
      {8 * 86400 * NS, "8d"},
      {-90 * NS, "-1m30s"},
      {INT64_MAX, "106751d23h47m16s854ms775us807ns"},
      {INT64_MIN, "-106751d23h47m16s854ms775us808ns"},
  };
  for (size_t i = 0; i < VG_ARRAY_LEN(v); i++) {
    char buf[64];
    assert_int_equal(vg_duration_format(v[i].ns, buf, sizeof buf), strlen(v[i].s));
    assert_string_equal(buf, v[i].s);
    int64_t back;
    if (v[i].ns >= 0) {
      assert_int_equal(vg_duration_parse(buf, 1, &back, NULL), 0);
      assert_int_equal(back, v[i].ns);
    }
  }
  char small[4];
  assert_int_equal(vg_duration_format(5400 * NS, small, sizeof small), 5); /* as snprintf */
  assert_string_equal(small, "1h3");
}

static void civil_dates_and_leap_years(void **state) {
  assert_true(vg_leap_year(2000));
  assert_true(vg_leap_year(2024));
  assert_true(vg_leap_year(1600));
  assert_false(vg_leap_year(1900));
  assert_false(vg_leap_year(2100));
  assert_false(vg_leap_year(2023));
  assert_int_equal(vg_days_in_month(2024, 2), 29);
  assert_int_equal(vg_days_in_month(2023, 2), 28);
  assert_int_equal(vg_days_in_month(1900, 2), 28);
  assert_int_equal(vg_days_in_month(2000, 2), 29);
  assert_int_equal(vg_days_in_month(2023, 4), 30);
  assert_int_equal(vg_days_in_month(2023, 12), 31);
  assert_int_equal(vg_days_in_month(2023, 13), 0);
  static const struct {
    int64_t y;
    int m, d;
    int64_t days;
  } v[] = {{1970, 1, 1, 0},        {1969, 12, 31, -1},      {2000, 3, 1, 11017},
           {1600, 2, 29, -135081}, {2262, 4, 11, 106751},   {1677, 9, 21, -106752},
           {9999, 12, 31, 2932896}, {1, 1, 1, -719162}};
  for (size_t i = 0; i < VG_ARRAY_LEN(v); i++) {
    assert_int_equal(vg_days_from_civil(v[i].y, v[i].m, v[i].d), v[i].days);
    int64_t y;
    int m, d;
    vg_civil_from_days(v[i].days, &y, &m, &d);
    assert_int_equal(y, v[i].y);
    assert_int_equal(m, v[i].m);
    assert_int_equal(d, v[i].d);
  }
  /* every day of eight centuries around the epoch reads back, and dates advance by one */
  int64_t py = 0;
  int pm = 0, pd = 0;
  for (int64_t days = -146097 * 2; days <= 146097 * 2; days++) {
    int64_t y;
    int m, d;
    vg_civil_from_days(days, &y, &m, &d);
    assert_true(m >= 1 && m <= 12 && d >= 1 && d <= vg_days_in_month(y, m));
    assert_int_equal(vg_days_from_civil(y, m, d), days);
    if (days > -146097 * 2)
      assert_true((y == py && m == pm && d == pd + 1) || (y == py && m == pm + 1 && d == 1) ||
                  (y == py + 1 && m == 1 && pm == 12 && d == 1));
    py = y, pm = m, pd = d;
  }
}

static void dates_strict(void **state) {
  int64_t days = 7;
  struct vg_time_error e;
  assert_int_equal(vg_date_parse("2024-02-29", &days, &e), 0);
  assert_int_equal(days, 19782);
  assert_int_equal(vg_date_parse("0000-01-01", &days, &e), 0);
  char buf[VG_DATE_LEN];
  assert_int_equal(vg_date_format(days, buf, sizeof buf), 10);
  assert_string_equal(buf, "0000-01-01");
  vg_date_format(19782, buf, sizeof buf);
  assert_string_equal(buf, "2024-02-29");
  vg_date_format(vg_days_from_civil(12345, 6, 7), buf, sizeof buf);
  assert_string_equal(buf, "12345-06-07");
  static const struct {
    const char *s;
    size_t col;
    const char *want;
  } bad[] = {
      {"2023-02-29", 9, "day 29 is not 01 to 28 in 2023-02"},
      {"1900-02-29", 9, "day 29 is not 01 to 28 in 1900-02"},
      {"2023-04-31", 9, "day 31 is not 01 to 30 in 2023-04"},
      {"2023-01-00", 9, "day 00 is not 01 to 31"},
      {"2023-13-01", 6, "month 13 is not 01 to 12"},
      {"2023-00-01", 6, "month 00"},
      {"2023-1-01", 7, "expected 2 digits of the month, got '-'"},
      {"23-01-01", 3, "expected 4 digits of the year, got '-'"},
      {"2023/01/01", 5, "expected '-' after the year, got '/'"},
      {"2023-01-01T00:00:00Z", 11, "expected the end of the date (YYYY-MM-DD), got 'T'"},
      {"2023-01-01 ", 11, "got ' '"},
      {"", 1, "expected 4 digits of the year, got the end"},
  };
  for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++) {
    days = 7;
    REFUSED(vg_date_parse(bad[i].s, &days, &e), bad[i].s, bad[i].col, bad[i].want);
    assert_int_equal(days, 7);
  }
}

static void rfc3339_parse(void **state) {
  static const struct {
    const char *s;
    int64_t ns;
  } ok[] = {
      {"1970-01-01T00:00:00Z", 0},
      {"1970-01-01", 0},
      {"2023-11-15T00:00:00Z", 1700006400 * NS},
      {"2023-11-15t00:00:00z", 1700006400 * NS},
      {"2023-11-15 00:00:00Z", 1700006400 * NS},
      {"2023-11-15", 1700006400 * NS},
      {"2023-11-15T01:30:00+01:30", 1700006400 * NS},
      {"2023-11-14T23:00:00-01:00", 1700006400 * NS},
      {"2023-11-15T00:00:00.5Z", 1700006400 * NS + 500000000},
      {"2023-11-15T00:00:00.000000001Z", 1700006400 * NS + 1},
      {"1969-12-31T23:59:59.999999999Z", -1},
      {"2024-02-29T23:59:59Z", 1709251199 * NS},
      {"1677-09-21T00:12:43.145224192Z", INT64_MIN},
      {"2262-04-11T23:47:16.854775807Z", INT64_MAX},
      {"2262-04-12T00:47:16.854775807+01:00", INT64_MAX},
  };
  for (size_t i = 0; i < VG_ARRAY_LEN(ok); i++) {
    int64_t ns = 7;
    struct vg_time_error e;
    if (vg_rfc3339_parse(ok[i].s, &ns, &e) < 0) print_error("'%s': %zu %s\n", ok[i].s, e.col, e.msg);
    assert_int_equal(vg_rfc3339_parse(ok[i].s, &ns, &e), 0);
    assert_int_equal(ns, ok[i].ns);
  }
  static const struct {
    const char *s;
    size_t col;
    const char *want;
  } bad[] = {
      {"2023-02-31", 9, "day 31 is not 01 to 28 in 2023-02"},
      {"2023-11-14T23:59:60Z", 18, "second 60: leap seconds cannot be represented"},
      {"2023-11-14T24:00:00Z", 12, "hour 24 is not 00 to 23"},
      {"2023-11-14T23:60:00Z", 15, "minute 60 is not 00 to 59"},
      {"2023-11-14T23:59:61Z", 18, "second 61 is not 00 to 59"},
      {"2023-11-14T23:59Z", 17, "expected ':' after the minute, got 'Z'"},
      {"2023-11-14T23:59:00", 20, "expected 'Z' or an offset such as +01:00 after the time, got the end"},
      {"2023-11-14T23:59:00+0100", 23, "expected ':' after the offset hour, got '0'"},
      {"2023-11-14T23:59:00+24:00", 21, "offset hour 24 is not 00 to 23"},
      {"2023-11-14T23:59:00+01:60", 24, "offset minute 60"},
      {"2023-11-14T23:59:00.Z", 21, "expected digits after '.', got 'Z'"},
      {"2023-11-14T23:59:00.1234567891Z", 30, "more than 9 fraction digits"},
      {"2023-11-14T23:59:00ZZ", 21, "expected the end of the time, got 'Z'"},
      {"2023-11-14X", 11, "expected 'T' and a time of day after the date, got 'X'"},
      {"2023-11-14T1:00:00Z", 13, "expected 2 digits of the hour, got ':'"},
      {"1677-09-21T00:12:43.145224191Z", 1, "out of range: times run from 1677-09-21T00:12:43.145224192Z"},
      {"2262-04-11T23:47:16.854775808Z", 1, "out of range"},
      {"9999-12-31", 1, "out of range"},
      {"0000-01-01", 1, "out of range"},
  };
  for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++) {
    int64_t ns = 7;
    struct vg_time_error e;
    REFUSED(vg_rfc3339_parse(bad[i].s, &ns, &e), bad[i].s, bad[i].col, bad[i].want);
    assert_int_equal(ns, 7);
  }
}

static void rfc3339_format(void **state) {
  static const struct {
    int64_t ns;
    int digits;
    const char *s;
  } v[] = {
      {0, VG_FRAC_AUTO, "1970-01-01T00:00:00Z"},
      {0, 3, "1970-01-01T00:00:00.000Z"},
      {1700006400 * NS + 500000000, VG_FRAC_AUTO, "2023-11-15T00:00:00.5Z"},
      {1700006400 * NS + 500000000, 0, "2023-11-15T00:00:00Z"},
      {1700006400 * NS + 123456789, 3, "2023-11-15T00:00:00.123Z"},
      {1700006400 * NS + 123456789, 6, "2023-11-15T00:00:00.123456Z"},
      {1700006400 * NS + 123456789, 9, "2023-11-15T00:00:00.123456789Z"},
      {1700006400 * NS + 1, VG_FRAC_AUTO, "2023-11-15T00:00:00.000000001Z"},
      {-1, VG_FRAC_AUTO, "1969-12-31T23:59:59.999999999Z"},
      {-1, 3, "1969-12-31T23:59:59.999Z"}, /* truncated towards the past */
      {-500000000, 0, "1969-12-31T23:59:59Z"},
      {1709164800 * NS, 0, "2024-02-29T00:00:00Z"},
      {INT64_MIN, VG_FRAC_AUTO, "1677-09-21T00:12:43.145224192Z"},
      {INT64_MAX, VG_FRAC_AUTO, "2262-04-11T23:47:16.854775807Z"},
  };
  for (size_t i = 0; i < VG_ARRAY_LEN(v); i++) {
    char buf[VG_TIME_LEN];
    assert_int_equal(vg_rfc3339_format(v[i].ns, v[i].digits, buf, sizeof buf), strlen(v[i].s));
    assert_string_equal(buf, v[i].s);
    int64_t back;
    assert_int_equal(vg_rfc3339_parse(buf, &back, NULL), 0);
    if (v[i].digits == VG_FRAC_AUTO) assert_int_equal(back, v[i].ns);
  }
}

static void query_times(void **state) {
  const int64_t now = 1700006400 * NS;
  static const struct {
    const char *s;
    int64_t ns;
  } ok[] = {
      {"now", 1700006400 * NS},
      {"now-15m", (1700006400 - 900) * NS},
      {"now+1w", (1700006400 + 7 * 86400) * NS},
      {"-1h", (1700006400 - 3600) * NS},
      {"+30s", (1700006430) * NS},
      {"-0", 1700006400 * NS},
      {"1700006400", 1700006400 * NS},
      {"1700006400.25", 1700006400 * NS + 250000000},
      {"0", 0},
      {"9223372036.854775807", INT64_MAX},
      {"2023-11-15", 1700006400 * NS},
      {"2023-11-15T00:00:00.5Z", 1700006400 * NS + 500000000},
  };
  for (size_t i = 0; i < VG_ARRAY_LEN(ok); i++) {
    int64_t ns = 7;
    struct vg_time_error e;
    if (vg_time_parse(ok[i].s, now, &ns, &e) < 0) print_error("'%s': %zu %s\n", ok[i].s, e.col, e.msg);
    assert_int_equal(vg_time_parse(ok[i].s, now, &ns, &e), 0);
    assert_int_equal(ns, ok[i].ns);
  }
  static const struct {
    const char *s;
    size_t col;
    const char *want;
  } bad[] = {
      {"", 1, "expected a time: RFC 3339"},
      {"yesterday", 1, "expected a time"},
      {"nowish", 4, "expected '-' or '+' and a duration after now, got 'i'"},
      {"now-", 5, "expected a duration"},
      {"now-1x", 6, "expected a unit"},
      {"-1.5h", 3, "expected a unit"},
      {"+106752d", 2, "too long: the total must fit in 64-bit nanoseconds"},
      {"+106751d", 1, "out of range"},
      {"1700006400.", 12, "expected digits after '.'"},
      {"1700006400.1234567891", 21, "more than 9 fraction digits"},
      {"1700006400x", 11, "expected epoch seconds"},
      {"9223372036.854775808", 1, "out of range"},
      {"99999999999999999999999", 1, "out of range"},
      {"2023-02-31", 9, "day 31"},
      {"2023-11-14T23:59:60Z", 18, "leap seconds"},
  };
  for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++) {
    int64_t ns = 7;
    struct vg_time_error e;
    REFUSED(vg_time_parse(bad[i].s, now, &ns, &e), bad[i].s, bad[i].col, bad[i].want);
    assert_int_equal(ns, 7);
  }
  int64_t ns;
  struct vg_time_error e;
  REFUSED(vg_time_parse("-1ns", INT64_MIN, &ns, &e), "-1ns", 1, "out of range");
  REFUSED(vg_time_parse("now+1ns", INT64_MAX, &ns, &e), "now+1ns", 1, "out of range");
}

static void clocks(void **state) {
  int64_t w = vg_wall_ns();
  assert_true(w > 1700000000 * NS);
  assert_true(vg_wall_coarse_ns() > w - NS);
  uint64_t a = vg_now_ns(), b = vg_now_ns();
  assert_true(b >= a);
  assert_true(vg_now_ms() >= a / 1000000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(durations_every_unit),
      cmocka_unit_test(durations_in_ms),
      cmocka_unit_test(durations_refused_with_column),
      cmocka_unit_test(durations_format_and_read_back),
      cmocka_unit_test(civil_dates_and_leap_years),
      cmocka_unit_test(dates_strict),
      cmocka_unit_test(rfc3339_parse),
      cmocka_unit_test(rfc3339_format),
      cmocka_unit_test(query_times),
      cmocka_unit_test(clocks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
