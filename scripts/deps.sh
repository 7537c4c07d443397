#!/usr/bin/env bash
# Installs the Debian packages vigil needs to build and test, and only those missing.
# Idempotent: a second run installs nothing and exits at once.
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config clang
  libuv1-dev libfyaml-dev libjansson-dev libsystemd-dev libxxhash-dev libcmocka-dev
  libzmq3-dev libcurl4-openssl-dev libsqlite3-dev
  libhiredis-dev libpq-dev liblz4-dev libzstd-dev)
# Real servers and tools the integration tests run: Prometheus (promtool), InfluxDB 1.x
# (the ingest sink), ninja (the compute benchmark's anchor), Redis and Sentinel (cache
# mirror, failover lease), PostgreSQL (failover lease), Alertmanager (monitor
# notifications), iproute2 (partition tests), Node.js/npm and Chromium (Arrow files
# written by the official library, browser tests of the page).
test_pkgs=(python3 procps prometheus influxdb ninja-build
  redis-server redis-sentinel redis-tools postgresql prometheus-alertmanager iproute2
  chromium)
# Node.js and npm: Debian's packages unless the machine already has a Node.js with npm
# (NodeSource's nodejs bundles npm and conflicts with Debian's npm).
command -v npm >/dev/null 2>&1 || test_pkgs+=(nodejs npm)
# Anchors for bench/restart-latency; only installed when asked (make bench).
bench_pkgs=(supervisor monit runit s6 python3-prometheus-client)

want=("${build_pkgs[@]}" "${test_pkgs[@]}")
[ "${1:-}" = "--bench" ] && want+=("${bench_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
npm_deps() {
  # uPlot (the page) and the test-only tools (apache-arrow, playwright-core), pinned by
  # package-lock.json; installed once, again only when the lock changes.
  local root; root="$(cd "$(dirname "$0")/.." && pwd)"
  [ -f "$root/package-lock.json" ] || return 0
  if [ ! -f "$root/node_modules/.vigil-lock" ] ||
     ! cmp -s "$root/package-lock.json" "$root/node_modules/.vigil-lock"; then
    echo "deps: npm ci" >&2
    (cd "$root" && npm ci --no-audit --no-fund --loglevel=error >&2)
    cp "$root/package-lock.json" "$root/node_modules/.vigil-lock"
  fi
}
if [ ${#missing[@]} -eq 0 ]; then npm_deps; exit 0; fi

echo "deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# policy-rc.d keeps the anchors' packages from starting their own daemons on install.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod +x /usr/sbin/policy-rc.d
  trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
fi
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
npm_deps
