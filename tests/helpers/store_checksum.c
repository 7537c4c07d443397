/*
 * store_checksum: reads a /api/v1/query JSON answer (raw points) on stdin and prints
 *
 *   values=N points=N checksum=0x...
 *
 * where checksum is the sum of ingest_value_checksum over every value of every series
 * (docs/ingest.md): the number vigil-feed prints for what it sent, recomputed from what
 * the store holds. points counts distinct (series key, time) pairs, i.e. the points the
 * lines were, whatever their number of fields. For tests/integration/test_feeds.py.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"

int main(void) {
  json_error_t je;
  json_t *root = json_loadf(stdin, 0, &je);
  if (!root) {
    fprintf(stderr, "store_checksum: bad JSON: %s\n", je.text);
    return 1;
  }
  json_t *series = json_object_get(root, "series");
  uint64_t sum = 0, values = 0, first_field_points = 0;
  const char *first_field = NULL;
  for (size_t i = 0; i < json_array_size(series); i++) {
    json_t *s = json_array_get(series, i);
    const char *m = json_string_value(json_object_get(s, "measurement"));
    const char *field = json_string_value(json_object_get(s, "field"));
    const char *type = json_string_value(json_object_get(s, "type"));
    json_t *jt = json_object_get(s, "tags");
    struct tsdb_tag tags[INGEST_MAX_TAGS];
    size_t nt = 0;
    const char *k;
    json_t *v;
    json_object_foreach(jt, k, v) {
      if (nt == INGEST_MAX_TAGS) break;
      tags[nt].key = (struct tsdb_str){k, strlen(k)};
      tags[nt].value = (struct tsdb_str){json_string_value(v), strlen(json_string_value(v))};
      nt++;
    }
    /* sorted by key, as the store and the checksum want them */
    for (size_t a = 1; a < nt; a++)
      for (size_t b = a; b > 0 && strcmp(tags[b - 1].key.p, tags[b].key.p) > 0; b--) {
        struct tsdb_tag t = tags[b];
        tags[b] = tags[b - 1];
        tags[b - 1] = t;
      }
    if (!first_field) first_field = field;
    json_t *pts = json_object_get(s, "points");
    for (size_t p = 0; p < json_array_size(pts); p++) {
      json_t *pt = json_array_get(pts, p), *jv = json_array_get(pt, 1);
      struct tsdb_value val = {0};
      /* the names are tsdb_type_name's */
      if (strcmp(type, "float") == 0) val.type = TSDB_FLOAT, val.v.f = json_number_value(jv);
      else if (strcmp(type, "integer") == 0) val.type = TSDB_INT, val.v.i = json_integer_value(jv);
      else if (strcmp(type, "unsigned") == 0) val.type = TSDB_UINT, val.v.u = (uint64_t)json_integer_value(jv);
      else if (strcmp(type, "boolean") == 0) val.type = TSDB_BOOL, val.v.b = json_is_true(jv);
      else {
        val.type = TSDB_STRING;
        val.v.s = (struct tsdb_str){json_string_value(jv), json_string_length(jv)};
      }
      sum += ingest_value_checksum(m, strlen(m), tags, nt, field, strlen(field),
                                   json_integer_value(json_array_get(pt, 0)), &val);
      values++;
      if (strcmp(field, first_field) == 0) first_field_points++;
    }
  }
  printf("values=%" PRIu64 " points=%" PRIu64 " checksum=0x%016" PRIx64 "\n", values, first_field_points, sum);
  json_decref(root);
  return 0;
}
