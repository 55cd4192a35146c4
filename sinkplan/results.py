"""Result folders: written under a temporary name, renamed when complete, with a manifest.

Every command writes one folder. :class:`ResultFolder` creates ``.NAME.tmp-XXXX`` beside
the target, hands out paths inside it, writes ``manifest.json`` (command, parameters,
inputs with size and SHA-256, package versions, start and end time, outputs) and then
renames it into place. An existing folder is replaced only with ``overwrite=True``; a
failure removes the temporary folder and leaves any earlier result untouched.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import platform
import shutil
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from sinkplan.layers.errors import OutputExists
from sinkplan.layers.files import sha256_content, sha256_file
from sinkplan.layers.outputs import DIR_MODE, FILE_MODE

__all__ = ["ResultFolder", "file_record", "package_versions", "write_json_atomic"]

logger = logging.getLogger(__name__)

_PACKAGES = (
    "sinkplan", "numpy", "pandas", "rasterio", "pyogrio", "geopandas", "shapely", "pyproj",
    "xarray", "rioxarray", "dask", "distributed", "scikit-learn", "folium", "matplotlib",
)
_SIDECARS = (".dbf", ".shx", ".prj", ".cpg", ".qix", ".sbn", ".sbx")


def package_versions() -> dict[str, str]:
    """Versions of sinkplan's main dependencies, GDAL and PROJ."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    try:
        import rasterio
        import pyproj

        out["gdal"] = rasterio.__gdal_version__
        out["proj"] = pyproj.proj_version_str
    except ImportError:  # pragma: no cover - both are hard dependencies
        pass
    return out


def file_record(path: str | os.PathLike) -> dict[str, Any]:
    """Path, size and SHA-256 of a file (for a shapefile, of each of its sidecars too)."""
    p = Path(path)
    if p.is_dir():  # FileGDB and other folder formats
        files = [q for q in p.rglob("*") if q.is_file()]
        return {"path": str(p.resolve()), "bytes": sum(q.stat().st_size for q in files), "sha256": sha256_content(p)}
    rec: dict[str, Any] = {"path": str(p.resolve()), "bytes": p.stat().st_size, "sha256": sha256_file(p)}
    if p.suffix.lower() == ".shp":
        rec["sidecars"] = [
            {"path": str(q.resolve()), "bytes": q.stat().st_size, "sha256": sha256_file(q)}
            for q in sorted(p.parent.glob(p.stem + ".*"))
            if q.suffix.lower() in _SIDECARS
        ]
    return rec


def write_json_atomic(path: str | os.PathLike, obj: Any) -> Path:
    """Write JSON (UTF-8, Chinese kept readable) to a temp name, then rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.fchmod(fd, FILE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(obj, f, ensure_ascii=False, indent=2, default=_json_default, allow_nan=False)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _json_default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (Path, dt.date)):
        return str(o)
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


class ResultFolder:
    """A result folder written atomically.

    Examples
    --------
    >>> with ResultFolder("out/carbon", command="carbon", parameters={}, inputs=[]) as rf:  # doctest: +SKIP
    ...     rf.write_csv("stocks_by_zone.csv", df)
    """

    def __init__(
        self,
        out: str | os.PathLike,
        *,
        command: str,
        parameters: dict[str, Any],
        inputs: list[str | os.PathLike],
        overwrite: bool = False,
    ) -> None:
        self.out = Path(out)
        self.command = command
        self.parameters = dict(parameters)
        self.inputs = [Path(p) for p in inputs if p is not None]
        self.overwrite = overwrite
        self.dir: Path | None = None
        self.extra_manifest: dict[str, Any] = {}
        self._start = dt.datetime.now(dt.timezone.utc)

    def __enter__(self) -> "ResultFolder":
        if self.out.exists() and not self.overwrite:
            raise OutputExists(f"{self.out}: result folder exists; pass --overwrite to replace it or choose another --out")
        if self.out.exists() and not self.out.is_dir():
            raise OutputExists(f"{self.out}: exists and is not a folder; choose another --out")
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.dir = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.tmp-", dir=self.out.parent))
        self.dir.chmod(DIR_MODE)
        return self

    def path(self, name: str) -> Path:
        """Path of an output file inside the (temporary) folder."""
        assert self.dir is not None, "use ResultFolder as a context manager"
        p = self.dir / name
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def write_json(self, name: str, obj: Any) -> Path:
        """Write a JSON file (NaN is refused: JSON has none)."""
        return write_json_atomic(self.path(name), obj)

    def write_csv(self, name: str, df: pd.DataFrame) -> Path:
        """Write a CSV in UTF-8 with BOM, so Excel shows Chinese names right."""
        p = self.path(name)
        df.to_csv(p, index=False, encoding="utf-8-sig", lineterminator="\n")
        return p

    def write_xlsx(self, name: str, sheets: dict[str, pd.DataFrame]) -> Path:
        """Write an Excel workbook, one sheet per table; text is never stored as a formula."""
        p = self.path(name)
        with pd.ExcelWriter(p, engine="openpyxl") as xw:
            for sheet, df in sheets.items():
                df.to_excel(xw, sheet_name=_sheet_name(sheet), index=False)
                # openpyxl stores any string starting with "=" as a formula: a zone named
                # "=SUM(1+1)" (or "=HYPERLINK(...)") would run in Excel. Tables hold data only.
                for row in xw.sheets[_sheet_name(sheet)].iter_rows():
                    for cell in row:
                        if cell.data_type == "f":
                            cell.data_type = "s"
        return p

    def _manifest(self) -> dict[str, Any]:
        assert self.dir is not None
        outputs = []
        for p in sorted(self.dir.rglob("*")):
            if p.is_file() and p.name != "manifest.json":
                outputs.append({"path": p.relative_to(self.dir).as_posix(), "bytes": p.stat().st_size, "sha256": sha256_file(p)})
        return {
            "command": self.command,
            "argv": sys.argv,
            "parameters": self.parameters,
            "inputs": [file_record(p) for p in self.inputs if p.exists()],
            "outputs": outputs,
            "versions": package_versions(),
            "started": self._start.isoformat(timespec="seconds"),
            "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            **self.extra_manifest,
        }

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self.dir is not None
        if exc_type is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            return
        try:
            self.write_json("manifest.json", self._manifest())
            old = None
            if self.out.exists():
                old = self.out.with_name(f".{self.out.name}.old-{os.getpid()}")
                os.replace(self.out, old)
            os.replace(self.dir, self.out)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise
        logger.info("wrote %s", self.out)


def _sheet_name(name: str) -> str:
    bad = set('[]:*?/\\')
    return "".join("_" if ch in bad else ch for ch in name)[:31] or "sheet"
