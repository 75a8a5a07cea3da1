#!/usr/bin/env bash
# Installs the Debian packages that the test suite and benchmarks start for real, and the
# ones the gateway reads at run time (WordNet, for the semantic cache's verifier: without it
# every semantic hit is refused). Idempotent: does nothing when everything is present.
set -euo pipefail
sudo=""
[ "$(id -u)" = "0" ] || sudo="sudo"
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
[ -f /usr/share/wordnet/data.noun ] || need+=(wordnet-base)
if [ "${#need[@]}" -gt 0 ]; then
  echo "installing with apt-get: ${need[*]}"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
  # The package starts a system-wide server; the tests start their own on free ports.
  $sudo systemctl disable --now redis-server >/dev/null 2>&1 || true
  $sudo service redis-server stop >/dev/null 2>&1 || true
fi
