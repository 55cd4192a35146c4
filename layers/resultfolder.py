"""Writing result folders: one atomic folder writer, one table writer, one JSON cleaner.

Every result folder (:mod:`sinkplan.layers.resultspec` says what each kind holds) is written
through :class:`ResultFolder`:

* **Claimed at the start.** Entering the context takes an exclusive lock beside the target
  (``.NAME.lock``, ``flock``: released by the kernel if the process dies, so it is never
  stale). A second run with the same target while the first runs fails at once with
  :class:`~sinkplan.layers.errors.OutputBusy`, naming the first run's process id.
* **Written under a temporary name** (``.NAME.tmp-XXXX`` beside the target), then renamed
  into place when complete, after ``manifest.json`` (command, parameters, inputs with size
  and SHA-256, every output with its SHA-256, package versions, start and end time). A
  failure removes the temporary folder and leaves any earlier result untouched.
* **Overwrite rules.** An existing target is replaced only with ``overwrite=True``, only if a
  previous run wrote it (its manifest lists every file in it: anything else stops the run,
  naming the foreign files), and never if it is, or contains, one of the run's inputs (or
  lies inside an input that is a folder). The checks run at the start and again just
  before the final rename.

Tables go through :func:`write_csv` / :func:`write_xlsx`: CSV in UTF-8 with a BOM (Excel shows
Chinese names right), text cells that a spreadsheet would run as a formula (starting with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return, and not a plain number) prefixed with
``'`` (the OWASP guard); XLSX cells always stored as values, never as formulas. JSON goes
through :func:`clean_json`: numpy scalars and arrays become numbers and lists, a non-finite
number is refused with a one-line error naming its key (JSON has no NaN; write ``None`` for
"no value" on purpose).

Examples
--------
>>> import pandas as pd, tempfile, pathlib
>>> from sinkplan.layers import resultspec as rs
>>> out = pathlib.Path(tempfile.mkdtemp()) / "carbon"
>>> with ResultFolder(out, kind="carbon", command="carbon", parameters={}, inputs=[]) as rf:
...     _ = rf.write_csv(rs.STOCKS_BY_ZONE, pd.DataFrame({"zone": ["=HYPERLINK(\\"http://x\\",\\"y\\")"], "area_ha": [1.5]}))
>>> (out / rs.STOCKS_BY_ZONE.name).read_text(encoding="utf-8-sig")
'zone,area_ha\\n"\\'=HYPERLINK(""http://x"",""y"")",1.5\\n'
>>> clean_json({"zones": [{"coverage": float("nan")}]})
Traceback (most recent call last):
...
sinkplan.layers.errors.ResultError: zones[0].coverage is nan: JSON has no NaN or Infinity; the writer must give None for 'no value' or fix the figure
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import json
import logging
import math
import os
import platform
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sinkplan.layers import resultspec as rs
from sinkplan.layers.errors import OutputBusy, OutputError, OutputExists, ResultError
from sinkplan.layers.files import display_path, sha256_content, sha256_file
from sinkplan.layers.outputs import DIR_MODE, FILE_MODE
from sinkplan.layers.writing import check_output_path, guarded_write, write_error

__all__ = [
    "ResultFolder",
    "clean_json",
    "guard_cell",
    "guard_frame",
    "write_csv",
    "write_xlsx",
    "totals_row",
    "read_xlsx_sheet",
    "csvw_metadata",
    "write_json_atomic",
    "write_text_atomic",
    "file_record",
    "package_versions",
    "claim",
    "check_replaceable",
    "read_manifest",
    "folder_kind",
    "audit_folder",
    "sheet_name",
    "result_folder",
    "targets_record",
]

logger = logging.getLogger(__name__)

_PACKAGES = (
    "sinkplan", "numpy", "pandas", "rasterio", "pyogrio", "geopandas", "shapely", "pyproj",
    "xarray", "rioxarray", "dask", "distributed", "scikit-learn", "matplotlib",
)
_SIDECARS = (".dbf", ".shx", ".prj", ".cpg", ".qix", ".sbn", ".sbx")
#: Foreign files named in an overwrite refusal at most.
_MAX_NAMED = 5


# --------------------------------------------------------------------------- JSON
def clean_json(obj: Any, *, where: str = "") -> Any:
    """A JSON-ready copy of ``obj``: numpy numbers and arrays as Python numbers and lists,
    tuples as lists, paths and dates as text, keys as text.

    Raises
    ------
    ResultError
        A non-finite number (NaN, ±Infinity), naming its key path (``zones[3].coverage``).
    TypeError
        An object JSON cannot represent.
    """
    if obj is None or isinstance(obj, bool):
        return obj
    if isinstance(obj, str):  # a file name that is not UTF-8 (surrogates) is written as \xNN escapes
        return display_path(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        if not math.isfinite(v):
            raise ResultError(f"{where or 'value'} is {v}: JSON has no NaN or Infinity; the writer must give None "
                              "for 'no value' or fix the figure")
        return v
    if isinstance(obj, Mapping):
        return {display_path(str(k)): clean_json(v, where=f"{where}.{k}" if where else str(k)) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        obj = obj.tolist()
    if isinstance(obj, (list, tuple)):
        return [clean_json(v, where=f"{where}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, (Path, dt.date)):
        return display_path(str(obj))
    raise TypeError(f"{where or 'value'}: {type(obj).__name__} is not JSON serialisable")


def _atomic_write(path: Path, write) -> Path:
    """Write through ``write(file)`` to a temporary name beside ``path``, then rename."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.fchmod(fd, FILE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(path: str | os.PathLike, obj: Any) -> Path:
    """Write JSON (UTF-8, Chinese readable, indented) atomically; non-finite numbers refused."""
    path = Path(path)
    data = clean_json(obj, where="")

    def write(f):
        json.dump(data, f, ensure_ascii=False, indent=2, allow_nan=False)
        f.write("\n")

    try:
        return _atomic_write(path, write)
    except ResultError as exc:  # pragma: no cover - clean_json raised before
        raise ResultError(f"{path.name}: {exc}") from None


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write a text file (UTF-8) atomically."""
    return _atomic_write(Path(path), lambda f: f.write(text))


# --------------------------------------------------------------------------- tables
_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\Z")


def guard_cell(value: Any) -> Any:
    """A text cell a spreadsheet could run as a formula, made inert by a leading ``'``.

    Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed,
    unless it is a plain number (``-2``, ``+1.5e3``); anything not text is returned as is.

    Examples
    --------
    >>> guard_cell('=HYPERLINK("http://x","y")'), guard_cell("-2"), guard_cell("四子王旗"), guard_cell(-2.0)
    ('\\'=HYPERLINK("http://x","y")', '-2', '四子王旗', -2.0)
    >>> guard_cell("@SUM(A1)"), guard_cell("\\t=1"), guard_cell("-1+2")
    ("'@SUM(A1)", "'\\t=1", "'-1+2")

    Text that already starts with quotes before a trigger gains one more, so that
    :func:`unguard_cell` gives every value back exactly:

    >>> guard_cell("'=x"), unguard_cell(guard_cell("'=x")), unguard_cell(guard_cell("=x")), unguard_cell("'abc")
    ("''=x", "'=x", '=x', "'abc")
    """
    if isinstance(value, str) and value.lstrip("'").startswith(_TRIGGERS) and not _NUMBER.match(value):
        return "'" + value
    return value


def unguard_cell(value: Any) -> Any:
    """The text :func:`guard_cell` was given: one leading ``'`` removed where the guard put it
    (before further quotes and a trigger), anything else returned as is. Readers of a result CSV use it
    so a zone named ``=HYPERLINK(...)`` joins its own polygon again."""
    if isinstance(value, str) and value.startswith("'") and value[1:].lstrip("'").startswith(_TRIGGERS) \
            and not _NUMBER.match(value[1:]):
        return value[1:]
    return value


def guard_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every text cell (and column name) guarded; numeric columns untouched."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c].dtype):
            out[c] = out[c].map(guard_cell)
    out.columns = [guard_cell(str(c)) if isinstance(c, str) else c for c in out.columns]
    return out


def write_csv(path: str | os.PathLike, df: pd.DataFrame) -> Path:
    """Write a table as CSV: UTF-8 with BOM, ``\\n`` line ends, no index, formula-guarded text."""
    path = Path(path)
    text = guard_frame(df).to_csv(index=False, lineterminator="\n")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.fchmod(fd, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode("utf-8-sig"))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def sheet_name(name: str) -> str:
    """A valid Excel sheet name: no ``[]:*?/\\``, no ``'`` at either end, at most 31 characters
    (UTF-16 units, as Excel counts them: a character beyond the BMP takes two).

    Examples
    --------
    >>> sheet_name("a/b"), sheet_name("'quoted'"), len(sheet_name("分" * 40))
    ('a_b', '_quoted_', 31)
    """
    bad = set('[]:*?/\\')
    out = "".join("_" if ch in bad else ch for ch in name)
    while len(out.encode("utf-16-le")) > 62:
        out = out[:-1]
    if out.startswith("'"):
        out = "_" + out[1:]
    if out.endswith("'"):
        out = out[:-1] + "_"
    return out or "sheet"


#: Rows of one Excel sheet (Excel's own limit), the header row included.
XLSX_MAX_ROWS = 1_048_576
#: Largest workbook (cells of all its tables) built in memory; larger ones are written row by row
#: through a temporary file per sheet (XlsxWriter's constant-memory mode), whatever their size.
XLSX_IN_MEMORY_CELLS = 100_000

#: Excel number format by the unit of a column's term (resultspec.UNITS codes).
_FORMATS = {
    "ha": "#,##0.0", "MW": "#,##0.0", "km": "#,##0.0", "m": "#,##0.0", "m2": "#,##0",
    "Mg C": "#,##0", "m3": "#,##0", "Mg C/yr": "#,##0", "MWh/yr": "#,##0", "px": "#,##0",
    "Tg C": "#,##0.000", "Mt CO2e": "#,##0.000", "Mt CO2e/yr": "#,##0.000",
    "fraction": "0.00%", "fraction/yr": "0.00%",
    "Mg C/ha": "0.00", "Mg C/ha/yr": "0.00", "MW/km2": "0.0", "deg": "0.00", "year": "0.0", "m3/ha": "0.0",
    "CNY": "#,##0", "CNY/MWh": "#,##0.0", "CNY/kW": "#,##0", "CNY/kW/yr": "#,##0.0", "CNY/km": "#,##0",
    "t CO2/MWh": "0.0000", "t CO2/yr": "#,##0", "kV": "0",
}
#: Columns keyed by which a sheet gets a totals row (one row per zone, project, parcel or base).
_KEYS = ("zone", "project", "parcel_id", "base_id")
#: Units whose values add up over rows (areas, stocks, capacities, energy, pixels).
_ADDITIVE = {"ha", "MW", "Mg C", "m3", "Mg C/yr", "MWh/yr", "px", "Tg C", "Mt CO2e", "Mt CO2e/yr", "m2", "CNY",
             "t CO2/yr"}
_QUANTILE = re.compile(r"_p\d")  # stock_mgc_p2_5: a percentile does not add up over zones
#: Rows of a table read to size its columns (the header and this many values).
_WIDTH_ROWS = 200


def _unit_of(column: str) -> str:
    t = rs.term(str(column))
    return t.unit if t is not None else ""


def _number_format(column: str, series: pd.Series) -> str | None:
    unit = _unit_of(column)
    if str(column) in ("year", "first_year", "last_year", "target_year_at_this_rate", "start_year", "from_year",
                       "to_year", "target_year"):
        return "0"
    if unit in _FORMATS:
        return _FORMATS[unit]
    if pd.api.types.is_float_dtype(series.dtype):
        return "0.000"
    return None


#: Python's rendering of each number format, to size a column by what Excel shows.
_PY_FORMATS = {"#,##0.0": "{:,.1f}", "#,##0": "{:,.0f}", "#,##0.000": "{:,.3f}", "0.00%": "{:.2%}", "0.00": "{:.2f}",
               "0.0": "{:.1f}", "0": "{:.0f}", "0.000": "{:.3f}", "0.0000": "{:.4f}"}


def _shown(value: Any, fmt: str | None) -> str:
    """The text Excel shows for ``value`` in number format ``fmt``."""
    v = _plain(value)
    if v is None:
        return ""
    if fmt in _PY_FORMATS and isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
        return _PY_FORMATS[fmt].format(v)
    return str(v)


def _display_width(text: str) -> int:
    """Width in Excel character units: a CJK character takes two."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in str(text))


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        k = seen.get(n, 0)
        seen[n] = k + 1
        out.append(n if k == 0 else f"{n} ({k + 1})")
    return out


def totals_row(df: pd.DataFrame, lang: str) -> dict[str, Any] | None:
    """The totals row of a table keyed by zone, project, parcel or base: the sum of each additive
    column (areas, stocks, capacities …; not shares, densities, percentiles or ranks); None for
    other tables (rows by year or by class pair do not add up)."""
    key = next((c for c in _KEYS if c in df.columns), None)
    if key is None or "year" in df.columns or len(df) < 2:
        return None
    if "zone_level" in df.columns or df[key].astype(str).str.contains("total", case=False).any():
        return None  # the table has its own group and region totals (--group-by): a sum would count them twice
    row: dict[str, Any] = {c: None for c in df.columns}
    row[key] = "合计" if lang == "zh" else "Total"
    summed = False
    for c in df.columns:
        if c == key or not pd.api.types.is_numeric_dtype(df[c].dtype) or pd.api.types.is_bool_dtype(df[c].dtype):
            continue
        if _unit_of(c) in _ADDITIVE and not _QUANTILE.search(str(c)):
            row[c] = float(pd.to_numeric(df[c], errors="coerce").sum())
            summed = True
    return row if summed else None


def _plain(v: Any) -> Any:
    """A cell value: None for every kind of missing value, Python numbers for numpy's."""
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
        return None
    return v.item() if isinstance(v, np.generic) else v


class _Styles:
    """The cell formats of one workbook, one object per kind (XlsxWriter writes one style record
    per format object, so a format is made once, not per cell)."""

    def __init__(self, wb) -> None:
        self.wb = wb
        self._numbers: dict[str, Any] = {}
        self._totals: dict[str | None, Any] = {}
        self._header = None
        self.datetime = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})

    def number(self, fmt: str | None):
        if fmt is None:
            return None
        if fmt not in self._numbers:
            self._numbers[fmt] = self.wb.add_format({"num_format": fmt})
        return self._numbers[fmt]

    def header(self):
        if self._header is None:
            self._header = self.wb.add_format({"bold": True, "text_wrap": True, "valign": "top"})
        return self._header

    def total(self, fmt: str | None):
        if fmt not in self._totals:
            props: dict[str, Any] = {"bold": True, "pattern": 1, "bg_color": "#EEEEEE"}
            if fmt is not None:
                props["num_format"] = fmt
            self._totals[fmt] = self.wb.add_format(props)
        return self._totals[fmt]


