/*
 * vigil arrow cat FILE [--json|--csv] [--schema] [--batch N]: prints an Arrow IPC file
 * or stream (file format, stream format, "-" for standard input) — a user's inspector
 * of what a scanner wrote, and the golden tests' window on the reader (src/arrow/).
 */
#include "arrow/arrow.h"
#include "cli/cli.h"
#include "core/core.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum out_fmt { OUT_TEXT, OUT_JSON, OUT_CSV };

struct cat_opts {
  enum out_fmt fmt;
  bool schema;
  int64_t batch; /* -1: all */
  bool bad;
};

static int cat_opt(int c, const char *value, void *arg) {
  struct cat_opts *o = arg;
  switch (c) {
  case 'j': o->fmt = OUT_JSON; return 0;
  case 'C': o->fmt = OUT_CSV; return 0;
  case 's': o->schema = true; return 0;
  case 'b': {
    char *end;
    errno = 0;
    long long v = strtoll(value, &end, 10);
    if (errno || *end || end == value || v < 0) {
      fprintf(stderr, "vigil arrow cat: --batch wants a batch number (0, 1, ...), not '%s'\n", value);
      return -1;
    }
    o->batch = v;
    return 0;
  }
  }
  return -1;
}

static void flush_out(struct vg_buf *b) {
  if (b->len) fwrite(b->data, 1, b->len, stdout);
  vg_buf_reset(b);
}

static void put_schema(struct vg_buf *b, const struct arrow_reader *r, enum out_fmt fmt) {
  const struct arrow_schema *s = arrow_schema(r);
  if (fmt == OUT_JSON) {
    vg_buf_puts(b, "{\"schema\":[");
    for (uint32_t k = 0; k < s->n_fields; k++) {
      struct vg_buf t;
      vg_buf_init(&t);
      arrow_format_type(&t, &s->fields[k]);
      vg_buf_printf(b, "%s{\"name\":", k ? "," : "");
      vg_buf_json_str(b, s->fields[k].name);
      vg_buf_puts(b, ",\"type\":");
      vg_buf_json_str(b, t.data ? t.data : "");
      vg_buf_printf(b, ",\"nullable\":%s}", s->fields[k].nullable ? "true" : "false");
      vg_buf_free(&t);
    }
    vg_buf_printf(b, "],\"format\":\"%s\"", arrow_is_file(r) ? "file" : "stream");
    if (arrow_is_file(r)) vg_buf_printf(b, ",\"batches\":%lld", (long long)arrow_batch_count(r));
    vg_buf_puts(b, "}\n");
    return;
  }
  vg_buf_printf(b, "# %s format%s", arrow_is_file(r) ? "file" : "stream", arrow_is_file(r) ? ", " : "\n");
  if (arrow_is_file(r)) vg_buf_printf(b, "%lld batches\n", (long long)arrow_batch_count(r));
  for (uint32_t k = 0; k < s->n_fields; k++) {
    vg_buf_printf(b, "%s: ", s->fields[k].name);
    arrow_format_type(b, &s->fields[k]);
    vg_buf_puts(b, s->fields[k].nullable ? "\n" : " not null\n");
  }
}

static void csv_cell(struct vg_buf *b, const char *s, size_t n) {
  if (!memchr(s, ',', n) && !memchr(s, '"', n) && !memchr(s, '\n', n) && !memchr(s, '\r', n)) {
    vg_buf_append(b, s, n);
    return;
  }
  vg_buf_putc(b, '"');
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '"') vg_buf_putc(b, '"');
    vg_buf_putc(b, s[i]);
  }
  vg_buf_putc(b, '"');
}

static void put_batch(struct vg_buf *b, const struct arrow_schema *s, const struct arrow_batch *batch, enum out_fmt fmt,
                      bool *header_done) {
  struct vg_buf cell;
  vg_buf_init(&cell);
  if (fmt == OUT_CSV && !*header_done) {
    for (uint32_t k = 0; k < s->n_fields; k++) {
      if (k) vg_buf_putc(b, ',');
      csv_cell(b, s->fields[k].name, strlen(s->fields[k].name));
    }
    vg_buf_putc(b, '\n');
    *header_done = true;
  }
  if (fmt == OUT_TEXT)
    vg_buf_printf(b, "# batch %lld: %lld rows\n", (long long)batch->index, (long long)batch->length);
  for (int64_t i = 0; i < batch->length; i++) {
    if (fmt == OUT_JSON) vg_buf_putc(b, '{');
    for (uint32_t k = 0; k < batch->n_columns; k++) {
      const struct arrow_array *a = &batch->columns[k];
      if (fmt == OUT_JSON) {
        if (k) vg_buf_putc(b, ',');
        vg_buf_json_str(b, s->fields[k].name);
        vg_buf_putc(b, ':');
        arrow_format_json(b, a, i);
      } else if (fmt == OUT_CSV) {
        if (k) vg_buf_putc(b, ',');
        vg_buf_reset(&cell);
        arrow_format_text(&cell, a, i);
        csv_cell(b, cell.data ? cell.data : "", cell.len);
      } else {
        vg_buf_printf(b, "%s%s=", k ? " " : "", s->fields[k].name);
        if (arrow_is_null(a, i)) vg_buf_puts(b, "null");
        else arrow_format_json(b, a, i);
      }
    }
    vg_buf_puts(b, fmt == OUT_JSON ? "}\n" : "\n");
    if (b->len > 1 << 16) flush_out(b);
  }
  vg_buf_free(&cell);
}

