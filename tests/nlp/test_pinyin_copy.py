"""The typo repair's pinyin table (nlp/typos.py) read back from its JSON copy: a faster start, never a
different table."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp import model_cache, typos


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(model_cache.ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_the_second_read_uses_the_copy_and_gets_the_same_table(cache_dir: Path, monkeypatch) -> None:
    parsed = typos._parse_pinyin(typos._pinyin_table().read_text(encoding="utf-8"))
    assert parsed["职"] == "zhi" and parsed["加"] == "jia"
    assert typos._char_pinyin() == parsed  # parsed, copy written
    (copy,) = cache_dir.glob("char_pinyin-*.json")

    def no_parse(text: str) -> dict[str, str]:
        raise AssertionError("the table was parsed although its copy is there")

    monkeypatch.setattr(typos, "_parse_pinyin", no_parse)
    assert typos._char_pinyin() == parsed
    assert copy.exists()


@pytest.mark.parametrize("damage", [b'{"\xe8\x81', b"[1, 2]", b'{"a": 1}', b"{}"])
def test_a_damaged_copy_is_ignored_and_replaced(cache_dir: Path, damage: bytes) -> None:
    good = typos._char_pinyin()
    (copy,) = cache_dir.glob("char_pinyin-*.json")
    copy.write_bytes(damage)
    assert typos._char_pinyin() == good
    assert typos._char_pinyin() == good and copy.read_bytes() != damage
