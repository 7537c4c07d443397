/*
 * config internals shared by the files of src/config/ (not part of the contract).
 *
 * The loader runs in three steps: yaml.c turns the text into a small tree of
 * cfg__node (every node knows its 1-based position); load.c, service.c and the
 * section files (ready.c, restart.c, stop.c, log.c, limits.c) walk that tree with
 * the typed readers of value.c, which report every problem into the diagnostics;
 * graph.c then checks depends_on across services and fingerprint.c hashes each one.
 */
#ifndef VIGIL_CONFIG_INT_H
#define VIGIL_CONFIG_INT_H

#include "config/config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the YAML tree (yaml.c) ---- */

/* Mappings and sequences nest at most this deep: a vigil config needs about six
 * levels; deeper is refused at once rather than parsed (and walked) level by level. */
#define CFG__MAX_DEPTH 64

enum cfg__type { CFG__NULL, CFG__SCALAR, CFG__SEQ, CFG__MAP };

struct cfg__pair;

struct cfg__node {
  enum cfg__type type;
  struct cfg_pos pos;
  bool plain_line;         /* single-line plain scalar: pos + byte offset is exact */
  char *text;              /* scalar: the value, NUL-terminated (may hold NULs) */
  size_t len;              /* scalar: bytes in text */
  struct cfg__node **items;/* sequence items */
  struct cfg__pair *pairs; /* mapping pairs, in file order */
  size_t n, cap;           /* items or pairs */
  struct cfg__node *next;  /* every node of a document, for freeing */
};

struct cfg__pair {
  struct cfg__node *key, *value;
  bool duplicate; /* the key repeats an earlier one (already reported) */
};

struct cfg__doc {
  struct cfg__node *root; /* NULL when the stream holds no document */
  struct cfg__node *all;  /* owner list of every node */
};

/* Parses text into doc. YAML syntax errors and the structural problems found while
 * building (duplicate keys, unknown aliases, a second document, bad bytes) go into
 * diags. Returns 0, or -1 when the text could not be turned into a tree (doc is then
 * empty). Either way the caller frees doc with cfg__yaml_free. */
int cfg__yaml_parse(const char *text, size_t len, struct cfg_diags *diags,
                    struct cfg__doc *doc);
void cfg__yaml_free(struct cfg__doc *doc);

/* ---- typed readers (value.c): each reports its own problem and returns false ---- */

struct cfg__ctx {
  struct cfg_diags *diags;
};

/* "a mapping", "a list", "null" or the quoted scalar, for "expected X, got Y". */
const char *cfg__describe(const struct cfg__node *n, char *buf, size_t len);
void cfg__expected(struct cfg__ctx *c, const struct cfg__node *n, const char *what);

/* The closest of words[0..n) to word under the did-you-mean rule, or NULL. */
const char *cfg__suggest(const char *word, const char *const *words, size_t n);

/* Checks that n is a mapping whose keys are all in keys[0..nkeys); fills out[i] with
 * the pair of key i (NULL when absent). Unknown keys are reported with a suggestion.
 * Returns false (after reporting) when n is not a mapping. */
bool cfg__fields(struct cfg__ctx *c, const struct cfg__node *n, const char *const *keys,
                 size_t nkeys, const struct cfg__pair **out);

/* Scalar readers: env expansion first, then interpretation. Results are owned by
 * the caller (cfg__string, cfg__strv). */
char *cfg__string(struct cfg__ctx *c, const struct cfg__node *n);
char **cfg__strv(struct cfg__ctx *c, const struct cfg__node *n, const char *what);
bool cfg__bool(struct cfg__ctx *c, const struct cfg__node *n, bool *out);
bool cfg__int(struct cfg__ctx *c, const struct cfg__node *n, const char *what,
              long long min, long long max, long long *out);
bool cfg__duration(struct cfg__ctx *c, const struct cfg__node *n, int64_t *ms);
bool cfg__size(struct cfg__ctx *c, const struct cfg__node *n, int64_t *bytes);
bool cfg__number(struct cfg__ctx *c, const struct cfg__node *n, const char *what,
                 double min, double max, double *out);

/* The key of entry p of a mapping of named things (services, feeds, calculations; what
 * names them in messages). false when the key is not a scalar (reported). A name that
 * is not 1-64 letters, digits, '_', '-' (and '.' when dots) starting with a letter or
 * digit is reported, and true is still returned so the entry's body gets checked. */
bool cfg__entry_name(struct cfg__ctx *c, const struct cfg__pair *p, const char *what, bool dots);
bool cfg__valid_name(const char *s, bool dots);

/* ---- pure scalar parsers (scalar.c) ---- */

/* Decimal integer with an optional '-'; 0, or -1 when malformed or beyond long long. */
int cfg__parse_int(const char *s, long long *out);
/* Bytes with an optional unit B, KB, MB, GB, KiB, MiB, GiB; 0 or -1. */
int cfg__parse_size(const char *s, int64_t *bytes);
/* Plain decimal number ("0.25", "1"); 0 or -1. */
int cfg__parse_number(const char *s, double *out);
/* Formats ms as a duration cfg_parse_duration accepts ("1h30m", "250ms", "0"). */
void cfg__format_duration(int64_t ms, char *buf, size_t len);

/* ---- sections of a service ---- */

