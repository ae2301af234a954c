#!/usr/bin/env bash
# Create .venv (if needed) and install PerfBot's dependencies into it. Safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
# Bytecode for the product's own modules, written here once: a start that compiles them from source
# (PYTHONDONTWRITEBYTECODE set, or a read-only checkout) spends about a second more before it is ready.
.venv/bin/python -m compileall -q -j 0 bot cards handlers nlp scheduler storage
