"""The notebooks in notebooks/ run top to bottom on the demo region, and call only public,
typed, documented functions of sinkplan's packages.

The notebooks are jupytext percent-format ``.py`` files (no outputs are stored). Each test
converts one to a notebook and executes it with nbclient in a fresh kernel on a demo folder
built once for this module (``sinkplan demo`` at scale 0.3, inputs and results); a cell that
raises fails the test. ``MPLBACKEND=Agg``; a first cell makes any socket connection beyond
this machine an error, so a notebook that needs the network fails.

The API check parses the notebooks' code (ast), resolves every name imported from the
packages (``from X import Y``, ``import X``), every ``X.Y(...)`` call on them and, one level
deep, methods called on objects whose class is known from a constructor or a return
annotation, and asserts each is public (no leading underscore), has a docstring and has type
annotations on every parameter and its return.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import re
import time
import typing
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
PACKAGES = ("sinkplan",)
DEMO_ENV = "SINKPLAN_DEMO_DIR"


def test_three_notebooks_in_percent_format():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03"]
    for p in NOTEBOOKS:
        text = p.read_text(encoding="utf-8")
        assert "format_name: percent" in text, p
        assert not p.with_suffix(".ipynb").exists(), f"{p.with_suffix('.ipynb')}: paired notebooks are not committed"
        # Chinese heading with English beside it: '## 中文 / English'
        headings = re.findall(r"^# (#+ .+)$", text, flags=re.MULTILINE)
        assert headings, p
        for h in headings:
            assert re.search(r"[\u4e00-\u9fff].* / [A-Za-z]", h), f"{p.name}: heading {h!r} lacks 'Chinese / English'"


# --------------------------------------------------------------------------- execution
@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    """``sinkplan demo`` at scale 0.3 (inputs and every result folder and map), built once."""
    from sinkplan.cmd_demo import run
    from sinkplan.context import RunContext

    out = tmp_path_factory.mktemp("notebooks") / "demo"
    run(argparse.Namespace(out=str(out), seed=2025, scale=0.3, overwrite=False), RunContext(quiet=True))
    return out


#: Cell run first in every notebook under test: Python sockets may only reach this machine
#: (the kernel's own ZMQ channels are C sockets, connected already).
NO_NETWORK = """
import socket as _socket
_connect = _socket.socket.connect
def _local_only(self, address, *args):
    host = address[0] if isinstance(address, tuple) else address
    if self.family in (_socket.AF_INET, _socket.AF_INET6) and host not in ("localhost", "127.0.0.1", "::1"):
        raise OSError(f"network access in a notebook test: {address!r}")
    return _connect(self, address, *args)
