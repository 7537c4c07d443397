/* store_api — the store's HTTP routes (store_api.c): argument parsing and rendering
 * around the store's functions; the renderers and the query's argument parser are also
 * the CLI's, which calls the store itself when no daemon runs. */
#ifndef VIGIL_HTTP_STORE_API_H
#define VIGIL_HTTP_STORE_API_H

#include <stdint.h>

#include "http/http.h"
#include "tsdb/tsdb.h"

/* Serves req when it is a store route (returns 1), else returns 0 and leaves resp alone.
 * db NULL: the store is disabled (503). ingest: where /write and import go after the
 * store (the daemon's sinks and latest-value hook; copied), or NULL for the store
 * alone. body holds req->content_length bytes. When
 * resp->defer_loop is set the route runs on that loop's thread pool: resp->job is set
 * and the answer goes to resp->defer_done (see http_job_submit); else it runs here. */
struct ingest_target;
int store_api_handle(struct tsdb *db, const struct ingest_target *ingest,
                     const struct http_request *req, const char *body, struct http_response *resp);

/* Writes line protocol through the ingest pipeline t (the store, then t's sinks and
 * hook; len bytes of body; line first_line of the caller's file first)
 * at precision ns, us, ms or s, and answers as POST /api/v1/store/import does (influx:
 * as /write does): {"lines", "points", "rejected_lines", "refused_values", "errors"}. */
void store_import(const struct ingest_target *t, const char *precision, size_t first_line,
                  const char *body, size_t len, bool influx, struct http_response *resp);

/* Splits "measurement[,tag=value...]" (backslash escapes ',', '=' and '\\') into buf.
 * 0, or -1 when malformed, too long or with more than max_tags tags. */
int store_parse_selector(const char *s, char *buf, size_t buflen, const char **measurement,
                         struct tsdb_tag *tags, size_t max_tags, size_t *n_tags);

/* ---- a query's arguments, as the route's query string and `vigil query` give them ---- */
struct store_query_args { /* text; NULL (or "") for the default */
  const char *q;          /* the selector (required) */
  const char *field;
  const char *from, *to;  /* default -1h, now */
  const char *every, *agg, *limit;
  bool last;              /* the last values: no range check (from may equal to) */
};
struct store_query {
  struct tsdb_query q;    /* points into the rest of this struct */
  char buf[512];
  char field[256];
  struct tsdb_tag tags[32];
};
/* Validates a and fills out. 0, or -1 with the message of the 400 answer in err. */
int store_query_parse(const struct store_query_args *a, struct store_query *out, char *err,
                      size_t errlen);

/* ---- rendering, the same for the routes and the CLI ---- */
enum store_format { STORE_JSON, STORE_CSV, STORE_TABLE };
int store_format_parse(const char *s, enum store_format *f); /* 0 or -1 */
const char *store_format_content_type(enum store_format f);
/* A query's result: JSON (with elapsed_us), CSV (series,field,time,value) or a table. */
void store_render_result(const struct tsdb_result *r, enum store_format f, uint64_t elapsed_ns,
                         struct vg_buf *out);
/* Statistics: JSON, or a table (STORE_TABLE; there is no CSV form). */
void store_render_stats(const struct tsdb_stats *st, enum store_format f, struct vg_buf *out);
void store_render_compact(uint64_t elapsed_ns, struct vg_buf *out);
void store_render_retention(int dropped_blocks, struct vg_buf *out);
/* {"fingerprint": "32 hex digits", "points": N} */
void store_render_fingerprint(const uint8_t fp[16], size_t points, struct vg_buf *out);

#endif
