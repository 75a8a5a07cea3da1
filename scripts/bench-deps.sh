#!/usr/bin/env bash
# Installs the Debian packages that benchmarks/gateway_overhead.py starts: nginx (the fast
# upstream) and wrk (the load generator). Idempotent: does nothing when both are present.
# The benchmark runs its own nginx on a free port with its own config; the distro's service
# is stopped and disabled so that nothing is left listening on port 80.
set -euo pipefail
sudo=""
[ "$(id -u)" = "0" ] || sudo="sudo"

need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
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
exit 0
