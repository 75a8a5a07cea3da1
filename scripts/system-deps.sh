#!/usr/bin/env bash
# Installs the Debian packages that the test suite and benchmarks start for real.
# Idempotent: does nothing when everything is present.
set -euo pipefail
sudo=""
[ "$(id -u)" = "0" ] || sudo="sudo"
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
if [ "${#need[@]}" -gt 0 ]; then
  echo "installing with apt-get: ${need[*]}"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
  # The package starts a system-wide server; the tests start their own on free ports.
  $sudo systemctl disable --now redis-server >/dev/null 2>&1 || true
  $sudo service redis-server stop >/dev/null 2>&1 || true
fi