def _write_other(ws, styles: _Styles, i: int, j: int, v: Any, fmt, *, styled_blank: bool = False) -> None:
    """A cell that is not a plain float, int or str: numpy scalars, booleans, dates, missing
    values of other kinds, non-finite numbers (as text, as the CSV shows them: ``inf``).
    A missing value leaves the cell empty (with ``styled_blank``, an empty cell in ``fmt``)."""
    v = _plain(v)
    if v is None:
        if styled_blank and fmt is not None:
            ws.write_blank(i, j, None, fmt)
    elif isinstance(v, str):
        ws.write_string(i, j, v, fmt)
    elif isinstance(v, (bool, np.bool_)):
        ws.write_boolean(i, j, bool(v), fmt)
    elif isinstance(v, (int, float)):
        if math.isfinite(v):
            ws.write_number(i, j, v, fmt)
        else:
            ws.write_string(i, j, str(float(v)), fmt)
    elif isinstance(v, (dt.datetime, dt.date, dt.time, dt.timedelta)):
        ws.write_datetime(i, j, v, fmt if fmt is not None else styles.datetime)
    else:
        ws.write_string(i, j, str(v), fmt)


def _write_sheet(ws, styles: _Styles, header: list[str], columns: list[Sequence[Any]], *,
                 formats: list[str | None] | None = None, widths: list[float] | None = None,
                 freeze: str | None = None, bold_header: bool = False, total: list[Any] | None = None) -> None:
    """Write one sheet row by row (XlsxWriter's constant-memory mode: a row goes to disk when the
    next one starts): widths and frozen panes, the header, the rows and a totals row.

    Every text cell is written as a string, never a formula (a zone named ``=HYPERLINK(...)``
    stays text); a number gets its column's number format; a missing value leaves the cell empty.
    """
    for j, w in enumerate(widths or ()):
        ws.set_column(j, j, w)
    if freeze:
        ws.freeze_panes(freeze)
    hfmt = styles.header() if bold_header else None
    for j, h in enumerate(header):
        ws.write_string(0, j, str(h), hfmt)
    cell_formats = [styles.number(f) for f in (formats or [None] * len(columns))]
    number, string = ws.write_number, ws.write_string
    isfinite = math.isfinite
    i = 0
    for i, row in enumerate(zip(*columns), start=1):
        for j, v in enumerate(row):
            t = type(v)
            if t is float:
                if isfinite(v):
                    number(i, j, v, cell_formats[j])
                elif v == v:  # ±inf: as text, as the CSV writes it
                    string(i, j, str(v))
                # NaN: the cell stays empty
            elif t is int:
                number(i, j, v, cell_formats[j])
            elif t is str:
                string(i, j, v)
            elif v is not None:
                v = _plain(v)
                _write_other(ws, styles, i, j, v, None if isinstance(v, str) else cell_formats[j])
    if total is not None:
        i += 1
        for j, (v, fmt) in enumerate(zip(total, formats or [None] * len(total))):
            v = _plain(v)
            _write_other(ws, styles, i, j, v, styles.total(None if isinstance(v, str) else fmt), styled_blank=True)