_socket.socket.connect = _local_only
"""


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, demo_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    jupytext = pytest.importorskip("jupytext")
    nbclient = pytest.importorskip("nbclient")
    import nbformat
    from nbclient.exceptions import CellExecutionError

    monkeypatch.setenv(DEMO_ENV, str(demo_dir))  # the kernel inherits the environment
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("PYTHONWARNINGS", "ignore::DeprecationWarning")
    nb = jupytext.read(path)
    nb.cells.insert(0, nbformat.v4.new_code_cell(NO_NETWORK))
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    t0 = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as exc:  # the failing cell and its traceback, not nbclient's internals
        pytest.fail(f"{path.name}: a cell failed\n{exc}", pytrace=False)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    figures = [o for o in outputs if "image/png" in o.get("data", {})]
    tables = [o for o in outputs if "text/html" in o.get("data", {}) and "<table" in o["data"]["text/html"]]
    assert figures, f"{path.name}: no figure shown"
    assert tables, f"{path.name}: no table shown"
    print(f"{path.name}: {time.perf_counter() - t0:.1f} s, {len(figures)} figures, {len(tables)} tables")


# --------------------------------------------------------------------------- API check
def _module(name: str):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _ours(obj) -> bool:
    mod = getattr(obj, "__module__", None) or getattr(obj, "__name__", "")
    return isinstance(mod, str) and mod.split(".")[0] in PACKAGES


def _hints(obj) -> dict:
    try:
        return typing.get_type_hints(obj)
    except (NameError, TypeError, AttributeError):  # an annotation that does not evaluate: no inference
        return {}


def _as_class(tp, *, item: bool = False):
    """The class of ours an annotation names; with ``item``, the class of its items/values."""
    if item:
        args = typing.get_args(tp)
        origin = typing.get_origin(tp)
        if origin in (dict, typing.Mapping) or (inspect.isclass(origin) and issubclass(origin, dict)):
            tp = args[1] if len(args) == 2 else None
        elif origin in (list, tuple, typing.Sequence) and args:
            tp = args[0]
        else:
            return None
    return tp if inspect.isclass(tp) and _ours(tp) else None


class _Collector(ast.NodeVisitor):
    """Symbols of the packages a notebook uses: ``{qualified name: object}``.

    Objects' classes are inferred from constructors, return annotations, dataclass field and
    property annotations and ``dict[..., C]`` subscripts, so ``lc.grid.check_same(...)``
    resolves to :meth:`sinkplan.layers.grid.Grid.check_same`.
    """

    def __init__(self) -> None:
        self.names: dict[str, tuple[str, object]] = {}  # local name → (qualified name, module / function / class)
        self.instances: dict[str, object] = {}  # local name → annotation of the object it holds
        self.used: dict[str, object] = {}
        self.unresolved: list[str] = []

    def _use(self, qualname: str, obj) -> None:
        self.used.setdefault(qualname, obj)

    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            if a.name.split(".")[0] in PACKAGES:
                mod = _module(a.name)
                if mod is None:
                    self.unresolved.append(f"import {a.name}")
                    continue
                self._use(a.name, mod)
                local = a.asname or a.name.split(".")[0]
                self.names[local] = (a.name, mod) if a.asname else (local, _module(local))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if not node.module or node.module.split(".")[0] not in PACKAGES:
            return
        mod = _module(node.module)
        for a in node.names:
            obj = getattr(mod, a.name, None) if mod is not None else None
            if obj is None:
                obj = _module(f"{node.module}.{a.name}")
            if obj is None:
                self.unresolved.append(f"from {node.module} import {a.name}")
                continue
            self._use(f"{node.module}.{a.name}", obj)
            self.names[a.asname or a.name] = (f"{node.module}.{a.name}", obj)

    def _type_of(self, expr: ast.expr):
        """The annotation (type) of an expression's value, when it can be told."""
        if isinstance(expr, ast.Name):
            return self.instances.get(expr.id)
        if isinstance(expr, ast.Call):
            _, obj = self._resolve(expr.func)
            func = obj.__func__ if isinstance(obj, (classmethod, staticmethod)) else obj
            if inspect.isclass(func):
                return func if _ours(func) else None
            return _hints(func).get("return") if callable(func) else None
        if isinstance(expr, ast.Attribute):
            cls = _as_class(self._type_of(expr.value))
            if cls is None:
                return None
            attr = inspect.getattr_static(cls, expr.attr, None)
            if isinstance(attr, property):
                return _hints(attr.fget).get("return")
            return _hints(cls).get(expr.attr)
        if isinstance(expr, ast.Subscript):
            return _as_class(self._type_of(expr.value), item=True)
        return None

    def _resolve(self, expr: ast.expr):
        """(qualified name, object) of a name, attribute chain or method, or (None, None)."""
        if isinstance(expr, ast.Name):
            return self.names.get(expr.id, (None, None))
        if isinstance(expr, ast.Attribute):
            cls = _as_class(self._type_of(expr.value))
            if cls is not None:  # a method of an object whose class is known
                obj = inspect.getattr_static(cls, expr.attr, None)
                return (None, None) if obj is None else (f"{cls.__module__}.{cls.__qualname__}.{expr.attr}", obj)
            qual, owner = self._resolve(expr.value)
            if owner is None:
                return None, None
            obj = inspect.getattr_static(owner, expr.attr, None) if inspect.isclass(owner) else getattr(owner, expr.attr, None)
            return (None, None) if obj is None else (f"{qual}.{expr.attr}", obj)
        return None, None

    def visit_Call(self, node: ast.Call) -> None:
        qual, obj = self._resolve(node.func)
        if obj is not None and not inspect.ismodule(obj) and (_ours(obj) or isinstance(obj, (classmethod, staticmethod))):
            self._use(qual, obj)
        self.generic_visit(node)

    def _bind(self, target: ast.expr, value: ast.expr | None, tp=None) -> None:
        if isinstance(target, ast.Name):
            tp = self._type_of(value) if value is not None else tp
            if tp is not None:
                self.instances[target.id] = tp
            else:
                self.instances.pop(target.id, None)
        elif isinstance(target, (ast.Tuple, ast.List)):
            if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts):
                for t, v in zip(target.elts, value.elts):
                    self._bind(t, v)
                return
            tp = self._type_of(value) if value is not None else tp
            args = typing.get_args(tp) if typing.get_origin(tp) is tuple else ()
            for i, t in enumerate(target.elts):
                self._bind(t, None, args[i] if i < len(args) and args[-1] is not Ellipsis else None)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.generic_visit(node)
        for target in node.targets:
            self._bind(target, node.value)

    def visit_With(self, node: ast.With) -> None:
        for item in node.items:
            if item.optional_vars is not None:
                self._bind(item.optional_vars, item.context_expr)
        self.generic_visit(node)


