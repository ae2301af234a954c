#!/usr/bin/env bash
# Pre-release only: regenerate revision 0001 from the models (nothing is deployed yet).
# After the first release, add new revisions with:
#   alembic -c scripts/alembic.ini revision --autogenerate -m "..."
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
rm -f storage/migrations/versions/0001_initial.py
python - "$tmp/regen.db" <<'PY'
import sys
from alembic import command
from storage.db import alembic_config
cfg = alembic_config("sqlite:///" + sys.argv[1])
command.revision(cfg, message="initial schema", autogenerate=True, rev_id="0001")
PY
mv storage/migrations/versions/0001_*.py storage/migrations/versions/0001_initial.py
rm -rf "$tmp"
echo "regenerated storage/migrations/versions/0001_initial.py"