def _column_values(series: pd.Series) -> list[Any]:
    """A column's values as Python objects (floats, ints, text; NaN for missing numbers)."""
    if pd.api.types.is_bool_dtype(series.dtype) or not pd.api.types.is_numeric_dtype(series.dtype):
        return series.to_numpy(dtype=object).tolist()
    if isinstance(series.dtype, np.dtype):
        return series.to_numpy().tolist()  # plain Python floats and ints, NaN kept as float
    return series.to_numpy(dtype=object).tolist()  # nullable dtypes: pd.NA stays pd.NA (an empty cell)


def _labelled(values: list[Any], lang: str, field: str) -> list[Any]:
    """``rs.value_label`` of each value, computed once per distinct value."""
    seen: dict[Any, Any] = {}
    out = []
    for v in values:
        try:
            out.append(seen[v])
        except KeyError:
            seen[v] = lab = rs.value_label(v, lang, field)
            out.append(lab)
        except TypeError:  # unhashable
            out.append(rs.value_label(v, lang, field))
    return out


def write_xlsx(path: str | os.PathLike, sheets: Mapping[str, pd.DataFrame], *, lang: str | None = None,
               notes: Mapping[str, Any] | None = None) -> Path:
    """Write an Excel workbook, one sheet per table, that a person can read and hand on.

    With ``lang`` (``zh`` or ``en``; result folders pass their run's ``--lang``) each sheet gets
    its title and each column its label with unit from the result contract
    (:func:`sinkplan.layers.resultspec.label`); numbers are formatted by unit (ha with one
    decimal, Mg C as integers, fractions as percentages; the values keep full precision);
    columns are sized to their text, the header row (and a key column) is frozen, a table of
    zones, projects, parcels or bases gets a totals row, and a 说明 / Notes sheet lists every
    column's machine name, unit and meaning and the run's ``notes`` (command, parameters).
    ``lang=None`` writes the machine names only. Text is never stored as a formula.

    Written row by row with XlsxWriter in constant-memory mode (a row goes to disk when the next
    starts), about 5 µs a cell: a 35 000 × 41 parcels table in 3.3 s where openpyxl's
    write-only mode took 20 s (benchmarks/bench_xlsx.py). Numbers are stored with 16
    significant digits (Excel shows 15). A table longer than Excel's :data:`XLSX_MAX_ROWS`
    keeps its first rows (the tables are in rank or zone order; the CSV holds them all),
    without a totals row, and a warning says so.
    """
    import xlsxwriter

    path = Path(path)
    tmp = Path(tempfile.mkstemp(prefix=f".{path.name}.", suffix=".xlsx", dir=path.parent)[1])
    described: list[tuple[str, str, str, str, str]] = []
    try:
        # text is text: no string becomes a formula, a number or a link. A small workbook is built
        # in memory (no temporary file per sheet: 52-123 ms against 64-141 ms for a 460 Mpx carbon
        # run's two tables); a large one row by row on disk (XLSX_IN_MEMORY_CELLS).
        cells = sum(int(df.shape[0]) * max(1, int(df.shape[1])) for df in sheets.values())
        mode = {"in_memory": True} if cells <= XLSX_IN_MEMORY_CELLS else {"constant_memory": True}
        wb = xlsxwriter.Workbook(str(tmp), {**mode, "strings_to_formulas": False,
                                            "strings_to_numbers": False, "strings_to_urls": False,
                                            "remove_timezone": True})
        styles = _Styles(wb)
        notes_title = sheet_name(rs.sheet_title("notes", lang)) if lang else None
        titles: set[str] = {notes_title.lower()} if notes_title else set()  # Excel compares names ignoring case
        for sheet, df in sheets.items():
            name = sheet_name(rs.sheet_title(sheet, lang) if lang else sheet)
            while name.lower() in titles:
                name = sheet_name(name[:28] + "_" + str(len(titles)))
            titles.add(name.lower())
            ws = wb.add_worksheet(name)
            table = df.reset_index(drop=True)
            total = totals_row(table, lang) if lang else None
            rows = len(table)
            if rows + 1 > XLSX_MAX_ROWS:
                logger.warning("%s, sheet %s: %d rows, Excel holds %d; the sheet keeps the first %d (the CSV has "
                               "them all)%s", path.name, sheet, rows, XLSX_MAX_ROWS - 1, XLSX_MAX_ROWS - 1,
                               ", and no totals row" if total is not None else "")
                table, total = table.iloc[: XLSX_MAX_ROWS - 1], None
            elif total is not None and rows + 2 > XLSX_MAX_ROWS:
                total = None  # no room for it: the sheet is at Excel's limit
            fields = [str(c) for c in table.columns]
            columns = [_column_values(table.iloc[:, j]) for j in range(table.shape[1])]
            if not lang:
                _write_sheet(ws, styles, fields, columns)
                continue
            header = _unique([rs.label(c, lang) for c in fields])
            for j, f in enumerate(fields):  # statuses and vocabularies in the workbook's language
                if not pd.api.types.is_numeric_dtype(table.iloc[:, j].dtype):
                    columns[j] = _labelled(columns[j], lang, f)
            formats = [_number_format(f, table.iloc[:, j]) for j, f in enumerate(fields)]
            widths = []
            for h, col, fmt in zip(header, columns, formats):
                texts = [h, *(_shown(v, fmt) for v in col[:_WIDTH_ROWS])]
                widths.append(min(max(8, max(_display_width(t) for t in texts) + 2), 48))
            freeze = "B2" if len(fields) > 1 and fields[0] in _KEYS else "A2"
            totals = None if total is None else [total[c] for c in table.columns]
            _write_sheet(ws, styles, header, columns, formats=formats, widths=widths, freeze=freeze,
                         bold_header=True, total=totals)
            for h, f in zip(header, fields):
                t = rs.term(f)
                described.append((name, h, f, rs.unit_text(t.unit, lang) if t else "", t.about if t else ""))
        if lang:
            _notes_sheet(wb, styles, notes_title, described, notes or {}, lang)
        wb.close()
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def read_xlsx_sheet(path: str | os.PathLike, sheet: str) -> pd.DataFrame:
    """A sheet of a workbook :func:`write_xlsx` wrote, with its machine column names and without
    its totals row, whatever the workbook's language (the 说明 / Notes sheet maps the headers).

    ``sheet`` is the machine name (``stocks_by_zone``)."""
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        titles = wb.sheetnames
        lang = next((lg for lg in ("zh", "en") if sheet_name(rs.sheet_title("notes", lg)) in titles), None)
        title = sheet_name(rs.sheet_title(sheet, lang)) if lang else sheet
        if title not in titles:
            raise ValueError(f"{path}: no sheet {sheet!r} ({title!r}); sheets: {', '.join(titles)}")
        fields: dict[str, str] = {}
        if lang:
            for row in wb[sheet_name(rs.sheet_title("notes", lang))].iter_rows(min_row=2, values_only=True):
                if row and len(row) >= 3 and row[0] == title and row[2]:
                    fields[str(row[1])] = str(row[2])
    finally:
        wb.close()
    df = pd.read_excel(path, sheet_name=title)
    if lang:
        df.columns = [fields.get(str(c), str(c)) for c in df.columns]
        key = next((c for c in _KEYS if c in df.columns), None)
        if key is not None and len(df) and str(df[key].iloc[-1]) == ("合计" if lang == "zh" else "Total"):
            df = df.iloc[:-1]
    return df


