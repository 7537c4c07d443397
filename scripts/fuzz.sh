#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) in build-fuzz and runs every
# fuzz/fuzz_*.c target for SECONDS each (default 60).
#
#   scripts/fuzz.sh [SECONDS]
#   FUZZ_ONLY="lineproto json" scripts/fuzz.sh 60     # some targets only
#
# Each target keeps its corpus in fuzz/corpus-<target>/ (git-ignored), so runs build
# on each other; it starts from seeds: the YAML files under examples/ and tests/
# plus a few inline ones. Crashing inputs land in build-fuzz/artifacts/<target>/.
# Exits non-zero when any target found a problem.
set -euo pipefail
shopt -s nullglob
cd "$(dirname "$0")/.."

secs="${1:-60}"
case "$secs" in '' | *[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS]" >&2; exit 2 ;; esac
build="${BUILD_FUZZ:-build-fuzz}"

CC=clang cmake -S . -B "$build" -DVIGIL_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

# Seeds shared by every target; a target that does not read YAML just mutates them.
seeds="$build/seeds"
rm -rf "$seeds"
mkdir -p "$seeds"
n=0
while IFS= read -r -d '' f; do
  cp "$f" "$seeds/file-$n.yaml"
  n=$((n + 1))
done < <(find examples tests -type f \( -name '*.yaml' -o -name '*.yml' \) -print0 2>/dev/null)
inline() { printf '%s' "$2" >"$seeds/inline-$1.yaml"; }
inline failover 'failover:
  node: host-a
  lease: {postgres: "host=/tmp port=5432 dbname=x", key: "k"}
  ttl: 2s
  renew: 500ms
  timeout: 200ms
  margin: 400ms
  cooldown: 5m
  promote: [{redis_promote: "127.0.0.1:6380"}, {exec: [n, up], timeout: 3s}]
  demote: [{redis_replicate: {replica: "127.0.0.1:6380", primary: "[::1]:6380"}}]
services:
  bot: {cmd: [bot], role: active, depends_on: [x]}
  x: {cmd: [x], role: standby}
'
inline minimal 'services:
  web:
    cmd: [./web, --port, "8080"]
'
inline full 'state_dir: ./var/${STACK:-dev}
services:
  db:
    cmd: [postgres, -D, /var/lib/pg]
    ready: {tcp: "localhost:5432", timeout: 1m30s, interval: 250ms}
    stop: {signal: SIGINT, timeout: 20s}
  feed:
    cmd: "exec ./feed --port $${PORT}"
    shell: true
    env: {PORT: "9000", MODE: live}
    clear_env: false
    cwd: /opt/feed
    user: feed
    group: market
    role: active
    depends_on: [db]
    ready:
      http: http://127.0.0.1:9000/healthz
    restart:
      policy: on-failure
      delay: 2s
      max_delay: 1m
      jitter: 0.25
      reset_after: 5m
      max_restarts: 0
      window: 1h
    no_restart_exit_codes: [0, 2]
    watchdog: 15s
    log: {capture: true, echo: false, file: true, max_size: 5MiB, keep: 7}
    limits: {nofile: 65536, core: unlimited, as: 2GiB}
  tail:
    cmd: [tail, -f, x]
    ready: {log: "^listening on [0-9]+$"}
    restart: never
  probe:
    cmd: [p]
    ready: {exec: [pg_isready, -q]}
  n:
    cmd: [n]
    ready: {notify: true}
'
inline errors 'servces: 1
services:
  a: {cmd: [x], depends_on: [b, a, zz]}
  b: {cmd: [x], depends_on: [a]}
  c:
    cmd: x
    ready: {tcp: "h:0", http: "https://x/", log: "a("}
    restart: {delay: 5s, max_delay: 1s}
    stop: {signal: TREM}
    no_restart_exit_codes: [300]
    watchdog: 30x
    env: {A-B: "${UNSET_VAR}"}
'
inline anchors 'x: &svc {cmd: [a]}
services:
  a: *svc
  b: &b
    cmd: &argv [run]
    <<: *svc
  c: {cmd: *argv}