def _problems(qual: str, obj) -> list[str]:
    """Why ``obj`` is not public, documented and typed (empty when it is)."""
    out = []
    parts = qual.split(".")
    if any(p.startswith("_") and not (p.startswith("__") and p.endswith("__")) for p in parts):
        out.append("private (leading underscore)")
    if inspect.ismodule(obj):
        return out
    func = obj.__func__ if isinstance(obj, (classmethod, staticmethod)) else obj
    if isinstance(func, property):
        func = func.fget
    if not (inspect.isclass(func) or inspect.isfunction(func) or inspect.ismethod(func)):
        return out  # a constant
    if not (inspect.getdoc(func) or "").strip():
        out.append("no docstring")
    if inspect.isclass(func):
        init = func.__dict__.get("__init__") or next(
            (c.__dict__["__init__"] for c in func.__mro__[1:] if "__init__" in c.__dict__ and _ours(c)), None)
        if init is None:  # pydantic models and plain classes without an __init__ of ours
            return out
        func = init
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return out
    params = [p for i, p in enumerate(sig.parameters.values()) if not (i == 0 and p.name in ("self", "cls"))]
    missing = [p.name for p in params if p.annotation is inspect.Parameter.empty]
    if missing:
        out.append(f"parameters without type annotation: {', '.join(missing)}")
    if sig.return_annotation is inspect.Signature.empty and func.__name__ != "__init__":
        out.append("no return annotation")
    return out


def api_uses(path: Path) -> tuple[dict[str, object], list[str]]:
    """Every package symbol a notebook uses (qualified name → object) and imports that failed."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    c = _Collector()
    c.visit(tree)
    return c.used, c.unresolved


def test_api_check_finds_gaps(tmp_path: Path) -> None:
    """The checker flags a private, an untyped and an undocumented function."""
    import types

    def untyped(a, b: int) -> int:
        """Doc."""
        return b

    def undocumented(a: int) -> int:
        return a

    assert _problems("m._private", untyped)[0] == "private (leading underscore)"
    assert _problems("m.untyped", untyped) == ["parameters without type annotation: a"]
    assert _problems("m.undocumented", undocumented) == ["no docstring"]
    assert _problems("m.mod", types.ModuleType("mod")) == []
    code = "from sinkplan.sinks.stocks import class_area_ha, CO2_PER_C\nfrom sinkplan.sinks.blocks import ClassSlots\ns = ClassSlots.build(x)\ns.slot_of(y)\n"
    probe = tmp_path / "probe.py"
    probe.write_text(code, encoding="utf-8")
    used, unresolved = api_uses(probe)
    assert not unresolved
    assert {"sinkplan.sinks.stocks.class_area_ha", "sinkplan.sinks.stocks.CO2_PER_C", "sinkplan.sinks.blocks.ClassSlots",
            "sinkplan.sinks.blocks.ClassSlots.build", "sinkplan.sinks.blocks.ClassSlots.slot_of"} <= set(used)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_api_is_public_typed_documented(path: Path) -> None:
    used, unresolved = api_uses(path)
    assert not unresolved, f"{path.name}: cannot import {unresolved}"
    assert used, f"{path.name}: uses no package function"
    gaps = {q: p for q, o in sorted(used.items()) if (p := _problems(q, o))}
    listing = "\n".join(f"  {q}: {'; '.join(p)}" for q, p in gaps.items())
    assert not gaps, f"{path.name} calls functions that are not public, typed and documented:\n{listing}"
