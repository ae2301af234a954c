#!/usr/bin/env bash
# Set up, then print the NLP evaluation figures and the Q&A benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
DATA=${DATA:-../shared/data}
echo "== replies: sentiment and risk signals ($DATA/replies_dev.jsonl)"
.venv/bin/python -m bot eval replies "$DATA/replies_dev.jsonl"
echo
echo "== questions: intent and period ($DATA/questions_dev.jsonl)"
.venv/bin/python -m bot eval questions "$DATA/questions_dev.jsonl"
if [ -f tests/bench/bench_qa.py ]; then
  echo
  echo "== Q&A answers on 10,000 employees / 1,000,000 tasks"
  .venv/bin/python -m tests.bench.bench_qa "$@"
fi
