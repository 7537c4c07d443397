/*
 * core — the small things every vigil module uses: allocation (abort on OOM),
 * assertions that are never compiled out, structured logging (logfmt or JSON),
 * clocks, a growable byte buffer and string helpers.
 *
 * core includes no other vigil module.
 */
#ifndef VIGIL_CORE_H
#define VIGIL_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- allocation: vigil's out-of-memory policy is to abort with a message ---- */
void *vg_malloc(size_t n);
/* Keeps large buffers (query results, decoded chunks) in the heap instead of fresh
 * mmaps: every first touch of a fresh page is a page fault, and on virtual machines a
 * store query of a million points spent 90% of its time in them. Call once at start. */
void vg_malloc_tune(void);
void *vg_calloc(size_t count, size_t size);
void *vg_realloc(void *p, size_t n);
char *vg_strdup(const char *s);
char *vg_strndup(const char *s, size_t n);
/* printf into a freshly allocated string. */
char *vg_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Frees *p and clears it. */
void vg_freep(void *pp);

/* ---- assertions that stay in release builds ---- */
_Noreturn void vg__assert_fail(const char *expr, const char *file, int line);
#define VG_ASSERT(e) ((e) ? (void)0 : vg__assert_fail(#e, __FILE__, __LINE__))

#define VG_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- logging ---- */
enum vg_log_level { VG_LOG_DEBUG, VG_LOG_INFO, VG_LOG_WARN, VG_LOG_ERROR };
enum vg_log_format { VG_LOG_LOGFMT, VG_LOG_JSON };

enum vg_field_type { VG_F_END, VG_F_STR, VG_F_INT, VG_F_DBL };
struct vg_field {
  const char *key;
  enum vg_field_type type;
  union {
    const char *s;
    long long i;
    double d;
  } v;
};
#define VF_S(k, x) ((struct vg_field){.key = (k), .type = VG_F_STR, .v.s = (x)})
#define VF_I(k, x) ((struct vg_field){.key = (k), .type = VG_F_INT, .v.i = (long long)(x)})
#define VF_D(k, x) ((struct vg_field){.key = (k), .type = VG_F_DBL, .v.d = (double)(x)})
#define VF_END ((struct vg_field){.key = NULL, .type = VG_F_END})

void vg_log_setup(enum vg_log_format fmt, enum vg_log_level min_level);
enum vg_log_format vg_log_get_format(void);
/* Parses "logfmt"/"json"; returns 0 or -1. */
int vg_log_parse_format(const char *s, enum vg_log_format *out);
int vg_log_parse_level(const char *s, enum vg_log_level *out);
/* Optional tap that sees every formatted line (without newline), e.g. for tests. */
typedef void (*vg_log_tap_fn)(const char *line, size_t len, void *arg);
void vg_log_set_tap(vg_log_tap_fn fn, void *arg);

/* Writes one record: msg then the fields, terminated by VF_END. */
void vg_log(enum vg_log_level level, const char *msg, ...);
#define VG_DEBUG(...) vg_log(VG_LOG_DEBUG, __VA_ARGS__, VF_END)
#define VG_INFO(...) vg_log(VG_LOG_INFO, __VA_ARGS__, VF_END)
#define VG_WARN(...) vg_log(VG_LOG_WARN, __VA_ARGS__, VF_END)
#define VG_ERROR(...) vg_log(VG_LOG_ERROR, __VA_ARGS__, VF_END)

/* ---- time: clocks, durations, dates, RFC 3339 ---- */
#include "core/vtime.h"

/* ---- growable byte buffer, always NUL-terminated ---- */
struct vg_buf {
  char *data;
  size_t len;
  size_t cap;
};
void vg_buf_init(struct vg_buf *b);
void vg_buf_free(struct vg_buf *b);
void vg_buf_reset(struct vg_buf *b);
void vg_buf_reserve(struct vg_buf *b, size_t extra);
void vg_buf_append(struct vg_buf *b, const void *p, size_t n);
void vg_buf_puts(struct vg_buf *b, const char *s);
void vg_buf_putc(struct vg_buf *b, char c);
void vg_buf_printf(struct vg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vg_buf_vprintf(struct vg_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Appends s quoted as a JSON string (with the quotes). */
void vg_buf_json_str(struct vg_buf *b, const char *s);
/* The shortest decimal (%.15g to %.17g) that reads back as exactly v; v finite. */
void vg_buf_double(struct vg_buf *b, double v);

/* s[0..n) as a double when it is a plain decimal ([-]digits[.digits]) that one exact
 * division converts (up to 19 significant digits, value <= 2^53, <= 22 decimals): the
 * same double as strtod, several times faster. false: use strtod. */
bool vg_decimal_fast(const char *s, size_t n, double *out);
/* Removes the first n bytes. */
void vg_buf_consume(struct vg_buf *b, size_t n);

/* ---- strings ---- */
/* Levenshtein distance, capped: returns cap+1 when larger than cap. */
size_t vg_edit_distance(const char *a, const char *b, size_t cap);
/* NULL-terminated string vector helpers. */
char **vg_strv_dup(char *const *v);
size_t vg_strv_len(char *const *v);
void vg_strv_free(char **v);
bool vg_strv_contains(char *const *v, const char *s);

/* The git commit vigil was built from ("unknown" outside a checkout). */
const char *vg_commit(void);

/* Creates dir and its parents with mode; 0 or -errno. */
int vg_mkdir_p(const char *path, unsigned mode);

#endif