def _notes_sheet(wb, styles: _Styles, title: str, described, notes: Mapping[str, Any], lang: str) -> None:
    """说明 / Notes: what each column means, then the run (command, parameters)."""
    zh = lang == "zh"
    head = ["工作表", "列标题", "字段名", "单位", "含义"] if zh else ["Sheet", "Column", "Field name", "Unit", "Meaning"]
    rows = [list(d) for d in described]
    rows.append([""] * 5)
    rows.append(["运行参数" if zh else "Run", "", "", "", ""])
    for k, v in notes.items():
        text = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)
        rows.append(["", str(k), "", "", text[:32000]])
    ws = wb.add_worksheet(title)
    _write_sheet(ws, styles, head, [list(col) for col in zip(*rows)], widths=[18, 30, 30, 12, 80], freeze="A2",
                 bold_header=True)


def csvw_metadata(tables: list[tuple[str, list[str], str]]) -> dict[str, Any]:
    """CSVW (W3C "Metadata Vocabulary for Tabular Data") of a folder's CSV tables: a table group with,
    per column, its machine ``name``, Chinese and English ``titles`` (label with unit), unit and meaning.

    ``tables`` holds (file name, columns, sentence about the file)."""
    out = []
    for name, columns, about in tables:
        cols = []
        for c in columns:
            t = rs.term(str(c))
            col: dict[str, Any] = {"name": str(c), "titles": {"zh": rs.label(str(c), "zh"), "en": rs.label(str(c), "en")}}
            if t is not None:
                if t.unit:
                    col["schema:unitText"] = t.unit
                if t.about:
                    col["dc:description"] = t.about
            cols.append(col)
        out.append({"url": name, "dc:description": about, "dialect": {"encoding": "utf-8", "header": True},
                    "tableSchema": {"columns": cols}})
    return {"@context": ["http://www.w3.org/ns/csvw", {"@language": "en"}], "tables": out}


