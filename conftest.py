"""pytest: collect the library's doctests, imported under their installed names.

The top-level folders install as ``sinkplan.layers``, ``sinkplan.sinks``, ... (package-dir
mapping). pytest's own ``--doctest-modules`` would import ``layers/areas.py`` a second time as
a module ``layers.areas`` (and create a module ``layers``, which must not exist): a second copy
of every class, registry and exception. Here each library file's doctests are collected from the
installed module (``sinkplan.layers.areas``), with or without ``--doctest-modules``, once.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from _pytest.doctest import DoctestModule

ROOT = Path(__file__).resolve().parent

#: Top-level folder → installed package (pyproject.toml, [tool.setuptools.package-dir]).
PACKAGES = {"layers": "sinkplan.layers", "sinks": "sinkplan.sinks", "siting": "sinkplan.siting",
            "maps": "sinkplan.maps", "seeds": "sinkplan.seeds", "sinkplan": "sinkplan"}


def installed_name(path: Path) -> str | None:
    """``sinkplan.layers.areas`` for ``layers/areas.py``; None outside the library's packages."""
    try:
        parts = Path(path).resolve().with_suffix("").relative_to(ROOT).parts
    except ValueError:
        return None
    if len(parts) < 2 or parts[0] not in PACKAGES or parts[-1] == "__main__":
        return None
    for i in range(1, len(parts)):  # every folder on the way is a package
        if not (ROOT.joinpath(*parts[:i]) / "__init__.py").is_file():
            return None
    names = [PACKAGES[parts[0]], *parts[1:]]
    if names[-1] == "__init__":
        names.pop()
    return ".".join(names)


class InstalledDoctestModule(DoctestModule):
    """Doctests of a library module, imported by its installed name."""

    module_name: str = ""

    def _getobj(self):
        return importlib.import_module(self.module_name)


@pytest.hookimpl(wrapper=True)
def pytest_collect_file(file_path: Path, parent):
    collected = yield
    if file_path.suffix != ".py" or (name := installed_name(file_path)) is None:
        return collected
    # pytest's own doctest collector (--doctest-modules) would import the file under another name
    kept = [c for c in collected if type(c) is not DoctestModule]
    mod = InstalledDoctestModule.from_parent(parent, path=file_path)
    mod.module_name = name
    return [*kept, mod]
