/*
 * The latest-value cache's routes (cache_api.c; docs/api.md).
 */
#ifndef VIGIL_CACHE_API_H
#define VIGIL_CACHE_API_H

#include <stdint.h>

#include "core/core.h"
#include "http/http.h"

struct cache;
struct cache_entry;

/* Serves req when its path is the cache's (/api/v1/cache…): returns 1 with resp filled
 * (or a job started), else 0. c NULL: 503. */
int cache_api_handle(struct cache *c, const struct http_request *req, struct http_response *resp);
/* One entry as the API shows it: key, type, value (non-finite floats as "NaN", "+Inf",
 * "-Inf"), time, received, age_s (against now, ns), source, updates. */
void cache_api_entry_json(const struct cache_entry *e, int64_t now, struct vg_buf *b);

#endif
