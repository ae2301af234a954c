"""A binary copy of the reply model, so a process starts faster.

Parsing nlp/data/reply_model.tsv (136,534 lines of text numbers) takes 0.7 s of a start on a slow
machine; the same packed rows read back from this copy take a few hundredths. The copy is keyed by
the SHA-256 of the model file, so a retrained model never meets a stale copy, and it holds only
numbers, feature names and a JSON header: reading it runs no code (no pickle or marshal). Anything
wrong with it (missing, truncated, another format, a directory we cannot write) means the text file
is parsed as before; the copy is written then, atomically.

Where: ``$PERFBOT_CACHE_DIR``, else ``~/.cache/perfbot`` (created 0700).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

log = logging.getLogger(__name__)
MAGIC = b"PERFBOT-REPLY-MODEL 1\n"
ENV = "PERFBOT_CACHE_DIR"
T = TypeVar("T")


def cache_path(raw: bytes) -> Path:
    base = os.environ.get(ENV) or os.path.join(os.path.expanduser("~"), ".cache", "perfbot")
    return Path(base) / f"reply_model-{hashlib.sha256(raw).hexdigest()[:24]}.bin"


Parts = tuple[dict[str, Any], bytes, array, array, array]  # model fields, names, each name's row, rows, vocabulary


def dump(meta: dict[str, Any], names: bytes, rows: array, flat: array, vocab: array) -> bytes:
    """``meta``: the model's other fields (JSON); ``names`` (UTF-8, joined by newlines), ``rows`` (each
    name's row), ``flat``/``vocab``: its packed weights (nlp.reply_model.PackedWeights.parts)."""
    header = {**meta, "names": len(names), "rows": len(rows), "flat": len(flat), "vocab": len(vocab)}
    head = json.dumps(header, ensure_ascii=False).encode("utf-8")
    return b"".join([MAGIC, head, b"\n", names, flat.tobytes(), vocab.tobytes(), rows.tobytes()])


def load(data: bytes) -> Parts:
    """The parts ``dump`` wrote; ValueError (or KeyError) when ``data`` is not exactly that."""
    if not data.startswith(MAGIC):
        raise ValueError("not a reply-model copy")
    end = data.index(b"\n", len(MAGIC))
    h = json.loads(data[len(MAGIC):end])
    pos = end + 1
    names = data[pos:pos + h["names"]]
    pos += h["names"]
    flat, vocab, rows = array("f"), array("f"), array("q")
    for arr, n in ((flat, h["flat"]), (vocab, h["vocab"]), (rows, h["rows"])):
        size = n * arr.itemsize
        if pos + size > len(data):
            raise ValueError("truncated")
        arr.frombytes(data[pos:pos + size])
        pos += size
    if pos != len(data) or (names.count(b"\n") + 1 if names else 0) != h["rows"]:
        raise ValueError("inconsistent lengths")  # whether the rows fit their index: PackedWeights.from_names
    meta = {k: v for k, v in h.items() if k not in ("names", "rows", "flat", "vocab")}
    return meta, names, rows, flat, vocab


def read(path: Path, build: Callable[..., T]) -> T | None:
    """``build(*parts)`` of the copy at ``path``, or None (logged when a copy was there) when it is
    missing, damaged or not a model: framed wrong here, or refused by ``build`` (ValueError, KeyError,
    TypeError). The caller then parses the model file."""
    try:
        return build(*load(path.read_bytes()))
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        if path.exists():
            log.warning("ignoring the reply model's binary copy %s (%s); parsing the model file", path, exc)
        return None


def write(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".reply_model-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        log.info("reply model copy not written (%s); the next start parses the model file again", exc)
        with contextlib.suppress(OSError, UnboundLocalError):
            os.unlink(tmp)