void cfg__service_defaults(struct cfg_service *s);
void cfg__http_defaults(struct cfg_http *h);
/* dir is the config's directory, for a relative token_file. */
void cfg__http_parse(struct cfg__ctx *c, struct cfg_http *h, const struct cfg__node *n,
                     const char *dir);
void cfg__http_free(struct cfg_http *h);
void cfg__store_defaults(struct cfg_store *s, const char *state_dir);
void cfg__store_parse(struct cfg__ctx *c, struct cfg_store *s, const struct cfg__node *n,
                      const char *state_dir);
void cfg__store_free(struct cfg_store *s);
/* The `cache` section (cache.c). */
void cfg__cache_defaults(struct cfg_cache *s);
void cfg__cache_parse(struct cfg__ctx *c, struct cfg_cache *s, const struct cfg__node *n);
void cfg__cache_free(struct cfg_cache *s);
/* dir/rel (or rel alone when absolute) with "", "." and ".." segments resolved
 * lexically; the result is absolute and has no trailing slash. */
char *cfg__join_path(const char *dir, const char *rel);
/* The `sinks` section (sinks.c); dir as for cfg__http_parse. */
void cfg__sinks_defaults(struct cfg_sinks *s);
void cfg__sinks_parse(struct cfg__ctx *c, struct cfg_sinks *s, const struct cfg__node *n,
                      const char *dir);
void cfg__sinks_free(struct cfg_sinks *s);
void cfg__service_parse(struct cfg__ctx *c, struct cfg_service *s, const struct cfg__node *n);
void cfg__service_free(struct cfg_service *s);

#define CFG__URL_HTTPS 1u    /* https:// is accepted too */
#define CFG__URL_NO_QUERY 2u /* no '?' or '#' (the URL gets paths appended) */
/* Checks a URL-valued key (url.c): http:// (https:// with CFG__URL_HTTPS), a host name
 * or IPv4 or [IPv6] address, an optional port 1..65535, an optional path; no user
 * info, spaces or control characters. 0, or -1 with the whole message in err (what
 * names the key in "https is not supported by WHAT"). */
int cfg__url_check(const char *s, unsigned flags, const char *what, char *err, size_t errlen);

/* 0 when re is a POSIX extended regex of sane size; else -1 with the reason in err. */
int cfg__regex_check(const char *re, char *err, size_t errlen);

void cfg__ready_parse(struct cfg__ctx *c, struct cfg_probe *p, const struct cfg__node *n);
void cfg__restart_parse(struct cfg__ctx *c, struct cfg_restart *r, const struct cfg__node *n);
void cfg__exit_codes_parse(struct cfg__ctx *c, struct cfg_service *s, const struct cfg__node *n);
void cfg__stop_parse(struct cfg__ctx *c, struct cfg_stop *st, const struct cfg__node *n);
void cfg__log_parse(struct cfg__ctx *c, struct cfg_log *l, const struct cfg__node *n);
void cfg__limits_parse(struct cfg__ctx *c, struct cfg_limits *l, const struct cfg__node *n);

/* ---- feeds (feeds.c) ---- */
void cfg__feeds_parse(struct cfg__ctx *c, struct vg_config *cfg, const struct cfg__node *n);
void cfg__feed_free(struct cfg_feed *f);

/* ---- bridges (bridges.c); dir: the config's directory ---- */
void cfg__bridges_parse(struct cfg__ctx *c, struct vg_config *cfg, const struct cfg__node *n, const char *dir);
void cfg__bridge_free(struct cfg_bridge *b);

/* ---- across services ---- */

/* Checks every depends_on entry (unknown, self, repeated) and reports each cycle. */
void cfg__graph_check(struct cfg__ctx *c, const struct vg_config *cfg);
uint64_t cfg__fingerprint(const struct cfg_service *s);

/* The compute section (compute.c); dir is the config's directory. */
void cfg__compute_parse(struct cfg__ctx *c, struct cfg_compute *cp, const struct cfg__node *n,
                        const char *dir);
void cfg__compute_free(struct cfg_compute *cp);

/* The monitor section (monitor.c). */
void cfg__monitor_parse(struct cfg__ctx *c, const struct vg_config *cfg, struct cfg_monitor *m,
                        const struct cfg__node *n);
void cfg__monitor_free(struct cfg_monitor *m);
/* The failover section (failover.c); checks the services' roles against it. */
void cfg__failover_parse(struct cfg__ctx *c, struct vg_config *cfg, const struct cfg__node *n,
                         const char *dir);
void cfg__failover_free(struct cfg_failover *fo);
void cfg__roles_check(struct cfg__ctx *c, const struct vg_config *cfg);

/* Sorts diags[from..] by position, keeping the order of equal positions. */
void cfg__diags_sort(struct cfg_diags *d, size_t from);


/* ---- names.c: a sorted index of names to their positions ---- */
struct cfg__name {
  const char *name;
  size_t i;
};
struct cfg__names {
  struct cfg__name *v;
  size_t n;
};
/* Indexes names[0..n) (borrowed: they must outlive the index). */
void cfg__names_init(struct cfg__names *ix, const char *const *names, size_t n);
/* The position of name (the first, should it repeat), or SIZE_MAX. O(log n). */
size_t cfg__names_find(const struct cfg__names *ix, const char *name);
void cfg__names_free(struct cfg__names *ix);
/* Unknown names get a "did you mean" only this many times per check: each costs an
 * edit distance to every name. */
#define CFG__MAX_SUGGEST 100

#endif
