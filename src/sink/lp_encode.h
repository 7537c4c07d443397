/*
 * lp_encode — store points back into InfluxDB line protocol: the InfluxDB sink's
 * encoder (sink_influx_write_points), public for its tests. Every point gets its explicit
 * nanosecond timestamp, so a retried write lands on the same point (InfluxDB replaces a
 * point with the same series and time): that is what makes forwarding exactly-once.
 */
#ifndef VIGIL_SINK_LP_ENCODE_H
#define VIGIL_SINK_LP_ENCODE_H

#include "core/core.h"
#include "tsdb/tsdb.h"

/* Appends one line per point ("\n"-terminated). Escapes as the protocol wants: ',' and
 * ' ' in measurements; ',', '=' and ' ' in tag and field keys and tag values; '"' and
 * '\\' in string values. Floats print as the shortest decimal that reads back exactly;
 * NaN and infinities, which line protocol cannot carry, are left out of their point (a
 * point left with no field is skipped). Returns the number of lines written. */
size_t sink_lp_encode(struct vg_buf *out, const struct tsdb_point *pts, size_t n);

#endif
