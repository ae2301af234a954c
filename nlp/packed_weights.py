"""The learned reply model's weights as a serving process keeps them: packed arrays indexed by a
stable hash of each feature's name (:class:`PackedWeights`)."""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterator, Mapping, Sequence
from hashlib import blake2b as _blake2b
from itertools import islice
from operator import lt as _lt


class PackedWeights(Mapping[str, Sequence[float]]):
    """Feature -> its 8 numbers, packed (a feature's row read as a slice): the same decisions as a dict
    of tuples in far less memory, which a serving process keeps for its whole life. Rows are single
    precision (the file's numbers have 6 significant digits at most, so nothing is lost that the file
    had), and a vocabulary-only row (7 zero weights and its idf^2, about a quarter of the features) keeps
    only its last number: 119,650 features take 2.9 MB of rows instead of 7.7 (doubles, every row 8 wide)
    and 40 MB as a dict of tuples.

    The index is keyed by the feature name's hash (a stable one, :meth:`key`, so the sorted index is
    stored in the binary copy), not by the name, and it is two sorted arrays (each name's 64-bit hash,
    and its row), searched by bisection: no object per feature. As a dict of hash ->
    row (two tables: full rows and vocabulary-only rows) the index of 189,740 features took about 19 MB
    of dict slots and int objects for the life of the process; as arrays it takes 3 MB, and a lookup
    costs about 1 microsecond instead of 0.4 (a reply makes about fifty lookups). The names are kept
    once, as UTF-8 in one bytes object (about 1.5 MB), for iteration and the model's binary copy. While
    rows are added, the keys go into a flat array and are sorted in one go when first used. Two known
    names with the same hash (about one model in 10^9 at this size) are both looked up by name
    (``_clash``); an unknown feature is taken for a known one only if its 64-bit hash equals that
    feature's (about 10^-14 per lookup)."""

    __slots__ = ("_keys", "_rows", "_sorted", "_flat", "_vocab", "_names", "_clash", "_found")
    WIDTH = 8
    # Rows of recently looked-up names, kept by name: the same features come up reply after reply (common
    # words and characters), and a kept one skips the hash and the bisection (about a sixth of analysing
    # a reply, py-spy). At most this many (about 4 MB), dropped all at once when full.
    FOUND_MAX = 40_000
    _ZEROS = (0.0,) * (WIDTH - 1)
    _CLASH = -(1 << 62)  # row value: look the name up in _clash
    _CHUNK = 1 << 16  # bytes of names decoded at a time

    def __init__(self, rows: Mapping[str, Sequence[float]] | None = None) -> None:
        # row >= 0: the row starts there in _flat; row < 0: a vocabulary-only row, its number at ~row.
        # _keys/_rows: in the order added while building; sorted by key (the index) once _sorted.
        self._keys, self._rows = array("q"), array("q")
        self._sorted = False
        self._flat = array("f")
        self._vocab = array("f")
        self._names = bytearray()  # each name followed by a newline
        self._clash: dict[str, int] = {}
        self._found: dict[str, int | None] = {}
        for f, w in (rows or {}).items():
            self.add(f, w)

    @staticmethod
    def key(f: str) -> int:
        """The name's 64-bit hash, the same in every process (``hash()`` is salted per process), so the
        sorted index is stored in the binary copy: a start neither hashes nor sorts 190,000 names."""
        return int.from_bytes(_blake2b(f.encode("utf-8"), digest_size=8).digest(), "little", signed=True)

    @classmethod
    def from_index(cls, names: bytes, keys: array, rows: array, flat: array, vocab: array,
                   clash: Mapping[str, int]) -> PackedWeights:
        """Packed weights from what :meth:`parts` gave (nlp.model_cache). ValueError when they cannot be
        that: keys not strictly increasing, a count that differs, rows not whole WIDTHs or outside them."""
        marked = rows.count(cls._CLASH)
        plain = [r for r in rows if r != cls._CLASH] if marked else rows
        n_names = names.count(b"\n") + 1 if names else 0
        if (len(keys) != len(rows) or len(flat) % cls.WIDTH or n_names != len(keys) - marked + len(clash)
                or bool(marked) != bool(clash)
                or not all(map(_lt, keys, islice(keys, 1, None)))
                or any(not (-len(vocab) <= r < len(flat)) for r in clash.values())
                or (plain and not (-len(vocab) <= min(plain) and max(plain) < len(flat)))):
            raise ValueError("packed rows and their index do not fit together")
        weights = cls()
        weights._names = bytearray(names)  # one copy of the names, not two
        if names:
            weights._names += b"\n"
        weights._keys, weights._rows, weights._flat, weights._vocab = array("q", keys), array("q", rows), flat, vocab
        weights._clash, weights._sorted = dict(clash), True
        return weights

    def parts(self) -> tuple[bytes, array, array, array, array, dict[str, int]]:
        """The names (joined by newlines), the sorted index (keys, rows), the packed arrays and the
        clashing names' rows, as :meth:`from_index` takes them."""
        self.build()
        return bytes(self._names[:-1]), self._keys, self._rows, self._flat, self._vocab, dict(self._clash)

    def add(self, f: str, w: Sequence[float]) -> None:
        """Append one feature's row (shorter rows are padded with zeros at the end): rows go straight
        into the packed arrays, so loading the model never holds a dict of tuples (which would leave
        the process tens of MB larger for good, the allocator keeping the freed memory)."""
        if self._sorted:
            raise ValueError("rows are added before the first lookup")
        w = (*w, *(0.0,) * (self.WIDTH - len(w)))
        self._names += f.encode("utf-8") + b"\n"
        self._keys.append(self.key(f))
        if w[:-1] == self._ZEROS:
            self._rows.append(~len(self._vocab))
            self._vocab.append(w[-1])
        else:
            self._rows.append(len(self._flat))
            self._flat.extend(w)

    def build(self) -> None:
        """Sort the index (done on first use; the loaders do it before they hand the model out, under their
        lock: two threads sorting at once would each build the same index from the same arrays)."""
        if self._sorted:
            return
        keys, rows = self._keys, self._rows
        order = sorted(range(len(keys)), key=keys.__getitem__)
        skeys, srows = array("q", (keys[i] for i in order)), array("q", (rows[i] for i in order))
        clashing = {skeys[i] for i in range(1, len(skeys)) if skeys[i] == skeys[i - 1]}
        if clashing:  # names with the same hash: those go by name
            for f, k, row in zip(self, keys, rows, strict=True):
                if k in clashing:
                    self._clash[f] = row
            first = [i for i in range(len(skeys)) if not (i and skeys[i] == skeys[i - 1])]
            skeys, srows = (array("q", (skeys[i] for i in first)),
                            array("q", (self._CLASH if skeys[i] in clashing else srows[i] for i in first)))
        self._keys, self._rows, self._sorted = skeys, srows, True

    def _locate(self, f: str) -> int | None:
        found = self._found
        if f in found:
            return found[f]
        if not self._sorted:
            self.build()
        keys, k = self._keys, self.key(f)
        i = bisect_left(keys, k)
        if i == len(keys) or keys[i] != k:
            row = None
        else:
            row = self._rows[i]
            row = self._clash.get(f) if row == self._CLASH else row
        if len(found) >= self.FOUND_MAX:
            found.clear()  # another thread may be reading it: a dict's operations hold the interpreter lock
        found[f] = row
        return row

    def _row(self, i: int) -> Sequence[float]:
        return self._flat[i : i + self.WIDTH] if i >= 0 else (*self._ZEROS, self._vocab[~i])

    def get(self, f: str, default: Sequence[float] | None = None) -> Sequence[float] | None:
        i = self._locate(f)
        return default if i is None else self._row(i)

    def __getitem__(self, f: str) -> Sequence[float]:
        i = self._locate(f)
        if i is None:
            raise KeyError(f)
        return self._row(i)

    def __iter__(self) -> Iterator[str]:
        # decoded a chunk of lines at a time: a list of all 190,000 names at once (about 15 MB) would leave the
        # process that much larger after loading, the allocator keeping the freed memory
        data, start = self._names, 0
        while start < len(data):
            end = data.find(b"\n", min(start + self._CHUNK, len(data) - 1))
            yield from data[start:end].decode("utf-8").split("\n")
            start = end + 1

    def __len__(self) -> int:
        return self._names.count(b"\n")
