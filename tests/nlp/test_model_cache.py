"""The reply model's binary copy (nlp/model_cache.py): a faster start, never a different model."""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import pytest

from nlp import model_cache, reply_model
from nlp.reply_model import MODEL_PATH, parse_model


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(model_cache.ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(reply_model, "_model", None)
    return tmp_path / "cache"


def same(a: reply_model.Model, b: reply_model.Model) -> bool:
    return (dataclasses.replace(a, weights=None) == dataclasses.replace(b, weights=None)
            and a.weights.parts() == b.weights.parts())


def test_the_second_start_reads_the_copy_and_gets_the_same_model(cache_dir: Path) -> None:
    parsed = parse_model(MODEL_PATH.read_text(encoding="utf-8").splitlines())
    first = reply_model.load_model()  # parses, writes the copy
    copies = list(cache_dir.glob("reply_model-*.bin"))
    assert len(copies) == 1 and same(first, parsed)
    reply_model._model = None
    second = reply_model.load_model()
    assert same(second, parsed)
    # the same analysis: a vent read through the copy gets the classes and sentiment the text file gives
    s1 = reply_model.score(parsed, {"c:加班": (0, 2), "w:离职": (2, 4)}, ["s:checkin"], -2.0)
    s2 = reply_model.score(second, {"c:加班": (0, 2), "w:离职": (2, 4)}, ["s:checkin"], -2.0)
    assert s1 == s2


def test_a_damaged_copy_is_ignored_and_replaced(cache_dir: Path) -> None:
    reply_model.load_model()
    (copy,) = cache_dir.glob("reply_model-*.bin")
    good = copy.read_bytes()
    copy.write_bytes(good[: len(good) // 2])  # a crash mid-write on a filesystem without atomic rename
    reply_model._model = None
    model = reply_model.load_model()
    assert same(model, parse_model(MODEL_PATH.read_text(encoding="utf-8").splitlines()))
    assert copy.read_bytes() == good
    # framed right, but its rows do not fit their index: refused by the packed weights, parsed again
    meta, names, keys, rows, flat, vocab, clash = reply_model.to_parts(model)
    copy.write_bytes(model_cache.dump(meta, names + "\nc:坏".encode(), keys, rows, flat, vocab, clash))
    reply_model._model = None
    assert same(reply_model.load_model(), model) and copy.read_bytes() == good
    # one weight changed on disk (a bad sector, a stray write): the CRC-32 refuses it, never a silently different model
    damaged = bytearray(good)
    damaged[len(good) - 4 * len(vocab) - 100] ^= 0x40
    copy.write_bytes(bytes(damaged))
    reply_model._model = None
    assert same(reply_model.load_model(), model) and copy.read_bytes() == good
    for bad in (b"", b"PERFBOT-REPLY-MODEL 2\n{}\n", b"not a model at all"):
        with pytest.raises((ValueError, KeyError)):
            model_cache.load(bad)  # the parts, or an error: never a half-read model


def test_a_retrained_model_never_meets_an_old_copy() -> None:
    raw = MODEL_PATH.read_bytes()
    assert model_cache.cache_path(raw) != model_cache.cache_path(raw.replace(b"@threshold\t0.", b"@threshold\t1.", 1))


def test_a_new_copy_replaces_the_copies_of_older_models_and_formats(cache_dir: Path) -> None:
    cache_dir.mkdir(parents=True)
    old_format = cache_dir / "reply_model-0123456789abcdef01234567.bin"  # format 1, before the index was stored
    old_model = cache_dir / "reply_model-v2-000000000000000000000000.bin"  # a model since retrained
    crashed = cache_dir / ".reply_model-v2-111111111111111111111111.bin-abc123"  # a write a crash cut short
    writing = cache_dir / ".reply_model-v2-222222222222222222222222.bin-def456"  # another process writing now
    pinyin = cache_dir / "char_pinyin-v1-333333333333333333333333.json"  # another kind of copy: not ours to remove
    for f in (old_format, old_model, crashed, writing, pinyin):
        f.write_bytes(b"x" * 100)
    an_hour_ago = time.time() - 3700
    os.utime(crashed, (an_hour_ago, an_hour_ago))
    reply_model.load_model()
    left = sorted(p.name for p in cache_dir.iterdir())
    (copy,) = [name for name in left if name.startswith("reply_model-")]
    assert copy.startswith("reply_model-v2-") and copy not in (old_model.name, old_format.name)
    assert sorted(left) == sorted([copy, writing.name, pinyin.name])
    # a start that reads the copy removes nothing and writes nothing
    reply_model._model = None
    reply_model.load_model()
    assert sorted(p.name for p in cache_dir.iterdir()) == sorted(left)
