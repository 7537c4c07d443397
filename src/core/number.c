/* number — the exact fast path for decimal numbers as feeds send them (Clinger 1990):
 * "[-]digits[.digits]" with at most 19 significant digits whose value m is at most 2^53
 * and at most 22 fraction digits is m / 10^k, and since both m and 10^k are exact
 * doubles, one IEEE division rounds it correctly — the same double strtod gives. */
#include "core/core.h"

static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

bool vg_decimal_fast(const char *s, size_t n, double *out) {
  size_t i = 0;
  bool neg = n > 0 && s[0] == '-';
  if (neg) i++;
  uint64_t m = 0;
  size_t digits = 0, frac = 0;
  bool dot = false;
  for (; i < n; i++) {
    char c = s[i];
    if (c == '.' && !dot) {
      dot = true;
      continue;
    }
    if (c < '0' || c > '9') return false; /* exponents, signs, junk: strtod decides */
    if (m == 0 && c == '0') { /* leading zeros are not significant */
      if (dot) frac++;
      continue;
    }
    if (++digits > 19) return false;
    m = m * 10 + (uint64_t)(c - '0');
    if (dot) frac++;
  }
  size_t int_or_frac = n - (neg ? 1u : 0u) - (dot ? 1u : 0u);
  if (int_or_frac == 0) return false; /* "", "-", ".", "-." */
  if (m > ((uint64_t)1 << 53) || frac > 22) return false;
  double v = (double)m / pow10_exact[frac];
  *out = neg ? -v : v;
  return true;
}
