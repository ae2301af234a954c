"""Architecture guards: platform SDKs stay behind the Channel seam; modules stay small; the import
graph is strictly layered (app → handlers → bot core/channels/scheduler → cards/nlp/storage) with
no cycle; only storage/ and handlers/*/store.py open database sessions; features are wired by the
app only."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from tests.conftest import REPO

SDK = re.compile(r"^\s*(import|from)\s+(wechatpy|dingtalk_stream|websockets)\b", re.M)
PACKAGES = ("bot", "handlers", "cards", "nlp", "storage", "scheduler")
# The top of the house: the only modules that may import features (handlers).
APP = {"bot.app", "bot.cli", "bot.chat", "bot.__main__", "bot.event_child"}  # wiring and entry points
LOWER = ("cards", "nlp", "storage")
SESSION = re.compile(r"\bdb\.session\(")
# Sessions still opened outside storage/ and the feature stores; each entry is a known debt that
# should move into a storage module (the list may only shrink).
SESSION_DEBT: set[str] = set()


def _sources() -> Iterator[Path]:
    for pkg in PACKAGES:
        for path in (REPO / pkg).rglob("*.py"):
            if "migrations" not in path.parts:
                yield path


def _module(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node except those under ``if TYPE_CHECKING:`` (annotations only, never imported)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for sub in node.orelse:
                yield sub
                yield from _runtime_nodes(sub)
            continue
        yield node
        yield from _runtime_nodes(node)


@cache
def _graph() -> dict[str, set[str]]:
    """module -> our modules it imports (also imports inside functions; ``from pkg import mod``
    counts as importing ``pkg.mod``)."""
    files = {_module(p): p for p in _sources()}
    graph: dict[str, set[str]] = {}
    for mod, path in files.items():
        deps: set[str] = set()
        is_pkg = path.name == "__init__.py"
        for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    pkg = mod if is_pkg else mod.rpartition(".")[0]
                    for _ in range(node.level - 1):
                        pkg = pkg.rpartition(".")[0]
                    base = f"{pkg}.{base}".strip(".")
                for a in node.names:
                    deps.add(f"{base}.{a.name}" if f"{base}.{a.name}" in files else base)
        graph[mod] = {d for d in deps if d in files and d != mod}
    return graph


def _layer(mod: str) -> int:
    if mod in APP:
        return 3
    if mod.startswith("handlers"):
        return 2
    if mod.split(".")[0] in ("bot", "scheduler"):
        return 1
    return 0


def test_only_channels_import_platform_sdks():
    offenders = [
        str(p.relative_to(REPO)) for p in _sources()
        if SDK.search(p.read_text(encoding="utf-8")) and "channels" not in p.parts
    ]
    assert offenders == []


def test_handlers_never_touch_the_wire():
    for path in (REPO / "handlers").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "aiohttp" not in text, f"{path.name} does HTTP itself; go through the Channel seam"


def test_modules_stay_reasonably_small():
    big = {str(p.relative_to(REPO)): n for p in _sources()
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > 450}
    assert big == {}


def test_no_upward_import():
    """app → handlers → bot core/channels/scheduler → cards/nlp/storage; nothing imports upwards."""
    upward = sorted(f"{m} -> {d}" for m, deps in _graph().items() for d in deps if _layer(d) > _layer(m))
    assert upward == [], "move the import up to bot/app.py and inject what the lower layer needs"


def test_lower_packages_stay_independent_of_each_other_where_it_matters():
    """cards/nlp/storage import no bot, handlers or scheduler code, and storage never imports nlp."""
    bad = sorted(f"{m} -> {d}" for m, deps in _graph().items() if m.split(".")[0] in LOWER
                 for d in deps if d.split(".")[0] not in LOWER or (m.startswith("storage") and d.startswith("nlp")))
    assert bad == []


def test_handlers_never_import_the_dispatcher_nor_channels():
    """Only the app wires channels; a feature gets what it needs from them injected via Services."""
    bad = sorted(f"{m} -> {d}" for m, deps in _graph().items() if m.startswith("handlers")
                 for d in deps if d in ("bot.dispatch", "bot.app") or d.startswith("bot.channels"))
    assert bad == []


def test_no_import_cycle():
    graph = _graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        for d in sorted(graph[m]):
            if state.get(d) == 1:
                cycles.append([*stack[stack.index(d):], d] if d in stack else [m, d])
            elif d not in state:
                visit(d, [*stack, d])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    # A package's __init__ re-exporting its own submodules is not a cycle of features.
    real = [c for c in cycles if not all(x == c[0] or x.startswith(f"{c[0]}.") or c[0].startswith(f"{x}.")
                                         for x in c)]
    assert real == []


def test_features_do_not_import_each_other_in_a_circle():
    feature = {m: m.split(".")[1] for m in _graph() if m.startswith("handlers.") and m.count(".") >= 1}
    edges = {(feature[m], feature[d]) for m, deps in _graph().items() if m in feature
             for d in deps if d in feature and feature[d] != feature[m]}
    both = sorted(f"{a} <-> {b}" for a, b in edges if (b, a) in edges and a < b)
    assert both == []


def test_only_storage_and_feature_stores_open_sessions():
    opened = {str(p.relative_to(REPO)) for p in _sources()
              if SESSION.search(p.read_text(encoding="utf-8"))
              and p.parts[len(REPO.parts)] != "storage" and p.name != "store.py"}
    assert opened - SESSION_DEBT == set(), "move the query into storage/ or the feature's store.py"
    assert SESSION_DEBT - opened == set(), "this debt is paid: remove it from SESSION_DEBT"


def test_channels_never_write_tables():
    """Channels read and write through storage modules (outbox, cardstore, inbox, employees): no SQL."""
    bad = sorted(str(p.relative_to(REPO)) for p in (REPO / "bot" / "channels").rglob("*.py")
                 if re.search(r"^\s*(from|import) sqlalchemy", p.read_text(encoding="utf-8"), re.M)
                 or SESSION.search(p.read_text(encoding="utf-8")))
    assert bad == [], "channels go through storage modules (outbox, cardstore, inbox), not the tables"


def test_every_job_a_feature_defines_is_registered_by_the_app():
    import handlers
    from handlers import load_jobs
    from scheduler.registry import JobSpec

    defined = set()
    for info in pkgutil.walk_packages(handlers.__path__, "handlers."):
        module = importlib.import_module(info.name)
        defined |= {v.name for v in vars(module).values() if isinstance(v, JobSpec)}
    assert defined == {j.name for j in load_jobs()}, "list the job in its feature package's jobs = [...]"


def test_feature_queries_live_in_the_features_store():
    """Handlers build no SQL: a feature's queries are in its store.py (one hop to find them)."""
    bad = sorted(str(p.relative_to(REPO)) for p in (REPO / "handlers").rglob("*.py")
                 if p.name != "store.py" and re.search(r"^\s*(from|import) sqlalchemy", p.read_text(encoding="utf-8"), re.M))
    assert bad == []


def test_no_runtime_asserts_and_no_type_ignores():
    """``assert`` vanishes under ``python -O`` (use an explicit check); ``# type: ignore`` hides
    nothing from a type checker we do not run (fix the typing or leave the line plain)."""
    asserts = sorted(f"{p.relative_to(REPO)}:{n.lineno}" for p in _sources()
                     for n in ast.walk(ast.parse(p.read_text(encoding="utf-8"))) if isinstance(n, ast.Assert))
    tests = [p for p in (REPO / "tests").rglob("*.py") if "nlp" not in p.parts and p.name != "test_layering.py"]
    ignores = sorted(str(p.relative_to(REPO)) for p in [*_sources(), *tests]
                     if "type: ignore" in p.read_text(encoding="utf-8"))
    assert asserts == [] and ignores == []


def test_loggers_share_one_hierarchy():
    named = sorted(str(p.relative_to(REPO)) for p in _sources()
                   if re.search(r"getLogger\(\s*[\"']perfbot", p.read_text(encoding="utf-8")))
    assert named == [], "use logging.getLogger(__name__)"
