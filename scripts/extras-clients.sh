#!/usr/bin/env bash
# Third-party clients that tests/test_real_clients.py runs against the gateway at their
# default settings. Run by `make system-deps` with PIP and PYTHON of the venv. Idempotent and
# quick: each part does nothing when its pinned versions are already installed.
#   - npm, into .clients/node (gitignored, never global): @anthropic-ai/claude-code (the
#     `claude` CLI; its npm package carries the native binary for this platform as an optional
#     dependency, so nothing is downloaded at run time) and @anthropic-ai/sdk (TypeScript SDK).
#   - llm + llm-anthropic, into their own venv .clients/llm: llm-anthropic 0.30 (the newest)
#     requires anthropic<2, while the suite tests the anthropic 2.x SDK; one venv cannot hold
#     both, and `llm` is a CLI, so it gets its own.
#   (pydantic-ai, LangChain and the OpenAI Agents SDK are plain test extras in pyproject.toml.)
set -euo pipefail
PYTHON="${PYTHON:-.venv/bin/python}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
clients="$root/.clients"
sudo=""
[ "$(id -u)" = "0" ] || sudo="sudo"

node_pins=(
  @anthropic-ai/claude-code@2.1.197
  @anthropic-ai/sdk@1.17.0
)
llm_pins=(
  llm==0.36
  llm-anthropic==0.30
)

if ! command -v npm >/dev/null 2>&1; then
  echo "installing with apt-get: nodejs npm"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    nodejs npm >/dev/null
fi

node_missing=()
for pin in "${node_pins[@]}"; do
  name="${pin%@*}"
  wanted="${pin##*@}"
  manifest="$clients/node/node_modules/$name/package.json"
  have="$(node -p "require('$manifest').version" 2>/dev/null || true)"
  [ "$have" = "$wanted" ] || node_missing+=("$pin")
done
if [ "${#node_missing[@]}" -gt 0 ]; then
  echo "installing npm packages into .clients/node: ${node_missing[*]}"
  mkdir -p "$clients/node"
  npm install --prefix "$clients/node" --no-audit --no-fund --loglevel=error \
    --save-exact "${node_pins[@]}"
fi

llm_venv="$clients/llm"
if [ ! -x "$llm_venv/bin/python" ]; then
  # The project venv's base interpreter, so both venvs run the same Python.
  base="$("$PYTHON" -c 'import sys, os; print(os.path.join(sys.base_prefix, "bin", "python3"))')"
  echo "creating the llm venv at .clients/llm"
  "$base" -m venv "$llm_venv"
fi
if ! "$llm_venv/bin/python" - "${llm_pins[@]}" <<'PY'
import sys
from importlib.metadata import PackageNotFoundError, version

for pin in sys.argv[1:]:
    name, wanted = pin.split("==")
    try:
        if version(name) != wanted:
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
PY
then
  echo "installing into .clients/llm: ${llm_pins[*]}"
  "$llm_venv/bin/pip" install -q "${llm_pins[@]}"
fi
