/*
 * schema.c — the Schema table (Schema.fbs) into struct arrow_field trees.
 *
 * Slots: Schema {endianness 0, fields 1, custom_metadata 2, features 3}; Field {name 0,
 * nullable 1, type_type 2, type 3, dictionary 4, children 5, custom_metadata 6};
 * DictionaryEncoding {id 0, indexType 1, isOrdered 2}; KeyValue {key 0, value 1}.
 * Allocation follows checked vectors only, and the total number of fields is capped by
 * the metadata's size (a real field takes more than 8 bytes of it), so a flatbuffer whose
 * children vectors point at each other cannot make us build an exponential tree.
 */
#include "arrow/arrow_int.h"

#include "core/core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_DEPTH 64

struct sctx {
  struct arrow_reader *r;
  struct fb *b;
  size_t base;
  uint32_t count, cap;
  uint32_t dict_n, dict_cap;
  struct arrow_err *err;
  char path[512];
};

static int meta_fail(struct sctx *c, const char *what) {
  const char *why = c->b->why ? c->b->why : "malformed";
  return arrow__fail(c->err, -EBADMSG, -1, (int64_t)(c->base + c->b->at), c->path[0] ? c->path : NULL,
                     "schema: %s: %s", what, why);
}

static int type_fail(struct sctx *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int type_fail(struct sctx *c, int code, const char *fmt, ...) {
  char m[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(m, sizeof m, fmt, ap);
  va_end(ap);
  return arrow__fail(c->err, code, -1, -1, c->path, "schema: %s", m);
}

static const char *const union_names[] = {
    "NONE", "Null", "Int", "FloatingPoint", "Binary", "Utf8", "Bool", "Decimal", "Date", "Time",
    "Timestamp", "Interval", "List", "Struct", "Union", "FixedSizeBinary", "FixedSizeList", "Map",
    "Duration", "LargeBinary", "LargeUtf8", "LargeList", "RunEndEncoded", "BinaryView",
    "Utf8View", "ListView", "LargeListView"};

static int int_type(struct sctx *c, struct fbt *t, enum arrow_type *out, const char *what) {
  int32_t bits;
  uint8_t sign;
  if (arrow__fb_i32(t, 0, 0, &bits) < 0 || arrow__fb_u8(t, 1, 0, &sign) < 0)
    return meta_fail(c, what);
  int k;
  switch (bits) {
  case 8: k = 0; break;
  case 16: k = 1; break;
  case 32: k = 2; break;
  case 64: k = 3; break;
  default: {
    char m[32];
    snprintf(m, sizeof m, "%d", (int)bits);
    return type_fail(c, -EBADMSG, "integer of %s bits", m);
  }
  }
  *out = (enum arrow_type)((sign ? ARROW_INT8 : ARROW_UINT8) + k);
  return 0;
}

static int parse_field(struct sctx *c, struct fbt *ft, struct arrow_field *f, int depth);

static int parse_type(struct sctx *c, struct fbt *ft, struct arrow_field *f, int depth) {
  uint8_t tt;
  if (arrow__fb_u8(ft, 2, 0, &tt) < 0) return meta_fail(c, "field type");
  struct fbt t;
  int has = arrow__fb_table(ft, 3, &t);
  if (has < 0) return meta_fail(c, "field type");
  int16_t unit = 0;
  int32_t i32 = 0;
  switch (tt) {
  case 1: f->type = ARROW_NULL; break;
  case 2:
    if (has) return type_fail(c, -EBADMSG, "%s type without its parameters", "Int");
    if (int_type(c, &t, &f->type, "Int type") < 0) return -1;
    break;
  case 3:
    if (has == 0 && arrow__fb_i16(&t, 0, 0, &unit) < 0) return meta_fail(c, "FloatingPoint type");
    if (unit < 0 || unit > 2) return type_fail(c, -EBADMSG, "%s: bad precision", "FloatingPoint");
    f->type = (enum arrow_type)(ARROW_FLOAT16 + unit);
    break;
  case 4: f->type = ARROW_BINARY; break;
  case 5: f->type = ARROW_UTF8; break;
  case 6: f->type = ARROW_BOOL; break;
  case 7: {
    int32_t p = 0, s = 0, bw = 128;
    if (has) return type_fail(c, -EBADMSG, "%s type without its parameters", "Decimal");
    if (arrow__fb_i32(&t, 0, 0, &p) < 0 || arrow__fb_i32(&t, 1, 0, &s) < 0 ||
        arrow__fb_i32(&t, 2, 128, &bw) < 0)
      return meta_fail(c, "Decimal type");
    if (bw != 128) return type_fail(c, -ENOTSUP, "unsupported type %s", bw == 256 ? "decimal256" : "decimal");
    if (p < 1 || p > 38 || s < -38 || s > 38) return type_fail(c, -EBADMSG, "%s: bad precision or scale", "decimal128");
    f->type = ARROW_DECIMAL128;
    f->precision = p;
    f->scale = s;
    f->width = 16;
    break;
  }
  case 8:
    unit = 1;
    if (has == 0 && arrow__fb_i16(&t, 0, 1, &unit) < 0) return meta_fail(c, "Date type");
    if (unit != 0 && unit != 1) return type_fail(c, -EBADMSG, "%s: bad unit", "Date");
    f->type = unit == 0 ? ARROW_DATE32 : ARROW_DATE64;
    break;
  case 9:
    unit = 1;
    i32 = 32;
    if (has == 0 && (arrow__fb_i16(&t, 0, 1, &unit) < 0 || arrow__fb_i32(&t, 1, 32, &i32) < 0))
      return meta_fail(c, "Time type");
    if (!((i32 == 32 && (unit == 0 || unit == 1)) || (i32 == 64 && (unit == 2 || unit == 3))))
      return type_fail(c, -EBADMSG, "%s: unit and bit width disagree", "Time");
    f->type = i32 == 32 ? ARROW_TIME32 : ARROW_TIME64;
    f->unit = (enum arrow_unit)unit;
    break;
  case 10: {
    uint32_t len;
    if (has) return type_fail(c, -EBADMSG, "%s type without its parameters", "Timestamp");
    if (arrow__fb_i16(&t, 0, 0, &unit) < 0 || arrow__fb_string(&t, 1, &f->timezone, &len) < 0)
      return meta_fail(c, "Timestamp type");
    if (unit < 0 || unit > 3) return type_fail(c, -EBADMSG, "%s: bad unit", "Timestamp");
    f->type = ARROW_TIMESTAMP;
    f->unit = (enum arrow_unit)unit;
    break;
  }
  case 12: f->type = ARROW_LIST; break;
  case 13: f->type = ARROW_STRUCT; break;
  case 15:
    if (has || arrow__fb_i32(&t, 0, 0, &i32) < 0) return meta_fail(c, "FixedSizeBinary type");
    if (i32 < 1) return type_fail(c, -EBADMSG, "%s: byte width below 1", "FixedSizeBinary");
    f->type = ARROW_FIXED_BINARY;
    f->width = i32;
    break;
  case 16:
    if (has || arrow__fb_i32(&t, 0, 0, &i32) < 0) return meta_fail(c, "FixedSizeList type");
    if (i32 < 0) return type_fail(c, -EBADMSG, "%s: negative list size", "FixedSizeList");
    f->type = ARROW_FIXED_LIST;
    f->width = i32;
    break;
  case 18:
    unit = 1;
    if (has == 0 && arrow__fb_i16(&t, 0, 1, &unit) < 0) return meta_fail(c, "Duration type");
    if (unit < 0 || unit > 3) return type_fail(c, -EBADMSG, "%s: bad unit", "Duration");
    f->type = ARROW_DURATION;
    f->unit = (enum arrow_unit)unit;
    break;
  case 19: f->type = ARROW_LARGE_BINARY; break;
  case 20: f->type = ARROW_LARGE_UTF8; break;
  case 21: f->type = ARROW_LARGE_LIST; break;
  default:
    if (tt < sizeof union_names / sizeof *union_names && tt != 0)
      return type_fail(c, -ENOTSUP, "unsupported type %s", union_names[tt]);
    return type_fail(c, -EBADMSG, "%s type id", tt == 0 ? "missing" : "unknown");
  }

  /* children */
  size_t vpos;
  uint32_t n;
  if (arrow__fb_vector(ft, 5, 4, &vpos, &n) < 0) return meta_fail(c, "field children");
  bool nested = f->type == ARROW_LIST || f->type == ARROW_LARGE_LIST || f->type == ARROW_FIXED_LIST ||
                f->type == ARROW_STRUCT;
  if (!nested && n) return type_fail(c, -EBADMSG, "%s with children", arrow_type_name(f->type));
  if (nested && f->type != ARROW_STRUCT && n != 1)
    return type_fail(c, -EBADMSG, "%s without exactly one child", arrow_type_name(f->type));
  if (n == 0) return 0;
  if (depth + 1 > MAX_DEPTH) return type_fail(c, -EBADMSG, "nested deeper than %s levels", "64");
  if (n > c->cap - c->count) return type_fail(c, -EBADMSG, "%s", "more fields than the metadata can hold");
  struct arrow_field *kids = arrow__own_alloc(&c->r->schema_own, (size_t)n * sizeof *kids);
  memset(kids, 0, (size_t)n * sizeof *kids);
  f->children = kids;
  f->n_children = n;
  size_t plen = strlen(c->path);
  for (uint32_t k = 0; k < n; k++) {
    struct fbt kt;
    if (arrow__fb_vec_table(c->b, vpos, k, &kt) < 0) return meta_fail(c, "child field");
    if (parse_field(c, &kt, &kids[k], depth + 1) < 0) return -1;
    c->path[plen] = 0;
  }
  return 0;
}

static int parse_field(struct sctx *c, struct fbt *ft, struct arrow_field *f, int depth) {
  if (c->count >= c->cap) return type_fail(c, -EBADMSG, "%s", "more fields than the metadata can hold");
  c->count++;
  uint32_t len;
  uint8_t nullable;
  if (arrow__fb_string(ft, 0, &f->name, &len) < 0 || arrow__fb_u8(ft, 1, 0, &nullable) < 0)
    return meta_fail(c, "field");
  if (!f->name) f->name = "";
  f->nullable = nullable != 0;
  size_t plen = strlen(c->path);
  snprintf(c->path + plen, sizeof c->path - plen, "%s%s", plen ? "." : "", f->name);
  if (parse_type(c, ft, f, depth) < 0) return -1;

  struct fbt d;
  int has = arrow__fb_table(ft, 4, &d);
  if (has < 0) return meta_fail(c, "dictionary encoding");
  if (has == 0) {
    struct fbt it;
    uint8_t ordered;
    int hi = arrow__fb_table(&d, 1, &it);
    if (arrow__fb_i64(&d, 0, 0, &f->dict_id) < 0 || hi < 0 || arrow__fb_u8(&d, 2, 0, &ordered) < 0)
      return meta_fail(c, "dictionary encoding");
    f->dictionary = true;
    f->dict_ordered = ordered != 0;
    if (hi == 1)
      f->index_type = ARROW_INT32; /* the format's default index type */
    else if (int_type(c, &it, &f->index_type, "dictionary index type") < 0)
      return -1;
    for (uint32_t k = 0; k < c->dict_n; k++)
      if (c->r->dicts[k].id == f->dict_id)
        return type_fail(c, -ENOTSUP, "%s", "two fields share one dictionary id");
    if (c->dict_n == c->dict_cap) { /* at most one per field, and fields are capped */
      c->dict_cap = c->dict_cap ? 2 * c->dict_cap : 4;
      c->r->dicts = vg_realloc(c->r->dicts, (size_t)c->dict_cap * sizeof *c->r->dicts);
    }
    struct arrow__dict *dd = &c->r->dicts[c->dict_n++];
    memset(dd, 0, sizeof *dd);
    dd->id = f->dict_id;
    dd->field = f;
  }
  c->path[plen] = 0;
  return 0;
}

int arrow__parse_schema(struct arrow_reader *r, struct fbt *st, size_t base, struct arrow_err *err) {
  struct sctx c = {.r = r, .b = st->b, .base = base, .err = err};
  int16_t endian;
  if (arrow__fb_i16(st, 0, 0, &endian) < 0) return meta_fail(&c, "endianness");
  if (endian != 0) return arrow__fail(err, -ENOTSUP, -1, -1, NULL, "schema: big-endian data is not supported");
  size_t vpos;
  uint32_t n;
  if (arrow__fb_vector(st, 1, 4, &vpos, &n) < 0) return meta_fail(&c, "fields");
  c.cap = (uint32_t)(st->b->n / 8 + 1);
  if (n > c.cap) return arrow__fail(err, -EBADMSG, -1, -1, NULL, "schema: more fields than the metadata can hold");
  r->fields = arrow__own_alloc(&r->schema_own, (size_t)(n ? n : 1) * sizeof *r->fields);
  memset(r->fields, 0, (size_t)(n ? n : 1) * sizeof *r->fields);
  for (uint32_t k = 0; k < n; k++) {
    struct fbt ft;
    if (arrow__fb_vec_table(st->b, vpos, k, &ft) < 0) return meta_fail(&c, "field");
    c.path[0] = 0;
    if (parse_field(&c, &ft, &r->fields[k], 1) < 0) return err->code;
  }
  r->schema.fields = r->fields;
  r->schema.n_fields = n;
  r->n_total_fields = c.count;
  r->n_dicts = c.dict_n;

  /* custom metadata */
  c.path[0] = 0;
  if (arrow__fb_vector(st, 2, 4, &vpos, &n) < 0) return meta_fail(&c, "custom metadata");
  r->kv = arrow__own_alloc(&r->schema_own, (size_t)(2 * n + 1) * sizeof *r->kv);
  r->n_kv = 0;
  for (uint32_t k = 0; k < n; k++) {
    struct fbt kv;
    const char *key, *val;
    uint32_t kl, vl;
    if (arrow__fb_vec_table(st->b, vpos, k, &kv) < 0 || arrow__fb_string(&kv, 0, &key, &kl) < 0 ||
        arrow__fb_string(&kv, 1, &val, &vl) < 0)
      return meta_fail(&c, "custom metadata");
    if (!key) continue;
    r->kv[2 * r->n_kv] = key;
    r->kv[2 * r->n_kv + 1] = val ? val : "";
    r->n_kv++;
  }
  return 0;
}

void arrow__arrays_init(struct arrow_array *a, const struct arrow_field *f) {
  memset(a, 0, sizeof *a);
  a->field = f;
  if (f->n_children) {
    a->children = vg_calloc(f->n_children, sizeof *a->children);
    a->n_children = f->n_children;
    for (uint32_t k = 0; k < f->n_children; k++) arrow__arrays_init(&a->children[k], &f->children[k]);
  }
}

void arrow__arrays_free(struct arrow_array *a) {
  for (uint32_t k = 0; k < a->n_children; k++) arrow__arrays_free(&a->children[k]);
  free(a->children);
  a->children = NULL;
  a->n_children = 0;
}
