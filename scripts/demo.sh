#!/usr/bin/env bash
# Set up (fresh machine OK), create the demo organisation and open the terminal chat.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m bot demo "$@"
