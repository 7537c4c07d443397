/* Private to the export module: the dashboard's panel table and YAML helpers. */
#ifndef VIGIL_EXPORT_INT_H
#define VIGIL_EXPORT_INT_H

#include "core/core.h"
#include "export/export.h"

/* How a panel shows its values, beyond its type and unit. */
enum ex__look {
  EX__LOOK_PLAIN,
  EX__LOOK_READY,       /* 0/1 mapped to "not ready"/"ready", red/green */
  EX__LOOK_UP,          /* 0/1 mapped to "down"/"up", red/green */
  EX__LOOK_RATIO,       /* 0..1 with red below 1, green at 1 */
  EX__LOOK_NAME,        /* a stat that shows the series name (legend), e.g. a version */
  EX__LOOK_STATE_CODE,  /* a state timeline of codes 0..6, see ex__states */
  EX__LOOK_STATE_TABLE, /* an instant table of (service, state) */
};

struct ex__query {
  const char *expr;
  const char *legend; /* Grafana legend format; NULL: automatic */
};

enum { EX__MAX_QUERIES = 4 };

/* One panel of the dashboard. A "row" entry starts a new row titled title. Panels are
 * laid out left to right in table order, wrapping at Grafana's 24 columns. */
struct ex__panel {
  const char *type;  /* row, stat, timeseries, table, state-timeline */
  const char *title;
  const char *unit;  /* a Grafana unit id; NULL: none */
  int w, h;          /* grid columns (of 24) and rows */
  enum ex__look look;
  const char *description;
  struct ex__query q[EX__MAX_QUERIES]; /* ends at the first NULL expr */
};

extern const struct ex__panel ex__panels[];
extern const size_t ex__n_panels;

/* The service states in the order of their codes in the state timeline, with the
 * colour each is drawn in. */
struct ex__state {
  const char *name;
  const char *color;
};
extern const struct ex__state ex__states[];
extern const size_t ex__n_states;

/* Appends s as a single-quoted YAML scalar ('' for '). s holds no control characters. */
void ex__yaml_quote(struct vg_buf *b, const char *s);

#endif
