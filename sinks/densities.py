"""Carbon density tables: one frozen record, validated on load, resolved against a scheme.

A table gives, per land-cover code (``lucode``, the InVEST carbon biophysical format) or per
land-cover group (``group``), the carbon density of four pools in Mg C/ha:
``c_above`` (above-ground biomass), ``c_below`` (below-ground biomass), ``c_soil`` (soil
organic carbon, to the depth the table states) and ``c_dead`` (dead organic matter).
Extra columns are ignored (InVEST's ``LULC_name`` and friends), so an InVEST table is
accepted as is.

Uncertainty, optional, per pool: ``c_soil_sd`` (a standard deviation) or ``c_soil_low`` /
``c_soil_high`` (a range read as a 95 % interval, sd = (high - low) / 3.92). Monte Carlo
draws each value from a lognormal whose mean is the table value (the values are best
estimates of the mean; :mod:`sinkplan.sinks.uncertainty`). A pool without either is fixed.

``# key: value`` header lines carry provenance: ``source``, ``licence``, ``units`` (must be
Mg C/ha when given) and ``soil_depth_cm``.

Regions, optional: a ``region`` column keys rows by a region (matched to a zone attribute,
``region_field``); a row with the region empty applies wherever no region row exists. So one
table can give Greater Khingan forests their own density and the rest of the province another.

Shipped tables (``seeds/densities``): ``inner_mongolia_30cm`` (the default; soil 0–30 cm,
the IPCC reference depth) and ``inner_mongolia_100cm`` (soil 0–100 cm, the depth of most
Chinese soil inventories). Both are keyed by group.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from sinkplan.layers.errors import InputError, InputFileError, SchemeError, UnknownClassCode
from sinkplan.layers.files import decode_user_text
from sinkplan.layers.schemes import GROUP_INDEX, GROUPS, ClassScheme

__all__ = [
    "POOLS",
    "MAX_DENSITY_MGC_PER_HA",
    "DEFAULT_TABLE",
    "DensityTable",
    "ClassDensities",
    "load_densities",
    "as_density_table",
    "shipped_tables",
    "read_keyed_csv",
]

logger = logging.getLogger(__name__)

#: Carbon pools, in table and output order.
POOLS = ("above", "below", "soil", "dead")
#: Name of the shipped default table.
DEFAULT_TABLE = "inner_mongolia_30cm"
#: Distributions a pool's uncertainty can follow (``fixed``: no sd and no range).
DISTRIBUTIONS = ("lognormal", "fixed")


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype="float64")
    a.setflags(write=False)
    return a


def read_keyed_csv(text: str, origin: str) -> tuple[dict[str, str], list[str], list[dict[str, str]]]:
    """Split a CSV with ``# key: value`` header lines into (meta, columns, rows).

    Column names and values are stripped; header keys are lower-cased.
    """
    meta: dict[str, str] = {}
    body = []
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            key, sep, value = line.lstrip()[1:].partition(":")
            if sep:
                meta[key.strip().lower()] = value.strip()
        elif line.strip():
            body.append(line)
    if not body:
        raise SchemeError(f"{origin}: no header row and no data rows")
    reader = csv.DictReader(io.StringIO("\n".join(body)))
    cols = [(c or "").strip() for c in (reader.fieldnames or [])]
    rows = []
    for row in reader:
        rows.append({(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None})
    return meta, cols, rows


def _text_of(path: str | os.PathLike) -> str:
    p = Path(path)
    if not p.is_file():
        raise InputFileError(
            f"{p}: density table not found; give a CSV path or a shipped table ({', '.join(shipped_tables())})"
        )
    try:
        return decode_user_text(p.read_bytes(), path=p)
    except InputError as exc:
        raise SchemeError(str(exc)) from None


@dataclass(frozen=True)
class DensityTable:
    """Carbon density per pool (Mg C/ha) for each key (land-cover code or group).

    Parameters
    ----------
    keyed_by : {'lucode', 'group'}
        What the keys are.
    keys : tuple
        Codes (int) or group names (str), unique.
    density_mgc_per_ha : ndarray, shape (n, 4)
        Densities of the pools :data:`POOLS`.
    sd, low, high : ndarray, shape (n, 4)
        Uncertainty (NaN where not given).
    sources : tuple of str
        The ``source`` of each row ('' when the table has no such column).
    distribution : str
        How values are drawn: 'lognormal' (mean = value), the only one supported.
    soil_depth_cm : float or None
        Depth the soil pool covers, from the header.
    meta : dict
        Header lines (title, source, licence, ...).

    Examples
    --------
    >>> t = DensityTable.from_csv("t.csv", text="lucode,c_above,c_below,c_soil,c_dead\\n2,15,10,60,1\\n")
    >>> t.density_mgc_per_ha.sum(axis=1)  # 15 + 10 + 60 + 1 = 86 Mg C/ha
    array([86.])
    """

    keyed_by: str
    keys: tuple
    density_mgc_per_ha: np.ndarray
    sd: np.ndarray
    low: np.ndarray
    high: np.ndarray
    sources: tuple[str, ...]
    distribution: str = "lognormal"
    soil_depth_cm: float | None = None
    meta: dict = field(default_factory=dict, compare=False)
    origin: str = field(default="", compare=False)
    regions: tuple = ()

    def __post_init__(self) -> None:
        n = len(self.keys)
        if self.regions and len(self.regions) != n:
            raise SchemeError(f"{self.origin}: {len(self.regions)} regions for {n} rows")
        for name in ("density_mgc_per_ha", "sd", "low", "high"):
            arr = _readonly(getattr(self, name))
            if arr.shape != (n, len(POOLS)):
                raise SchemeError(f"{self.origin}: {name} has shape {arr.shape}, expected ({n}, {len(POOLS)})")
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "meta", dict(self.meta))

    # ------------------------------------------------------------------ reading
    @classmethod
    def from_csv(cls, path: str | os.PathLike, *, text: str | None = None) -> "DensityTable":
        """Read an InVEST biophysical table (``lucode``) or a group-keyed table (``group``).

        Raises
        ------
        InputFileError
            The file is missing.
        SchemeError
            Missing key or pool columns, duplicate keys, unknown groups, values that are
            not numbers, negative, or outside their low/high range (the message names the
            file, line and column).
        """
        origin = str(path)
        if text is None:
            text = _text_of(path)
        meta, cols, rows = read_keyed_csv(text, origin)
        lower = {c.lower(): c for c in cols}
        if "lucode" in lower:
            keyed_by = "lucode"
        elif "group" in lower:
            keyed_by = "group"
        else:
            sep = next((c for c in ";\t|" if len(cols) == 1 and c in str(cols[0])), None)
            raise SchemeError(
                f"{origin}: no 'lucode' or 'group' column (found {cols}); a density table needs "
                "lucode,c_above,c_below,c_soil,c_dead (InVEST) or group,c_above,c_below,c_soil,c_dead"
                + (f"; the file is separated by {sep!r}: save it comma-separated (CSV, decimal points)" if sep else "")
            )
        missing = [f"c_{p}" for p in POOLS if f"c_{p}" not in lower]
        if missing:
            raise SchemeError(f"{origin}: missing column(s) {missing} (found {cols}); densities are in Mg C/ha")
        units = meta.get("units", "").replace(" ", "").lower()
        if units and units not in ("mgc/ha", "tc/ha", "mgc·ha-1", "mgcha-1"):
            raise SchemeError(f"{origin}: header 'units: {meta['units']}' is not Mg C/ha; convert the table to Mg C/ha")
        dist = meta.get("distribution", "lognormal").strip().lower() or "lognormal"
        if dist != "lognormal":
            # Earlier versions read low/high as triangular (mode = value) or uniform; both put
            # the centre of the draws away from the table value, which is a mean.
            raise SchemeError(
                f"{origin}: header 'distribution: {dist}' is not supported; values are drawn lognormal with "
                "mean = value and sd = *_sd or (high-low)/3.92: remove the line or write 'distribution: lognormal'"
            )
        keys: list = []
        n = len(rows)
        vals = np.full((n, len(POOLS)), np.nan)
        sd, low, high = (np.full((n, len(POOLS)), np.nan) for _ in range(3))
        sources = []
        for i, row in enumerate(rows):
            where = f"{origin} line {i + 2}"
            raw_key = row.get(lower[keyed_by], "")
            keys.append(_parse_key(raw_key, keyed_by, where))
            for j, pool in enumerate(POOLS):
                col = f"c_{pool}"
                vals[i, j] = _number(row.get(lower[col], ""), f"{where} column {col}", required=True)
                for arr, suffix in ((sd, "_sd"), (low, "_low"), (high, "_high")):
                    name = lower.get(col + suffix)
                    if name is not None:
                        arr[i, j] = _number(row.get(name, ""), f"{where} column {col + suffix}", required=False)
                _check_uncertainty(vals[i, j], sd[i, j], low[i, j], high[i, j], f"{where} column {col}")
            sources.append(row.get(lower["source"], "") if "source" in lower else "")
        regions = tuple((row.get(lower["region"], "").strip() or None) for row in rows) if "region" in lower else ()
        idents = list(zip(regions, keys)) if regions else [(None, k) for k in keys]
        dupes = sorted({k if r is None else f"{r}/{k}" for r, k in idents if idents.count((r, k)) > 1}, key=str)
        if dupes:
            raise SchemeError(f"{origin}: {keyed_by} {dupes} listed more than once; keep one row per "
                              f"{'(region, ' + keyed_by + ')' if regions else keyed_by}")
        depth = meta.get("soil_depth_cm")
        soil_depth = None
        if depth:
            try:
                soil_depth = float(depth)
            except ValueError:
                raise SchemeError(f"{origin}: header 'soil_depth_cm: {depth}' is not a number of centimetres") from None
        table = cls(keyed_by, tuple(keys), vals, sd, low, high, tuple(sources), dist, soil_depth, meta, origin,
                    regions if any(r is not None for r in regions) else ())
        logger.debug("density table %s: %d rows keyed by %s, soil depth %s cm", origin, n, keyed_by, soil_depth)
        return table

    # ------------------------------------------------------------------ access
    @property
    def has_uncertainty(self) -> bool:
        """True when at least one value has an sd or a low/high range wider than zero."""
        return bool(np.isfinite(self.sd).any() or (np.isfinite(self.low) & (self.high > self.low)).any())

    def total_mgc_per_ha(self) -> np.ndarray:
        """Sum of the four pools per row (Mg C/ha)."""
        return self.density_mgc_per_ha.sum(axis=1)

    def resolve(self, scheme: ClassScheme, *, zone_regions: list | None = None) -> "ClassDensities":
        """Densities per class of ``scheme`` (classes of the ``nodata`` group are skipped).

        A class the table does not cover gets NaN densities and is listed in
        :attr:`ClassDensities.missing_codes`; :meth:`ClassDensities.check_present` raises
        once it is known that such a class occurs on the map.

        ``zone_regions`` (the region of each zone id, from the zone layer) resolves a
        region-keyed table per zone: each zone takes its region's row, else the row without
        region; the result then has one row index per (zone id, class).
        """
        classes = [c for c in scheme.classes if c.group != "nodata"]
        regions = self.regions or (None,) * len(self.keys)
        row_of = {(r, k): i for i, (r, k) in enumerate(zip(regions, self.keys))}

        def rows_for(region) -> list[int]:
            out = []
            for c in classes:
                key = c.code if self.keyed_by == "lucode" else c.group
                out.append(row_of.get((region, key), row_of.get((None, key), -1)))
            return out

        if zone_regions is not None:
            return ClassDensities(codes=tuple(c.code for c in classes), groups=tuple(c.group for c in classes),
                                  row=tuple(tuple(rows_for(r)) for r in zone_regions), table=self, scheme_name=scheme.name)
        rows = rows_for(None)
        return ClassDensities(
            codes=tuple(c.code for c in classes),
            groups=tuple(c.group for c in classes),
            row=tuple(rows),
            table=self,
            scheme_name=scheme.name,
        )


@dataclass(frozen=True)
class ClassDensities:
    """A density table resolved to the classes of a scheme (one row index per class).

    ``row[i]`` is the table row of class ``codes[i]`` (-1: not in the table).
    """

    codes: tuple[int, ...]
    groups: tuple[str, ...]
    row: tuple[int, ...]
    table: DensityTable
    scheme_name: str = ""

    @property
    def by_zone(self) -> bool:
        """True when rows were resolved per zone (a region-keyed table)."""
        return bool(self.row) and isinstance(self.row[0], tuple)

    @property
    def missing_codes(self) -> tuple[int, ...]:
        """Codes of the scheme that the table does not cover (in some zone, when resolved per zone)."""
        idx = np.atleast_2d(np.array(self.row, dtype=np.int64))
        return tuple(c for c, miss in zip(self.codes, (idx < 0).any(axis=0)) if miss)

    def per_class(self, rows_values: np.ndarray | None = None) -> np.ndarray:
        """Densities (Mg C/ha) per class, shape (nclasses, 4); NaN for missing classes.

        ``rows_values`` (shape (..., nrows, 4)) replaces the table's values, e.g. one Monte
        Carlo draw; the result then has shape (..., nclasses, 4). Resolved per zone
        (:attr:`by_zone`), the result has a zone axis: (..., zones + 1, nclasses, 4).
        """
        vals = self.table.density_mgc_per_ha if rows_values is None else rows_values
        idx = np.array(self.row, dtype=np.int64)
        out = np.take(vals, np.where(idx < 0, 0, idx), axis=-2)
        out = np.array(out, dtype="float64")
        out[..., idx < 0, :] = np.nan
        return out

    def check_present(self, pixels_by_class: np.ndarray, *, path: str = "") -> None:
        """Raise when a class the table lacks has pixels on the map.

        Parameters
        ----------
        pixels_by_class : ndarray, shape (nclasses,) or (zones + 1, nclasses)
            Pixels per class, in :attr:`codes` order (per zone id for a table resolved per zone).

        Raises
        ------
        UnknownClassCode
            Naming the codes, their pixels and the table.
        """
        idx = np.atleast_2d(np.array(self.row, dtype=np.int64))
        px = np.atleast_2d(np.asarray(pixels_by_class))
        if px.shape[0] != idx.shape[0]:  # per-zone rows checked against all zones' pixels
            px = np.broadcast_to(px.sum(axis=0, keepdims=True), idx.shape) if idx.shape[0] > 1 else px.sum(axis=0, keepdims=True)
        miss = ((idx < 0) & (px > 0)).any(axis=0)
        missing = {c: int(n) for c, m, n in zip(self.codes, miss, px.sum(axis=0)) if m}
        if missing:
            listed = ", ".join(f"{c} ({n:,} px)" for c, n in missing.items())
            what = "lucode" if self.table.keyed_by == "lucode" else "group"
            keys = [c for c in missing] if what == "lucode" else sorted({self.groups[self.codes.index(c)] for c in missing})
            raise UnknownClassCode(
                f"{path or 'land cover'}: codes {listed} of scheme {self.scheme_name!r} have no row in density "
                f"table {self.table.origin}; add {what} row(s) {keys} to the table",
                counts=missing,
            )


def _parse_key(raw: str, keyed_by: str, where: str):
    if keyed_by == "lucode":
        try:
            value = float(raw)
        except ValueError:
            raise SchemeError(f"{where}: lucode {raw!r} is not an integer code") from None
        if not value.is_integer() or value < 0:
            raise SchemeError(f"{where}: lucode {raw!r} is not a non-negative integer code")
        return int(value)
    group = raw.strip().lower()
    if group not in GROUP_INDEX or group == "nodata":
        raise SchemeError(f"{where}: group {raw!r} is not one of {', '.join(g for g in GROUPS if g != 'nodata')}")
    return group


#: Largest carbon density (Mg C/ha) of one pool a table or raster may give. No ecosystem
#: comes near it but metres-deep peat: living above-ground biomass peaks near 1,900 Mg C/ha
#: (Eucalyptus regnans, Keith, Mackey & Lindenmayer 2009, PNAS 106:11635), mineral soils hold
#: tens to a few hundred per metre. A larger value is a unit slip (g C/m² is 100 × Mg C/ha)
#: or a typo, and 1e308 Mg C/ha overflowed the stock to inf after the whole pass.
MAX_DENSITY_MGC_PER_HA = 10_000.0


def _number(raw: str, where: str, *, required: bool) -> float:
    if raw == "":
        if required:
            raise SchemeError(f"{where}: empty; give a density in Mg C/ha (0 for none)")
        return math.nan
    try:
        value = float(raw)
    except ValueError:
        hint = f" (a decimal comma? write {raw.replace(',', '.')})" if raw.count(",") == 1 and \
            raw.replace(",", "", 1).strip().isdigit() else ""
        raise SchemeError(f"{where}: {raw!r} is not a number{hint}") from None
    if not math.isfinite(value) or value < 0:
        raise SchemeError(f"{where}: {raw!r} must be a finite number ≥ 0")
    if value > MAX_DENSITY_MGC_PER_HA:
        raise SchemeError(f"{where}: {raw!r} Mg C/ha is more than any ecosystem stores in one pool (at most "
                          f"{MAX_DENSITY_MGC_PER_HA:,.0f}; the densest forests hold about 1,900 above ground); check "
                          "the units (Mg C/ha = t C/ha; g C/m² is 100 times larger)")
    return value


def _check_uncertainty(value: float, sd: float, low: float, high: float, where: str) -> None:
    has_range = math.isfinite(low) or math.isfinite(high)
    if has_range and not (math.isfinite(low) and math.isfinite(high)):
        raise SchemeError(f"{where}: give both _low and _high (found low={low}, high={high})")
    if has_range and math.isfinite(sd):
        raise SchemeError(f"{where}: give either _sd or _low/_high, not both")
    if has_range and not low <= value <= high:
        raise SchemeError(f"{where}: value {value} lies outside its range [{low}, {high}]")


def shipped_tables() -> tuple[str, ...]:
    """Names of the density tables shipped in ``seeds/densities`` (without .csv)."""
    files = resources.files("sinkplan.seeds").joinpath("densities").iterdir()
    return tuple(sorted(f.name[:-4] for f in files if f.name.endswith(".csv") and not f.name.startswith("volume")))


def load_densities(name_or_path: str | os.PathLike | None = None) -> DensityTable:
    """A shipped density table by name (default :data:`DEFAULT_TABLE`) or a CSV path."""
    key = DEFAULT_TABLE if name_or_path is None else str(name_or_path)
    if key in shipped_tables():
        res = resources.files("sinkplan.seeds").joinpath("densities", f"{key}.csv")
        return DensityTable.from_csv(f"seeds/densities/{key}.csv", text=res.read_text("utf-8"))
    return DensityTable.from_csv(key)


def as_density_table(densities: str | os.PathLike | DensityTable | None) -> DensityTable:
    """A density table: given, read from a CSV path, or a shipped one by name (default ``inner_mongolia_30cm``).

    Raises
    ------
    SchemeError, InputFileError
        A table that cannot be read or checked.
    """
    return densities if isinstance(densities, DensityTable) else load_densities(densities)