'
# HTTP requests for fuzz_request (both listeners' framing: head, early refusal, body).
printf 'GET /api/v1/services/feed/logs?n=20&follow=1 HTTP/1.1\r\nHost: vigil\r\n\r\n' >"$seeds/req-get.http"
printf 'POST /api/v1/services/a%%2Db/restart HTTP/1.0\r\nContent-Length: 2\r\nAuthorization: Bearer x\r\n\r\n{}' >"$seeds/req-post.http"
printf 'POST /write?precision=s HTTP/1.1\r\nHost: [::1]:9464\r\nExpect: 100-continue\r\nContent-Length: 9\r\n\r\nx v=1 1\n\nGET / HTTP/1.1' >"$seeds/req-body.http"
printf 'GET /../x HTTP/2.0\r\nTransfer-Encoding: chunked\r\n\r\n' >"$seeds/req-bad.http"
printf 'GET /healthz HTTP/1.1\nHost: x\n\n' >"$seeds/req-lf.http"
# fuzz_api: a flags byte (1 trusted, 2 HTTP/1.1), then method, path, query,
# Authorization, Accept and Host, one per line, then the body
printf '\002GET\n/metrics\n\n\napplication/openmetrics-text; version=1.0.0\n127.0.0.1:9464\n' >"$seeds/api-metrics.txt"
printf '\001GET\n/api/v1/services/feed/logs\nn=5&follow=1\n\n\n\n' >"$seeds/api-logs.txt"
printf '\002POST\n/api/v1/services/feed/restart\n\nBearer abc\n\nlocalhost\n{}' >"$seeds/api-post.txt"
printf '\002GET\n/readyz\n\n\n\nevil.example.com\n' >"$seeds/api-readyz.txt"
printf '\003DELETE\n/api/v1/services/feed\n\n\n\n\n' >"$seeds/api-405.txt"
# fuzz_lineproto: InfluxDB line protocol
printf 'kraken_tick,sym=BTC-USD,venue=kraken px=30123.5,qty=0.25,side="buy",seq=12i,ok=t 1700000000000000000\n' >"$seeds/lp-tick.lp"
printf '# comment\nm\\ x,t\\,k=v\\ 1 f\\=1="a\\"b",u=3u\r\nm f=-0.0 -1\n' >"$seeds/lp-escapes.lp"
# fuzz_json: feed messages as JSON
printf '{"measurement":"ticks","tags":{"sym":"S0001"},"fields":{"price":101.5,"ok":true,"note":"a\\u00e9\\ud83d\\ude00"},"time":1700000000000000000}\n' >"$seeds/json-influx.json"
printf '[{"sym":"S0002","venue":7,"price":-1.5e-3,"size":12,"seq":5,"ts":5},{"measurement":"m","x":null}]\n{"f":[1,{"a":2}]}' >"$seeds/json-flat.json"

# fuzz_store_query: selectors; fuzz_time: times, durations and dates; one per line
printf 'tick,sym=BTC\\,X,venue=a\\=b\nm\n' >"$seeds/query.txt"
printf 'now-15m\n2026-11-23T06:00:00.123456789+01:00\n2024-02-29\n1700000000.5\n1h30m\n1w2d3h4m5s6ms7us8ns\n-1h\n1677-09-21T00:12:43.145224192Z\n2262-04-11t23:47:16.854775807z\n' >"$seeds/time.txt"
# ... and seven lines as one query's arguments (q, field, from, to, every, agg, limit)
printf 'tick,sym=BTC\nprice\n-1h\nnow\n1m\nmax\n10\n' >"$seeds/query-args.txt"
# fuzz_cache: a document's keys, then put/get/doc/render operations
printf 'al m.* t,sym=[AB]*.price x\\.y\np m.a 1.5\np t,sym=A.price nan\np al 7\ng m.*\ng al\ng [\nd scan {"n":1,"a":[1,2]}\nd scan [1]\nr doc\nr scan\n' >"$seeds/cache.txt"
printf 'cache:\n  max_keys: 10\n  aliases: {a: m.a}\n  documents:\n    d: {keys: [a, "m.*"], critical: [a], fresh: 2m, ready_flag: _acb_ready}\n  redis: redis://[::1]:6380/2\n  redis_prefix: "x:"\n  redis_ttl: 1h\n' >"$seeds/config-cache.yaml"
# committed binary seeds: a real block file (fuzz_block) and spool segment (fuzz_spool)
cp fuzz/seeds/* "$seeds/" 2>/dev/null || true
# fuzz_arrow: Arrow files and streams written by apache-arrow JS (tests/arrow/data/)
for f in tests/arrow/data/*.arrow tests/arrow/data/*.stream; do cp "$f" "$seeds/arrow-$(basename "$f")"; done

# FUZZ_ONLY="lineproto json" runs only those targets.
only="${FUZZ_ONLY:-}"
status=0
for src in fuzz/fuzz_*.c; do
  name="$(basename "$src" .c)"
  if [ -n "$only" ] && [[ " $only " != *" ${name#fuzz_} "* ]]; then continue; fi
  # One target at a time: a target that does not build fails alone.
  if ! cmake --build "$build" --target "$name" -j "$(nproc)"; then
    echo "fuzz: $name does not build" >&2
    status=1
    continue
  fi
  corpus="fuzz/corpus-${name#fuzz_}"
  artifacts="$build/artifacts/$name"
  mkdir -p "$corpus" "$artifacts"
  echo "fuzz: $name for ${secs}s" >&2
  if ! "$build/$name" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
      -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" "$seeds"; then
    echo "fuzz: $name FAILED; inputs in $artifacts/" >&2
    status=1
  fi
done
exit "$status"
