"""Import jieba without ``pkg_resources``.

jieba 0.42 reads its dictionary and models through ``pkg_resources`` when it can import it, and
importing ``pkg_resources`` scans every installed distribution: about 14 MB a serving process keeps for
its whole life, for nothing jieba needs (without it, jieba opens the same files next to its own module).
``load()`` imports jieba with ``pkg_resources`` hidden, unless something has imported it already.
"""

from __future__ import annotations

import sys
import threading
from types import ModuleType
from typing import cast

_lock = threading.Lock()


def load() -> ModuleType:
    """The ``jieba`` module, imported (once) so that it opens its data files directly."""
    loaded = sys.modules.get("jieba")
    if loaded is not None:
        return loaded
    with _lock:
        hide = "pkg_resources" not in sys.modules
        if hide:
            # A None entry makes ``import pkg_resources`` raise ImportError (the import system's own rule).
            cast(dict[str, ModuleType | None], sys.modules)["pkg_resources"] = None
        try:
            import jieba
        finally:
            if hide and sys.modules.get("pkg_resources", False) is None:
                del sys.modules["pkg_resources"]
    return jieba
