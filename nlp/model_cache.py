"""A binary copy of the reply model, so a process starts faster.

Parsing nlp/data/reply_model.tsv (136,534 lines of text numbers) takes 0.7 s of a start on a slow
machine; the same packed rows read back from this copy take a few hundredths. The copy is keyed by
the SHA-256 of the model file, so a retrained model never meets a stale copy, and it holds only
numbers, feature names and a JSON header: reading it runs no code (no pickle or marshal). It holds
the lookup index as well (each name's stable 64-bit hash, sorted, and its row), so a start neither
hashes the 190,000 names nor sorts them (another 0.4 s on a slow machine). Anything wrong with it
(missing, truncated, a CRC-32 that differs, another format, a directory we cannot write) means the
text file is parsed as before; the copy is written then, atomically.

Where: ``$PERFBOT_CACHE_DIR``, else ``~/.cache/perfbot`` (created 0700).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import time
import zlib
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

log = logging.getLogger(__name__)
MAGIC = b"PERFBOT-REPLY-MODEL 2\n"
ENV = "PERFBOT_CACHE_DIR"
T = TypeVar("T")


def cache_dir() -> Path:
    return Path(os.environ.get(ENV) or os.path.join(os.path.expanduser("~"), ".cache", "perfbot"))


def cache_path(raw: bytes) -> Path:
    # the format's version in the name: an older copy of the same model is left alone, not warned about
    return cache_dir() / f"reply_model-v2-{hashlib.sha256(raw).hexdigest()[:24]}.bin"


# model fields, names, the sorted index (keys, rows), packed rows, vocabulary, clashing names' rows
Parts = tuple[dict[str, Any], bytes, array, array, array, array, dict[str, int]]


def dump(meta: dict[str, Any], names: bytes, keys: array, rows: array, flat: array, vocab: array,
         clash: dict[str, int]) -> bytes:
    """``meta``: the model's other fields (JSON); ``names`` (UTF-8, joined by newlines), the sorted index
    (``keys``, ``rows``), ``flat``/``vocab``: its packed weights, ``clash``: names whose hashes clash
    (nlp.packed_weights.PackedWeights.parts). The header carries the body's CRC-32."""
    body = [names, keys.tobytes(), rows.tobytes(), flat.tobytes(), vocab.tobytes()]
    crc = 0
    for part in body:
        crc = zlib.crc32(part, crc)
    header = {**meta, "names": len(names), "index": len(keys), "flat": len(flat), "vocab": len(vocab),
              "clash": clash, "crc": crc}
    head = json.dumps(header, ensure_ascii=False).encode("utf-8")
    return b"".join([MAGIC, head, b"\n", *body])


def load(data: bytes) -> Parts:
    """The parts ``dump`` wrote; ValueError (or KeyError) when ``data`` is not exactly that."""
    if not data.startswith(MAGIC):
        raise ValueError("not a reply-model copy")
    end = data.index(b"\n", len(MAGIC))
    h = json.loads(data[len(MAGIC):end])
    pos = end + 1
    if zlib.crc32(memoryview(data)[pos:]) != h["crc"]:
        raise ValueError("damaged (CRC-32 differs)")
    names = data[pos:pos + h["names"]]
    pos += h["names"]
    keys, rows, flat, vocab = array("q"), array("q"), array("f"), array("f")
    for arr, n in ((keys, h["index"]), (rows, h["index"]), (flat, h["flat"]), (vocab, h["vocab"])):
        size = n * arr.itemsize
        if pos + size > len(data):
            raise ValueError("truncated")
        arr.frombytes(data[pos:pos + size])
        pos += size
    clash = h["clash"]
    if pos != len(data) or not isinstance(clash, dict):
        raise ValueError("inconsistent lengths")  # whether the rows fit their index: PackedWeights.from_index
    meta = {k: v for k, v in h.items() if k not in ("names", "index", "flat", "vocab", "clash", "crc")}
    return meta, names, keys, rows, flat, vocab, clash


def read(path: Path, build: Callable[..., T]) -> T | None:
    """``build(*parts)`` of the copy at ``path``, or None (logged when a copy was there) when it is
    missing, damaged or not a model: framed wrong here, or refused by ``build`` (ValueError, KeyError,
    TypeError). The caller then parses the model file."""
    return read_copy(path, lambda data: build(*load(data)), "the reply model's binary copy", "the model file")


def read_copy(path: Path, decode: Callable[[bytes], T], what: str, source: str) -> T | None:
    """``decode`` of the bytes of the cached copy at ``path``, or None when it is missing or ``decode``
    refuses it (ValueError, KeyError, TypeError, UnicodeDecodeError; logged, naming ``what`` and the
    ``source`` the caller builds from instead)."""
    try:
        return decode(path.read_bytes())
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        if path.exists():
            log.warning("ignoring %s %s (%s); parsing %s", what, path, exc, source)
        return None


def write(path: Path, data: bytes, family: str | None = None) -> None:
    """Write the copy atomically. ``family`` (the name's start shared by every copy of this kind,
    e.g. ``reply_model-``): the copies of other models or formats are deleted once this one is in
    place (9.5 MB each for the reply model; a retrained model or a format change wrote a new one and
    left the old), and so are half-written temporary files a crash left behind an hour ago or more.
    A process still running an older model keeps it in memory; it would only rebuild its copy at
    its next start."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        log.info("cache file %s not written (%s); the next start builds it again", path.name, exc)
        with contextlib.suppress(OSError, UnboundLocalError):
            os.unlink(tmp)
        return
    if family:
        _remove_others(path, family)


def _remove_others(path: Path, family: str) -> None:
    stale = time.time() - 3600
    for other in [*path.parent.glob(f"{family}*"), *path.parent.glob(f".{family}*")]:
        if other == path:
            continue
        try:
            if other.name.startswith(".") and other.stat().st_mtime > stale:
                continue  # another process may be writing it right now
            other.unlink()
            log.info("removed the outdated cache file %s", other.name)
        except OSError:
            pass
