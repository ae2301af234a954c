"""The learned model's weights as a serving process keeps them (nlp.packed_weights.PackedWeights)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp.packed_weights import PackedWeights
from nlp.reply_model import load_model, parse_model


def test_rows_read_back_as_written() -> None:
    rows = {"a": (1.5, -2.25, 0.0, 0.0, 3.0, 0.0, 0.0, 0.5), "vocab-only": (0.0,) * 7 + (0.125,),
            "short": (0.75,), "neg": (-87.09, 2.769, -6.242, -33.526, -1.349, -4.316, 5.665, 17.77)}
    packed = PackedWeights(rows)
    assert list(packed) == list(rows) and len(packed) == 4
    assert tuple(packed["a"]) == rows["a"]
    assert tuple(packed["vocab-only"]) == rows["vocab-only"]
    assert tuple(packed["short"]) == (0.75,) + (0.0,) * 7  # padded to the row width
    # single precision keeps the file's six significant digits
    assert [round(x, 3) for x in packed["neg"]] == list(rows["neg"])
    assert packed.get("missing") is None and packed.get("missing", (1.0,)) == (1.0,)


def test_the_shipped_model_keeps_a_vocabulary_only_row_in_one_number() -> None:
    model = load_model()
    assert model is not None
    w = model.weights
    vocab = sum(1 for f in w if all(x == 0.0 for x in tuple(w[f])[:7]))
    assert vocab > 0
    # every other row is 8 numbers in the packed rows, every vocabulary-only row one number
    assert len(w._flat) == 8 * (len(w) - vocab) and len(w._vocab) == vocab


def test_a_model_file_is_packed_as_it_is_read() -> None:
    # parse_model reads the open file in one pass (a generator here): no list of lines, no dict of tuples
    lines = ["# comment", "@risk_bias\t-1\t-2\t-3\t-4", "@threshold\t0.5\t0.5\t0.5\t0.5", "@tfidf\t1",
             "@sent_bias\t0\t0\t0", "@sent_offset\t0\t0\t0", "w:累\t2.5\t0\t0\t0\t0\t0\t1\t4.0", "c:天天\t0.25", ""]
    model = parse_model(line + "\n" for line in lines)
    assert model.tfidf and model.threshold["burnout"] == 0.5 and len(model.weights) == 2
    assert tuple(model.weights["w:累"]) == (2.5, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 4.0)
    # with tfidf a one-number line is a vocabulary-only feature: its idf^2 goes last, after 7 zero weights
    assert tuple(model.weights["c:天天"]) == (0.0,) * 7 + (0.25,)
    assert len(model.weights._flat) == 8 and len(model.weights._vocab) == 1


def test_arrays_that_do_not_fit_their_index_are_refused() -> None:
    from array import array

    packed = PackedWeights({"a": (1.5, -2.25, 0.0, 0.0, 3.0, 0.0, 0.0, 0.5), "v": (0.0,) * 7 + (0.125,)})
    names, keys, rows, flat, vocab, clash = packed.parts()
    assert names == b"a\nv" and sorted(rows) == [-1, 0] and list(keys) == sorted(keys) and clash == {}
    again = PackedWeights.from_index(names, keys, rows, flat, vocab, clash)
    assert tuple(again["a"]) == tuple(packed["a"]) and tuple(again["v"]) == tuple(packed["v"])
    assert again.get("b") is None and list(again) == ["a", "v"]
    bad_rows = [
        (names, keys, array("q", [r if r < 0 else 8 for r in rows]), flat, vocab),  # past the last row
        (names, keys, array("q", [r if r >= 0 else -2 for r in rows]), flat, vocab),  # past the vocabulary
        (names, keys, rows, array("f", [0.0] * 7), vocab),  # not whole rows
        (b"a", keys, rows, flat, vocab),  # a row without its name
        (names, array("q", reversed(keys)), rows, flat, vocab),  # the index not sorted
        (names, array("q", [keys[0], keys[0]]), rows, flat, vocab),  # a hash twice, not marked as a clash
    ]
    for bad in bad_rows:
        with pytest.raises(ValueError):
            PackedWeights.from_index(*bad, {})


def test_the_index_is_the_same_in_every_process() -> None:
    import subprocess
    import sys

    code = "from nlp.packed_weights import PackedWeights as P; print(P.key('w:离职'), P.key('c:加班'))"
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           cwd=Path(__file__).resolve().parents[2],
                           env={"PYTHONHASHSEED": str(seed), "PYTHONPATH": "."}).stdout for seed in (1, 2)}
    assert runs == {f"{PackedWeights.key('w:离职')} {PackedWeights.key('c:加班')}\n"}


class _WeakKey(PackedWeights):
    """Names hashed to their length: every two names of one length clash."""

    __slots__ = ()

    @staticmethod
    def key(f: str) -> int:
        return len(f)


def test_names_with_the_same_hash_keep_their_own_rows() -> None:
    rows = {"ab": (1.0,) + (0.0,) * 7, "cd": (2.0,) + (0.0,) * 7, "ef": (0.0,) * 7 + (0.5,), "xyz": (3.0,) + (0.0,) * 7}
    packed = _WeakKey(rows)
    assert [tuple(packed[f]) for f in rows] == [tuple(float(x) for x in w) for w in rows.values()]
    assert packed.get("gh") is None and list(packed) == list(rows) and len(packed) == 4
    with pytest.raises(KeyError):
        packed["gh"]
    again = _WeakKey.from_index(*packed.parts())
    assert [tuple(again[f]) for f in rows] == [tuple(packed[f]) for f in rows] and again.get("gh") is None


def test_the_shipped_model_is_indexed_by_hash_and_keeps_its_names() -> None:
    model = load_model()
    assert model is not None
    w = model.weights
    w.get("w:累")
    keys = w._keys  # the index: sorted 64-bit hashes, one row each (no object per feature)
    assert keys.typecode == w._rows.typecode == "q" and all(keys[i - 1] < keys[i] for i in range(1, len(keys)))
    names = list(w)
    assert len(names) == len(w) == len(keys) + len(w._clash) - sum(1 for i in w._rows if i == w._CLASH)
    assert all(w[f] == w.get(f) for f in names[:50])
    assert all(w.get(f) is not None for f in names[::997])


class _SmallMemo(PackedWeights):
    __slots__ = ()
    FOUND_MAX = 3


def test_lookups_stay_right_when_remembered_and_after_the_memo_fills() -> None:
    """Looked-up names are remembered (a known row and an unknown name alike); when the memo is full it
    starts again, and every answer, first or repeated, is the row the name has."""
    rows = {f"w:{i}": (float(i),) + (0.0,) * 6 + (0.5,) for i in range(10)}
    packed = _SmallMemo(rows)
    for _round in range(3):
        for i in [*range(10), 3, 3, 7]:
            assert tuple(packed[f"w:{i}"]) == rows[f"w:{i}"]
        assert packed.get("w:missing") is None and packed.get("w:missing", (9.0,)) == (9.0,)
        assert len(packed._found) <= 3
    model = load_model()
    assert model is not None
    first = [model.weights.get(f) for f in ("w:累", "c:加班", "w:不存在的特征")]
    assert first[0] is not None and first[2] is None
    assert [model.weights.get(f) for f in ("w:累", "c:加班", "w:不存在的特征")] == first
