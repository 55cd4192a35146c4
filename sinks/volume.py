"""Growing stock volume (森林蓄积量) by stratum: a volume table keyed by zone (or a zone
attribute) × land-cover group (or code) × year, and the split of a volume change into an
area effect and a growth effect.

Stock volume is a property of **tree forest**: special shrubland holds none. Inner Mongolia's
7th regional inventory (2013) gives 13.45 亿 m³ on 有林地 1,732.85 万 ha, i.e. 77.6 m³/ha of
tree forest (dividing by all forest land, 2,487.90 万 ha including 755.05 万 ha of special
shrubland, gives the 54.06 m³/ha an earlier default used, 30 % low); the 8th (2018) gives
15.27 亿 m³ on 乔木林地 1,756.2 万 ha, 86.9 m³/ha. Most of the rise came from growth per
hectare, not area, so one constant cannot show it: the table carries a value per year where
known and each map year takes the row of the latest year not after it.

Table columns (CSV, ``# key: value`` header lines allowed):

* ``group`` or ``lucode``: the land-cover group or code;
* ``volume_m3_per_ha``; ``source`` (and ``note``) per row;
* ``year`` (optional): the inventory year of the value;
* ``zone`` (optional): a zone name; or any other extra column, e.g. ``region``, matched to the
  zone layer's attribute of that name. A row with the key empty applies to every zone.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np

from sinkplan.layers.errors import SchemeError
from sinkplan.layers.schemes import GROUP_INDEX, ClassScheme

__all__ = ["VolumeTable", "VolumeRow", "volume_effects", "MAX_VOLUME_M3_PER_HA", "check_volume_raster"]

_KNOWN = {"group", "lucode", "code", "year", "volume_m3_per_ha", "source", "note"}

#: Largest growing stock (m³/ha) a table or raster may give: the tallest coast redwood and
#: mountain ash stands reach a few thousand m³/ha; more is a unit slip or a fill value (1e30).
MAX_VOLUME_M3_PER_HA = 10_000.0


@dataclass(frozen=True)
class VolumeRow:
    """One value of a volume table."""

    zone_key: str | None
    key: object
    year: int | None
    volume_m3_per_ha: float
    source: str


@dataclass(frozen=True)
class VolumeTable:
    """Growing stock volume per hectare (m³/ha) by (zone or zone attribute, code or group, year).

    Attributes
    ----------
    keyed_by : {'group', 'lucode'}
    zone_column : str or None
        ``zone`` (zone names), another zone-layer attribute name, or None (one value for all zones).
    rows : tuple of VolumeRow
    origin : str
    meta : dict
    """

    keyed_by: str
    rows: tuple[VolumeRow, ...]
    origin: str
    meta: dict = field(default_factory=dict, compare=False)
    zone_column: str | None = None

    @property
    def volume_m3_per_ha(self) -> dict:
        """Value per key of the rows without zone (the latest year), for a quick look."""
        out: dict = {}
        for r in sorted((r for r in self.rows if r.zone_key is None), key=lambda r: r.year or 0):
            out[r.key] = r.volume_m3_per_ha
        return out

    @classmethod
    def from_csv(cls, path: str | os.PathLike, *, text: str | None = None) -> "VolumeTable":
        """Read and check a volume table.

        Raises
        ------
        SchemeError
            Missing columns, unknown groups, codes that are not integers, negative or
            non-numeric volumes, years that are not years, two zone columns, duplicate rows.
        """
        from sinkplan.sinks.densities import _text_of, read_keyed_csv

        origin = str(path)
        meta, cols, rows = read_keyed_csv(_text_of(path) if text is None else text, origin)
        key = next((c for c in ("group", "lucode", "code") if c in cols), None)
        if key is None or "volume_m3_per_ha" not in cols:
            raise SchemeError(f"{origin}: a volume table needs columns group (or lucode) and volume_m3_per_ha; found {cols}")
        extra = [c for c in cols if c and c not in _KNOWN]
        if len(extra) > 1:
            raise SchemeError(f"{origin}: columns {extra} are not volume-table columns; give at most one zone key "
                              "column (zone, or a zone-layer attribute such as region)")
        zone_col = extra[0] if extra else None
        out: list[VolumeRow] = []
        seen = set()
        for i, row in enumerate(rows, start=2):
            where = f"{origin} line {i}"
            k = row[key].strip().lower() if key == "group" else row[key]
            if key == "group" and k not in GROUP_INDEX:
                raise SchemeError(f"{where}: group {row[key]!r} is not a land-cover group")
            if key != "group":
                try:
                    k = int(k)
                except ValueError:
                    raise SchemeError(f"{where}: {key} {row[key]!r} is not an integer code") from None
            try:
                v = float(row["volume_m3_per_ha"])
            except ValueError:
                raise SchemeError(f"{where}: volume {row['volume_m3_per_ha']!r} is not a number") from None
            if not math.isfinite(v) or v < 0:
                raise SchemeError(f"{where}: volume {v} must be ≥ 0 m³/ha")
            if v > MAX_VOLUME_M3_PER_HA:
                raise SchemeError(f"{where}: volume {v:g} m³/ha is more than any stand holds (at most "
                                  f"{MAX_VOLUME_M3_PER_HA:,.0f}); check the units (m³/ha; 1 m³/mu = 15 m³/ha)")
            year = None
            if (raw := row.get("year", "").strip()):
                try:
                    year = int(float(raw))
                except ValueError:
                    raise SchemeError(f"{where}: year {raw!r} is not a year") from None
                if not 1900 <= year <= 2200:
                    raise SchemeError(f"{where}: year {year} is implausible")
            zk = (row.get(zone_col, "").strip() or None) if zone_col else None
            ident = (zk, k, year)
            if ident in seen:
                raise SchemeError(f"{origin}: {key} {k!r}" + (f" for {zone_col} {zk!r}" if zk else "")
                                  + (f" in {year}" if year else "") + " listed twice")
            seen.add(ident)
            out.append(VolumeRow(zk, k, year, v, row.get("source", "")))
        return cls("group" if key == "group" else "lucode", tuple(out), origin, meta, zone_col)

    def lookup(self, key, *, zone_key: str | None, year: int | None) -> VolumeRow | None:
        """The row for ``key`` (group or code) in the zone (or its attribute value) and map year.

        Zone-specific rows win over rows for every zone; among years the latest not after
        ``year`` wins, else the earliest (a map older than every inventory), else a row
        without year.
        """
        for zk in ([zone_key] if zone_key is not None else []) + [None]:
            cands = [r for r in self.rows if r.key == key and r.zone_key == zk]
            if not cands:
                continue
            dated = [r for r in cands if r.year is not None]
            undated = [r for r in cands if r.year is None]
            if year is not None and dated:
                before = [r for r in dated if r.year <= year]
                if before:
                    return max(before, key=lambda r: r.year)
                if not undated:
                    return min(dated, key=lambda r: r.year)
            if undated:
                return undated[0]
            return max(dated, key=lambda r: r.year)
        return None

    def per_class(self, scheme: ClassScheme, codes: tuple[int, ...], *, zone_key: str | None = None,
                  year: int | None = None) -> np.ndarray:
        """m³/ha per class (0 for classes without a row: no growing stock)."""
        by = scheme.by_code
        vals = []
        for c in codes:
            r = self.lookup(by[c].group if self.keyed_by == "group" else c, zone_key=zone_key, year=year)
            vals.append(0.0 if r is None else r.volume_m3_per_ha)
        return np.array(vals)

    def provenance(self, scheme: ClassScheme, codes: tuple[int, ...], *, zone_key: str | None, year: int | None) -> str:
        """Which rows a zone and year use: 'forest 77.6 m³/ha (2013: source)'."""
        by = scheme.by_code
        used = {}
        for c in codes:
            k = by[c].group if self.keyed_by == "group" else c
            r = self.lookup(k, zone_key=zone_key, year=year)
            if r is not None and r.volume_m3_per_ha > 0:
                used[k] = r
        return "; ".join(f"{k} {r.volume_m3_per_ha:g} m³/ha" + (f" ({r.year} basis)" if r.year else "")
                         + (f" for {r.zone_key}" if r.zone_key else "") for k, r in used.items())


def volume_effects(area0_ha: np.ndarray, area1_ha: np.ndarray, v0_m3_per_ha: np.ndarray,
                   v1_m3_per_ha: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split a volume change into an area effect and a growth effect.

    ``ΔV = Σ A1·v1 − Σ A0·v0 = Σ (A1 − A0)·v0 + Σ A1·(v1 − v0)``: the first term is what the
    change of forest area alone would have done at the old volume per hectare, the second the
    growth of volume per hectare on the new area. Sums over the last axis (strata: classes).

    Examples
    --------
    >>> dv, area, growth = volume_effects(np.array([100.0]), np.array([110.0]), np.array([77.6]), np.array([86.9]))
    >>> float(area[()]), round(float(growth[()]), 6), round(float(dv[()]), 6)  # 10 × 77.6; 110 × 9.3
    (776.0, 1023.0, 1799.0)
    """
    a0, a1 = np.asarray(area0_ha, dtype=np.float64), np.asarray(area1_ha, dtype=np.float64)
    v0, v1 = np.asarray(v0_m3_per_ha, dtype=np.float64), np.asarray(v1_m3_per_ha, dtype=np.float64)
    area = ((a1 - a0) * v0).sum(axis=-1)  # ha × m³/ha = m³
    growth = (a1 * (v1 - v0)).sum(axis=-1)
    return area + growth, area, growth


def check_volume_raster(path: str | os.PathLike) -> None:
    """Refuse a volume raster whose values cannot be m³/ha: negative ones are an undeclared
    nodata (-9999), which summed into the stock; above :data:`MAX_VOLUME_M3_PER_HA` a fill value
    or other units. Decided from up to 1024 × 1024 samples of the whole raster.

    Raises
    ------
    SchemeError
        Values below 0 or above the limit.
    """
    from sinkplan.layers.continuous import sample_values

    vals = sample_values(path)
    if vals.size and vals.min() < 0:
        raise SchemeError(f"{path}: volume values go down to {vals.min():g}; stock volume is ≥ 0 m³/ha: declare the "
                          "raster's nodata value (gdal_translate -a_nodata on a copy)", params=("volume",))
    if vals.size and vals.max() > MAX_VOLUME_M3_PER_HA:
        raise SchemeError(f"{path}: volume values reach {vals.max():g} m³/ha, more than any stand holds (at most "
                          f"{MAX_VOLUME_M3_PER_HA:,.0f}); declare its nodata or give m³/ha", params=("volume",))
