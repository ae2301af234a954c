"""The learned model's weights as a serving process keeps them (nlp.reply_model.PackedWeights)."""

from __future__ import annotations

from nlp.reply_model import PackedWeights, load_model


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
