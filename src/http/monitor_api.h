/*
 * The monitor's routes (monitor_api.c; docs/api.md, docs/monitor.md):
 *   GET /api/v1/health[?evaluate=1]   the health, its reasons, counts and past evaluations
 *   GET /api/v1/alerts[?all=1&severity=S]
 */
#ifndef VIGIL_MONITOR_API_H
#define VIGIL_MONITOR_API_H

#include "http/http.h"

struct mon;

/* Serves req (one of the monitor's paths): resp filled, or a job started for an
 * evaluation on demand. m NULL: 404 (no monitor section). */
void monitor_api_handle(struct mon *m, const struct http_request *req, struct http_response *resp);

#endif
