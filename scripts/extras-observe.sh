#!/usr/bin/env bash
# What the observability tests (tests/test_alert_rules*.py, tests/test_dashboard*.py) start
# for real. Run by `make system-deps`. Idempotent and quick
# when everything is present: apt-get runs only for what is missing.
#   - promtool, from Debian's `prometheus` package: `promtool check rules` and
#     `promtool test rules` on deploy/monitoring/rules. The package's service is kept from
#     starting (policy-rc.d) and disabled: the tests need only the binary.
#   - chromium (Debian): the headless browser of the dashboard test. Playwright's own browser
#     download does not work on these machines; the test passes executable_path.
#   (playwright, which drives it, is a test dependency in pyproject.toml; no browser install.)
set -euo pipefail
sudo=""
[ "$(id -u)" = "0" ] || sudo="sudo"

need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need+=(chromium)
if [ "${#need[@]}" -gt 0 ]; then
  echo "installing with apt-get: ${need[*]}"
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    created_policy=1
  fi
  cleanup() { if [ "$created_policy" = "1" ]; then $sudo rm -f "$policy"; fi; }
  trap cleanup EXIT
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${need[@]}" >/dev/null
  $sudo systemctl disable --now prometheus prometheus-node-exporter >/dev/null 2>&1 || true
fi

