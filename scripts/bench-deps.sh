#!/usr/bin/env bash
# Installs the Debian packages that benchmarks/gateway_overhead.py starts: nginx (the fast
# upstream) and wrk (the load generator), valgrind (benchmarks/instructions_per_request.py), and, when npm is there, Portkey's gateway under
# benchmarks/.node for benchmarks/curve_sse_relay.py. Idempotent: does nothing when all are
# present.
# The benchmark runs its own nginx on a free port with its own config; the distro's service
# is stopped and disabled so that nothing is left listening on port 80.
set -euo pipefail
sudo=""
[ "$(id -u)" = "0" ] || sudo="sudo"

need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v valgrind >/dev/null 2>&1 || need+=(valgrind)
nginx_missing=0
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || nginx_missing=1

if [ "$nginx_missing" = "1" ] || [ "${#need[@]}" -gt 0 ]; then
  $sudo apt-get update -qq
  if [ "$nginx_missing" = "1" ]; then
    # nginx-light is the smallest build; newer Debian releases only ship plain nginx.
    if apt-cache show nginx-light >/dev/null 2>&1; then
      need+=(nginx-light)
    else
      need+=(nginx)
    fi
  fi
  echo "installing with apt-get: ${need[*]}"
  # The package's postinst would start nginx on port 80; policy-rc.d 101 forbids that.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    created_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${need[@]}" || { [ "$created_policy" = "1" ] && $sudo rm -f "$policy"; exit 1; }
  [ "$created_policy" = "1" ] && $sudo rm -f "$policy"
fi

# Whatever happened above (or on an earlier run), leave no distro nginx on port 80.
$sudo systemctl disable --now nginx >/dev/null 2>&1 || true
$sudo service nginx stop >/dev/null 2>&1 || true
if [ -f /run/nginx.pid ]; then
  $sudo kill "$(cat /run/nginx.pid)" >/dev/null 2>&1 || true
fi
# Portkey's open-source gateway (one Node process), the comparison in curve_sse_relay.py.
# Pinned to the version the benchmark's fetch shim was written for (benchmarks/
# portkey_fetch_shim.mjs); without npm the benchmark skips Portkey and says so.
portkey_version=1.15.2
node_dir="$(cd "$(dirname "$0")/.." && pwd)/benchmarks/.node"
portkey_pkg="$node_dir/node_modules/@portkey-ai/gateway/package.json"
if command -v npm >/dev/null 2>&1; then
  if ! grep -q "\"version\": \"$portkey_version\"" "$portkey_pkg" 2>/dev/null; then
    echo "installing @portkey-ai/gateway@$portkey_version under $node_dir"
    npm install --prefix "$node_dir" --no-audit --no-fund --loglevel=error \
      "@portkey-ai/gateway@$portkey_version"
  fi
else
  echo "npm not found: curve_sse_relay.py will run without Portkey (apt-get install npm)" >&2
fi
exit 0
