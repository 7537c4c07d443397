/* store_api — the store's HTTP routes (store_api.c); also called in-process by the CLI. */
#ifndef VIGIL_HTTP_STORE_API_H
#define VIGIL_HTTP_STORE_API_H

#include "http/http.h"
#include "tsdb/tsdb.h"

/* Serves req when it is a store route (returns 1), else returns 0 and leaves resp alone.
 * db NULL: the store is disabled (503). body holds req->content_length bytes. */
int store_api_handle(struct tsdb *db, const struct http_request *req, const char *body,
                     struct http_response *resp);

/* Splits "measurement[,tag=value...]" (backslash escapes ',', '=' and '\\') into buf.
 * 0, or -1 when malformed, too long or with more than max_tags tags. */
int store_parse_selector(const char *s, char *buf, size_t buflen, const char **measurement,
                         struct tsdb_tag *tags, size_t max_tags, size_t *n_tags);

#endif
