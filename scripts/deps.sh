#!/usr/bin/env bash
# Installs the Debian packages vigil needs to build and test, and only those missing.
# Idempotent: a second run installs nothing and exits at once.
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config clang
  libuv1-dev libfyaml-dev libjansson-dev libsystemd-dev libxxhash-dev libcmocka-dev
  libzmq3-dev libcurl4-openssl-dev libsqlite3-dev)
# Real servers and tools the integration tests run: Prometheus (promtool), InfluxDB 1.x
# (the ingest sink), ninja (the compute benchmark's anchor).
test_pkgs=(python3 procps prometheus influxdb ninja-build)
# Anchors for bench/restart-latency; only installed when asked (make bench).
bench_pkgs=(supervisor monit runit s6 python3-prometheus-client)

want=("${build_pkgs[@]}" "${test_pkgs[@]}")
[ "${1:-}" = "--bench" ] && want+=("${bench_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

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
