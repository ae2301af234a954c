"""jieba is imported without pkg_resources (about 14 MB a serving process would keep for nothing)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                          check=True)
    return done.stdout.strip()


def test_the_nlp_and_visit_tokenizers_segment_without_pkg_resources() -> None:
    out = run(
        "import sys\n"
        "from nlp.lexicon import tokenizer\n"
        "from handlers.visit.summary import tokenizer as visit_tokenizer\n"
        "words = tokenizer().lcut('本周完成了华山医院的方案')\n"
        "visit = visit_tokenizer()[0].lcut('今天拜访了华山医院的客户')\n"
        "print('pkg_resources' in sys.modules, '华山医院' in words, '华山医院' in visit)\n")
    assert out == "False True True"


def test_an_application_that_imported_pkg_resources_keeps_it() -> None:
    out = run(
        "import sys, pkg_resources\n"
        "from nlp.jieba_import import load\n"
        "jieba = load()\n"
        "print(sys.modules['pkg_resources'] is pkg_resources, jieba.lcut('华山医院的客户')[-1])\n")
    assert out == "True 客户"


def test_a_later_import_of_pkg_resources_still_works() -> None:
    out = run(
        "from nlp.jieba_import import load\n"
        "load()\n"
        "import pkg_resources\n"
        "print(pkg_resources.__name__)\n")
    assert out == "pkg_resources"