/* Standard input read whole (a stream cannot be mapped). */
static int read_stdin(struct vg_buf *in) {
  char tmp[65536];
  size_t n;
  while ((n = fread(tmp, 1, sizeof tmp, stdin)) > 0) vg_buf_append(in, tmp, n);
  return ferror(stdin) ? -1 : 0;
}

static int arrow_cat(struct cli *cli, int argc, char **argv) {
  static const char usage[] = "vigil arrow cat FILE [--json|--csv] [--schema] [--batch N]";
  static const char help[] =
      "Prints an Arrow IPC file or stream (FILE, or - for standard input): every record\n"
      "batch, a row per line, after checking every buffer of it.\n\n"
      "options:\n"
      "      --json      one JSON object per row (timestamps RFC 3339 UTC, binary as hex,\n"
      "                  decimals as strings); with --schema, the schema as JSON\n"
      "      --csv       CSV with a header row (nested values as JSON)\n"
      "      --schema    print the schema (and the number of batches of a file) only\n"
      "      --batch N   print batch N only (0-based)\n\n"
      "A malformed file is reported with the batch, the field and the byte offset.\n"
      "exit status: 0 printed, 1 unreadable or malformed, 2 usage error. See docs/arrow.md.\n";
  static const struct option longopts[] = {{"json", no_argument, NULL, 'j'},
                                           {"csv", no_argument, NULL, 'C'},
                                           {"schema", no_argument, NULL, 's'},
                                           {"batch", required_argument, NULL, 'b'},
                                           {0}};
  struct cat_opts o = {.batch = -1};
  int ix = cli_parse(cli, argc, argv, usage, help, "", longopts, cat_opt, &o);
  if (ix < 0) return ix == -2 ? EXIT_OK : EXIT_USAGE;
  if (argc - ix != 1) {
    fprintf(stderr, "vigil arrow cat: %s\nusage: %s\n", ix == argc ? "which file?" : "one file at a time", usage);
    return EXIT_USAGE;
  }
  const char *path = argv[ix];
  struct arrow_reader *r = NULL;
  struct arrow_err err = {0};
  struct vg_buf in;
  vg_buf_init(&in);
  int rc;
  if (strcmp(path, "-") == 0) {
    if (read_stdin(&in) < 0) {
      fprintf(stderr, "vigil arrow cat: cannot read standard input: %s\n", strerror(errno));
      vg_buf_free(&in);
      return EXIT_FAIL;
    }
    rc = arrow_open_mem(&r, in.data ? in.data : "", in.len, NULL, &err);
  } else {
    rc = arrow_open(&r, path, NULL, &err);
  }
  if (rc < 0) {
    fprintf(stderr, "vigil arrow cat: %s: %s\n", path, err.msg);
    vg_buf_free(&in);
    return EXIT_FAIL;
  }
  struct vg_buf out;
  vg_buf_init(&out);
  int status = EXIT_OK;
  if (o.schema) {
    put_schema(&out, r, o.fmt);
  } else {
    const struct arrow_batch *batch;
    bool header = false;
    if (o.batch >= 0 && arrow_is_file(r)) {
      rc = arrow_read_batch(r, o.batch, &batch, &err);
      if (rc > 0) put_batch(&out, arrow_schema(r), batch, o.fmt, &header);
    } else {
      while ((rc = arrow_next(r, &batch, &err)) > 0) {
        if (o.batch >= 0 && batch->index != o.batch) continue;
        put_batch(&out, arrow_schema(r), batch, o.fmt, &header);
        if (o.batch >= 0) break;
      }
      if (rc == 0 && o.batch >= 0) {
        rc = -ERANGE;
        snprintf(err.msg, sizeof err.msg, "no batch %lld in the stream", (long long)o.batch);
      }
    }
    if (rc < 0) status = EXIT_FAIL;
  }
  flush_out(&out);
  fflush(stdout);
  if (status != EXIT_OK) fprintf(stderr, "vigil arrow cat: %s: %s\n", path, err.msg);
  vg_buf_free(&out);
  arrow_close(&r);
  vg_buf_free(&in);
  return status;
}

int cmd_arrow(struct cli *cli, int argc, char **argv) {
  static const char usage[] = "vigil arrow cat FILE [--json|--csv] [--schema] [--batch N]";
  static const char help[] = "Reads Apache Arrow IPC files (file and stream formats).\n\n"
                             "  cat      print a file's schema or rows\n\n"
                             "`vigil arrow cat --help` for its options. See docs/arrow.md.\n"
                             "\nexit status: 0 ok, 1 unreadable or malformed, 2 usage error.\n";
  int ix = cli_parse(cli, argc, argv, usage, help, "+", NULL, NULL, NULL);
  if (ix < 0) return ix == -2 ? EXIT_OK : EXIT_USAGE;
  if (ix == argc || strcmp(argv[ix], "cat") != 0) {
    if (ix == argc) fprintf(stderr, "vigil arrow: what to do? (cat)\nusage: %s\n", usage);
    else fprintf(stderr, "vigil arrow: unknown command '%s'\nusage: %s\n", argv[ix], usage);
    return EXIT_USAGE;
  }
  int n = argc - ix;
  char **args = vg_calloc((size_t)n + 1, sizeof *args);
  args[0] = "arrow cat";
  for (int i = 1; i < n; i++) args[i] = argv[ix + i];
  int rc = arrow_cat(cli, n, args);
  free(args);
  return rc;
}