# --------------------------------------------------------------------------- manifest
def package_versions() -> dict[str, str]:
    """Versions of sinkplan's main dependencies, GDAL and PROJ."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    try:
        import pyproj
        import rasterio

        out["gdal"] = rasterio.__gdal_version__
        out["proj"] = pyproj.proj_version_str
    except ImportError:  # pragma: no cover - both are hard dependencies
        pass
    return out


class _InputHashes:
    """The inputs' :func:`file_record` computed in a thread from the moment a folder is claimed.

    The run reads the same files meanwhile (from the page cache once either has read them), and
    hashlib hashes without the GIL, so the hashes mostly use a core the run leaves idle instead of
    delaying the manifest (a 460 Mpx ``carbon --no-raster`` spent 3 % of its time hashing its
    inputs at the end). A folder that is abandoned stops the thread at its next MiB.
    """

    def __init__(self, paths: list[Path]) -> None:
        from sinkplan.layers.background import BackgroundCall

        self.paths = [p for p in paths if p.exists()]
        self._call = BackgroundCall(_file_records, self.paths, name="sinkplan-input-hashes")

    def records(self) -> list[dict[str, Any]]:
        """The records, in input order (waits for the thread); its error, if any, is raised here."""
        return self._call.result()

    def stop(self) -> None:
        self._call.stop()


def _file_records(paths: list[Path], *, stop) -> list[dict[str, Any]]:
    return [file_record(p, stop=stop) for p in paths]


def file_record(path: str | os.PathLike, *, stop=None) -> dict[str, Any]:
    """Path, size and SHA-256 of a file (for a shapefile, of each of its sidecars too);
    ``stop`` as for :func:`~sinkplan.layers.files.sha256_file`."""
    p = Path(path)
    if p.is_dir():  # FileGDB and other folder formats
        files = [q for q in p.rglob("*") if q.is_file()]
        return {"path": str(p.resolve()), "bytes": sum(q.stat().st_size for q in files), "sha256": sha256_content(p)}
    rec: dict[str, Any] = {"path": str(p.resolve()), "bytes": p.stat().st_size, "sha256": sha256_file(p, stop=stop)}
    if p.suffix.lower() == ".shp":
        rec["sidecars"] = [
            {"path": str(q.resolve()), "bytes": q.stat().st_size, "sha256": sha256_file(q, stop=stop)}
            for q in sorted(p.parent.glob(p.stem + ".*"))
            if q.suffix.lower() in _SIDECARS
        ]
    return rec


def read_manifest(folder: str | os.PathLike) -> dict[str, Any] | None:
    """A folder's manifest, or None when it has none or it is not a JSON object."""
    p = Path(folder) / rs.MANIFEST.name
    try:
        obj = json.loads(p.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None


# --------------------------------------------------------------------------- claim and overwrite
def _lock_path(target: Path) -> Path:
    return target.parent / f".{target.name}.lock"


@contextlib.contextmanager
def claim(target: str | os.PathLike, *, what: str = "result folder"):
    """Hold an exclusive claim on ``target`` (a lock file beside it) for the ``with`` block.

    Raises
    ------
    OutputBusy
        Another process holds the claim (another run writing the same target).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    lock = _lock_path(target)
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                os.close(fd)
                raise
            try:
                holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "?"
            finally:
                os.close(fd)
            raise OutputBusy(f"{target}: another sinkplan run (process {holder}) is writing this {what}; "
                             "wait for it to finish or choose another output") from None
        # the lock file may have been removed (and re-created) by the previous holder
        # between our open and flock: then retry on the new file
        try:
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
        yield lock
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock)
        os.close(fd)


def _inside(p: Path, folder: Path) -> bool:
    try:
        p.relative_to(folder)
        return True
    except ValueError:
        return False


def _resolved(p: str | os.PathLike) -> Path:
    return Path(os.path.abspath(os.path.realpath(p)))


def check_replaceable(target: str | os.PathLike, *, inputs: Iterable[str | os.PathLike] = (),
                      what: str = "result folder", manifest_required: bool = True) -> None:
    """Check an existing ``target`` may be removed and replaced by a new run.

    Refused when the target is not a folder, is or contains one of ``inputs`` (or lies
    inside an input that is a folder), or holds anything its manifest does not list
    (a folder no previous run wrote, or files added to one).

    Raises
    ------
    OutputExists
        One line naming the reason (the input or the foreign files) and the fix.
    """
    t = Path(target)
    if not t.exists():
        return
    if not t.is_dir():
        raise OutputExists(f"{t}: exists and is not a folder; choose another output folder")
    rt = _resolved(t)
    for p in inputs:
        if p is None:
            continue
        rp = _resolved(p)
        if rp == rt or _inside(rp, rt) or (rp.is_dir() and _inside(rt, rp)):
            raise OutputExists(f"{t}: the output folder is or holds the input {p}; replacing it would remove the "
                               "input; choose another output folder")
    manifest = read_manifest(t)
    entries = [q for q in t.rglob("*")]
    if not entries:
        return  # an empty folder holds nothing to lose
    if manifest is None:
        if not manifest_required:
            return
        raise OutputExists(f"{t}: not written by sinkplan (no {rs.MANIFEST.name}); overwrite replaces only a "
                           "folder a previous run wrote; remove it yourself or choose another output folder",
                           params=("overwrite",))
    listed = {rs.MANIFEST.name, *(str(o.get("path")) for o in manifest.get("outputs", []) if isinstance(o, dict))}
    listed |= {str(x) for x in manifest.get("entries", []) if isinstance(x, str)}
    foreign = []
    for q in sorted(entries):
        rel = q.relative_to(t).as_posix()
        if q.is_dir():
            if not any(x == rel or x.startswith(rel + "/") for x in listed):
                foreign.append(rel + "/")
        elif rel not in listed and not any(rel.startswith(x.rstrip("/") + "/") for x in listed if x.endswith("/")):
            foreign.append(rel)
    if foreign:
        named = ", ".join(foreign[:_MAX_NAMED]) + (f" and {len(foreign) - _MAX_NAMED} more" if len(foreign) > _MAX_NAMED else "")
        raise OutputExists(f"{t}: holds files no sinkplan run wrote there ({named}); overwrite replaces only what "
                           f"the folder's {rs.MANIFEST.name} lists; move them or choose another output folder",
                           params=("overwrite",))


# --------------------------------------------------------------------------- the folder
class ResultFolder:
    """A result folder written atomically, claimed for the run, checked against its spec.

    Parameters
    ----------
    out : path-like
        The target folder.
    kind : str, optional
        Result kind of :mod:`sinkplan.layers.resultspec`; files, columns and summary keys
        are checked against its spec (an error in tests, a warning otherwise). None for a
        folder of no declared kind.
    command : str
        Recorded in the manifest (``carbon``, ``demo:site pv``).
    parameters : dict
        Run parameters (recorded).
    inputs : list of paths
        Input files (recorded with SHA-256; never inside the folder replaced).
    overwrite : bool
        Replace an existing folder a previous run wrote.
    lang : {"zh", "en"}
        Language of the workbooks' sheet titles and headers (CSVs keep machine names and get
        ``csv-metadata.json``, which gives both languages).
    """

    def __init__(
        self,
        out: str | os.PathLike,
        *,
        command: str,
        parameters: Mapping[str, Any],
        inputs: Iterable[str | os.PathLike | None],
        overwrite: bool = False,
        kind: str | None = None,
        lang: str = "zh",
    ) -> None:
        if lang not in ("zh", "en"):
            raise ValueError(f"lang must be 'zh' or 'en', got {lang!r}")
        self.out = Path(out)
        self.kind = kind
        self.lang = lang
        self._csvs: dict[str, list[str]] = {}
        self.spec = rs.spec(kind) if kind is not None else None
        self.command = command
        self.parameters = dict(parameters)
        self.inputs = [Path(p) for p in inputs if p is not None]
        self.overwrite = overwrite
        self.dir: Path | None = None
        self.extra_manifest: dict[str, Any] = {}
        self._start = dt.datetime.now(dt.timezone.utc)
        self._claim: contextlib.ExitStack | None = None
        self._hashes: _InputHashes | None = None

    # ------------------------------------------------------------ lifecycle
    def _check_target(self) -> None:
        if self.out.exists() and not self.out.is_dir():
            # a file: --overwrite would not help (it replaces only a folder a run wrote)
            raise OutputExists(f"{self.out}: exists and is not a folder; choose another output folder")
        if self.out.exists() and not self.overwrite:
            raise OutputExists(f"{self.out}: result folder exists; pass overwrite=True to replace it or choose another "
                               "output folder", params=("overwrite=True",))
        if self.out.exists():
            check_replaceable(self.out, inputs=self.inputs)

    def __enter__(self) -> "ResultFolder":
        check_output_path(self.out)  # read-only, full, /proc, a name too long: said before anything is made
        with guarded_write(self.out):
            self.out.parent.mkdir(parents=True, exist_ok=True)
            stack = contextlib.ExitStack()
            stack.enter_context(claim(self.out))
        try:
            self._check_target()
            with guarded_write(self.out):
                self.dir = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.tmp-", dir=self.out.parent))
                self.dir.chmod(DIR_MODE)
        except BaseException:
            stack.close()
            raise
        self._claim = stack
        self._hashes = _InputHashes(self.inputs)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self.dir is not None and self._claim is not None
        try:
            if exc_type is not None:
                # judged before the folder is removed: a disk that was full may not be once it is
                err = exc if isinstance(exc, OutputError) else (
                    write_error(exc, self.dir, assume_write=False) if isinstance(exc, Exception) else None)
                shutil.rmtree(self.dir, ignore_errors=True)
                if err is not None:  # a full disk, no permission...: one line naming the result folder
                    raise OutputError(str(err).replace(str(self.dir), str(self.out)), params=getattr(err, "params", ())) from exc
                return
            try:
                if self._csvs:
                    self._write_csv_metadata()
                self._check_files()
                self.write_json(rs.MANIFEST, self._manifest())
                self._check_target()  # again: the folder may have changed during the run
                old = None
                if self.out.exists():
                    old = self.out.with_name(f".{self.out.name}.old-{os.getpid()}")
                    os.replace(self.out, old)
                os.rename(self.dir, self.out)
                if old is not None:
                    shutil.rmtree(old, ignore_errors=True)
            except BaseException as exc2:
                err = exc2 if isinstance(exc2, OutputError) else (
                    write_error(exc2, self.out, assume_write=False) if isinstance(exc2, Exception) else None)
                shutil.rmtree(self.dir, ignore_errors=True)
                if err is not None:
                    raise OutputError(str(err).replace(str(self.dir), str(self.out)), params=getattr(err, "params", ())) from exc2
                raise
            logger.info("wrote %s", self.out)
        finally:
            if self._hashes is not None:
                self._hashes.stop()  # a failed run: the thread ends at its next MiB
            self._claim.close()

    # ------------------------------------------------------------ files
    def _name(self, f: rs.FileSpec | str) -> str:
        return f.name if isinstance(f, rs.FileSpec) else str(f)

    def path(self, f: rs.FileSpec | str) -> Path:
        """Path of an output file inside the (temporary) folder."""
        if self.dir is None:
            raise RuntimeError("use ResultFolder as a context manager")
        p = self.dir / self._name(f)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def exists(self, f: rs.FileSpec | str) -> bool:
        """Whether the run has written ``f`` already."""
        return self.dir is not None and (self.dir / self._name(f)).exists()

    def _filespec(self, f: rs.FileSpec | str) -> rs.FileSpec | None:
        if isinstance(f, rs.FileSpec):
            return f
        if self.spec is not None and self.spec.has_file(f):
            return self.spec.file(f)
        return None

    def write_json(self, f: rs.FileSpec | str, obj: Any) -> Path:
        """Write a JSON file (non-finite numbers refused, naming the key)."""
        name = self._name(f)
        try:
            return write_json_atomic(self.path(name), obj)
        except ResultError as exc:
            raise ResultError(f"{name}: {exc}") from None

    def write_summary(self, summary: Mapping[str, Any]) -> Path:
        """Write ``summary.json``: ``schema_version`` and ``kind`` first, keys checked against the spec."""
        data = dict(summary)
        if self.kind is not None:
            data = {**rs.summary_header(self.kind), **{k: v for k, v in data.items() if k not in ("schema_version", "kind")}}
            rs.check_summary(self.kind, data)
        path = self.write_json(rs.SUMMARY, data)
        if self.spec is not None:
            self.spec.read_summary(json.loads(path.read_text(encoding="utf-8")))  # the typed record validates
        return path

    def write_csv(self, f: rs.FileSpec | str, df: pd.DataFrame) -> Path:
        """Write a CSV (UTF-8 with BOM, formula-guarded), its columns checked against the spec."""
        fs = self._filespec(f)
        if fs is not None:
            rs.check_columns(fs, df.columns)
        self._csvs[self._name(f)] = [str(c) for c in df.columns]
        return write_csv(self.path(f), df)

    def _write_csv_metadata(self) -> None:
        tables = []
        for name, cols in sorted(self._csvs.items()):
            fs = self._filespec(name)
            tables.append((name, cols, fs.about if fs is not None else ""))
        self.write_json(rs.CSV_METADATA, csvw_metadata(tables))

    def write_xlsx(self, f: rs.FileSpec | str, sheets: Mapping[str, pd.DataFrame]) -> Path:
        """Write an Excel workbook, one sheet per table; text is never stored as a formula."""
        fs = self._filespec(f)
        if fs is not None and fs.sheets:
            for name, df in sheets.items():
                try:
                    fs.sheet(name)
                except KeyError:
                    rs._report(fs.name, [f"sheet {name}"])
                    continue
                rs.check_columns(fs, df.columns, sheet=name)
        # the run's command and parameters (its times are in manifest.json: a workbook of the same
        # run is the same file whenever it was written)
        notes = {"command": self.command, **{k: v for k, v in self.parameters.items() if v is not None}}
        return write_xlsx(self.path(f), sheets, lang=self.lang, notes=notes)

    def write_text(self, f: rs.FileSpec | str, text: str) -> Path:
        return write_text_atomic(self.path(f), text)

    def write_gpkg(self, f: rs.FileSpec, gdf, *, layer: str | None = None) -> Path:
        """Write a GeoDataFrame as a one-layer GeoPackage; its fields checked against the spec."""
        fs = self._filespec(f)
        cols = [c for c in gdf.columns if c != gdf.geometry.name]
        if fs is not None:
            rs.check_columns(fs, cols)
        p = self.path(f)
        gdf.to_file(p, driver="GPKG", layer=layer or (fs.layer if fs is not None and fs.layer else p.stem), engine="pyogrio")
        return p

    def _check_files(self) -> None:
        if self.spec is None or self.dir is None:
            return
        undeclared = [p.relative_to(self.dir).as_posix() for p in sorted(self.dir.rglob("*"))
                      if p.is_file() and not self.spec.has_file(p.relative_to(self.dir).as_posix())]
        rs._report(f"{self.kind} result folder", [f"file {u}" for u in undeclared])

    def _input_records(self) -> list[dict[str, Any]]:
        """The inputs' records: from the thread started on entry when the inputs are still those
        (a library writer may set them afterwards, :func:`result_folder`), else hashed now."""
        if self._hashes is not None and self._hashes.paths == [p for p in self.inputs if p.exists()]:
            return self._hashes.records()
        if self._hashes is not None:
            self._hashes.stop()
        return [file_record(p) for p in self.inputs if p.exists()]

    def _manifest(self) -> dict[str, Any]:
        assert self.dir is not None
        outputs = []
        for p in sorted(self.dir.rglob("*")):
            if p.is_file() and p.name != rs.MANIFEST.name:
                outputs.append({"path": p.relative_to(self.dir).as_posix(), "bytes": p.stat().st_size,
                                "sha256": sha256_file(p)})
        return {
            "command": self.command,
            **({"kind": self.kind, "schema_version": rs.SCHEMA_VERSION} if self.kind else {}),
            "argv": sys.argv,
            "parameters": self.parameters,
            "inputs": self._input_records(),
            "outputs": outputs,
            "versions": package_versions(),
            "started": self._start.isoformat(timespec="seconds"),
            "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            **self.extra_manifest,
        }


# --------------------------------------------------------------------------- reading back
def folder_kind(folder: str | os.PathLike) -> str | None:
    """The result kind of a folder: its summary's ``kind``, else its manifest's, else None."""
    p = Path(folder)
    for name in (rs.SUMMARY.name, rs.MANIFEST.name):
        try:
            obj = json.loads((p / name).read_text(encoding="utf-8-sig"))
        except (OSError, ValueError):
            continue
        if isinstance(obj, dict) and obj.get("kind") in rs.SPECS:
            return str(obj["kind"])
    return None


def audit_folder(folder: str | os.PathLike, kind: str | None = None) -> list[str]:
    """Everything in a result folder its spec does not declare: files, table columns,
    workbook sheets and columns, layer fields, summary keys. Empty when the folder keeps
    the contract.
    """
    import pyogrio

    p = Path(folder)
    kind = kind or folder_kind(p)
    if kind is None:
        return [f"{p}: no kind in {rs.SUMMARY.name} or {rs.MANIFEST.name}"]
    spec = rs.spec(kind)
    problems: list[str] = []
    parts = dict(spec.parts)
    for name, part_kind in spec.parts:  # declared sub-folders are result folders of their own kind
        if (p / name).is_dir():
            problems += [f"{name}/{q}" for q in audit_folder(p / name, part_kind)]
    for f in sorted(q for q in p.rglob("*") if q.is_file()):
        rel = f.relative_to(p).as_posix()
        if rel.split("/", 1)[0] in parts and "/" in rel:
            continue
        if not spec.has_file(rel):
            problems.append(f"file {rel}")
            continue
        fs = spec.file(rel)
        if fs.kind == "table":
            with open(f, encoding="utf-8-sig") as fh:
                cols = pd.read_csv(fh, nrows=0, comment="#" if fs is rs.SCHEME_CSV else None).columns
            problems += [f"{rel}: column {c}" for c in rs.undeclared_columns(fs, cols)]
        elif fs.kind == "workbook":
            import openpyxl

            wb = openpyxl.load_workbook(f, read_only=True)
            try:
                # a labelled workbook (sheet titles and headers in Chinese or English) says in its
                # 说明 / Notes sheet which field each header is: check those field names
                titles = [ws.title for ws in wb.worksheets]
                lang = next((lg for lg in ("zh", "en") if sheet_name(rs.sheet_title("notes", lg)) in titles), None)
                fields: dict[str, dict[str, str]] = {}
                back: dict[str, str] = {}
                if lang is not None:
                    for row in wb[sheet_name(rs.sheet_title("notes", lang))].iter_rows(min_row=2, values_only=True):
                        if row and len(row) >= 3 and row[0] and row[2]:
                            fields.setdefault(str(row[0]), {})[str(row[1])] = str(row[2])
                    back = {sheet_name(rs.sheet_title(n, lang)): n for n, _ in fs.sheets}
                for ws in wb.worksheets:
                    if lang is not None and ws.title == sheet_name(rs.sheet_title("notes", lang)):
                        continue
                    machine = back.get(ws.title, ws.title)
                    try:
                        fs.sheet(machine)
                    except KeyError:
                        problems.append(f"{rel}: sheet {ws.title}")
                        continue
                    header = [h for h in next(ws.iter_rows(min_row=1, max_row=1, values_only=True), ()) if h is not None]
                    if lang is not None:
                        known = fields.get(ws.title, {})
                        problems += [f"{rel} sheet {ws.title}: header {h} not in the notes sheet" for h in header
                                     if str(h) not in known]
                        header = [known[str(h)] for h in header if str(h) in known]
                    problems += [f"{rel} sheet {ws.title}: column {c}"
                                 for c in rs.undeclared_columns(fs, header, sheet=machine)]
            finally:
                wb.close()
        elif fs.kind == "vector":
            fields = list(pyogrio.read_info(f, layer=fs.layer or None)["fields"])
            problems += [f"{rel}: field {c}" for c in rs.undeclared_columns(fs, fields)]
    try:
        summary = json.loads((p / rs.SUMMARY.name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        summary = None
    if summary is not None:
        problems += [f"{rs.SUMMARY.name}: key {k}" for k in rs.undeclared_summary_keys(kind, summary)]
        if summary.get("schema_version") != rs.SCHEMA_VERSION:
            problems.append(f"{rs.SUMMARY.name}: schema_version {summary.get('schema_version')!r}")
    return problems


@contextlib.contextmanager
def result_folder(folder: str | os.PathLike | ResultFolder, *, kind: str, command: str, parameters: dict,
                  inputs: Sequence[str | os.PathLike], overwrite: bool = False) -> Iterator[ResultFolder]:
    """An open result folder of ``kind``: ``folder`` itself when it is one (its run's
    parameters and inputs set from the result), else a new one committed on exit."""
    if isinstance(folder, ResultFolder):
        if folder.kind != kind:
            raise ValueError(f"{folder.out}: a {folder.kind} result folder cannot hold a {kind} result")
        folder.parameters = dict(parameters)
        folder.inputs = [Path(p) for p in inputs if p is not None]
        yield folder
        return
    with ResultFolder(folder, kind=kind, command=command, parameters=parameters, inputs=inputs,
                      overwrite=overwrite) as rf:
        yield rf


def targets_record(*records: dict | None, file: str | None = None) -> dict[str, Any]:
    """``targets.json``: the targets a result was compared against (key, value, unit, year,
    clause, source), and the targets file they came from (None: the packaged one)."""
    return {"file": file, "targets": [dict(r) for r in records if r]}
