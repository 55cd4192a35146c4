"""Inputs and tables of ``sinkplan area-estimate``: strata areas, the reference sample, results.

:func:`strata_areas` counts mapped pixels and ellipsoidal area per (zone ×) class in one
streamed pass; :func:`reference_sample` reads the map class (and zone) under each
reference point; :func:`estimate_tables` turns a :class:`StratifiedEstimate` into the
per-class table, the two error matrices and the headline dict of ``summary.json``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from sinkplan.layers.errors import FieldError, InputError
from sinkplan.layers.grid import DEFAULT_MAX_CELLS
from sinkplan.layers.landcover import LandCover, check_codes
from sinkplan.layers.schemes import ClassScheme
from sinkplan.layers.tally import area_by_key
from sinkplan.layers.zones import ZoneRasterizer
from sinkplan.sinks.learning.area_estimate import StratifiedEstimate, group_estimate
from sinkplan.sinks.learning.samples import point_pixels, read_at_pixels, single_points
from sinkplan.layers.parallel import Progress

__all__ = ["ReferenceSample", "StrataAreas", "coverage_dict", "estimate_tables", "reference_sample", "strata_areas"]

logger = logging.getLogger(__name__)



@dataclass(frozen=True)
class StrataAreas:
    """Mapped pixels and area (m²) per zone (row 0: outside every zone / no zones) and code."""

    pixels: np.ndarray  # (zones + 1, max_code + 1)
    area_m2: np.ndarray

    def total(self) -> tuple[np.ndarray, np.ndarray]:
        """Pixels and area per code over all zones."""
        return self.pixels.sum(axis=0), self.area_m2.sum(axis=0)


def strata_areas(lc: LandCover, *, zones: ZoneRasterizer | None = None, max_cells: int = DEFAULT_MAX_CELLS,
                 progress: Progress | None = None) -> StrataAreas:
    """One pass over the map: pixels and ground area per (zone, class code).

    ``zones`` is a :class:`sinkplan.layers.zones.ZoneRasterizer` on the map's grid, or None.

    Raises
    ------
    UnknownClassCode
        The map holds codes the scheme lacks.
    """
    ncode = max(lc.scheme.codes) + 2  # last slot: codes beyond the scheme
    nz = 1 + (zones.n_zones if zones is not None else 0)
    pixels = np.zeros(nz * ncode, dtype=np.int64)
    area = np.zeros(nz * ncode)
    total = lc.grid.n_blocks(max_cells)
    for i, (w, codes) in enumerate(lc.blocks(max_cells)):
        k = codes.astype(np.int64)
        valid = lc.valid_mask(codes)
        k = np.where((k < 0) | (k >= ncode - 1), ncode - 1, k)
        if zones is not None:
            k = zones.rasterize(w).astype(np.int64) * ncode + k
        px, ar = area_by_key(k, nz * ncode, lc.grid, w, valid=valid)
        pixels += px
        area += ar
        if progress:
            progress((i + 1) / total, f"mapped area per class of {lc.path.name}")
    pixels = pixels.reshape(nz, ncode)
    area = area.reshape(nz, ncode)
    if pixels[:, -1].any():
        raise InputError(f"{lc.path}: {int(pixels[:, -1].sum())} px hold codes beyond scheme {lc.scheme.name!r}")
    per_code = pixels.sum(axis=0)
    check_codes({int(c): int(per_code[c]) for c in np.flatnonzero(per_code)}, lc.scheme, lc.path)
    return StrataAreas(pixels[:, :-1], area[:, :-1])


@dataclass(frozen=True)
class ReferenceSample:
    """Reference units usable for estimation: map code, reference code, zone id (0: none)."""

    map_code: np.ndarray
    ref_code: np.ndarray
    zone: np.ndarray
    n_read: int
    dropped: dict = field(default_factory=dict)


def reference_sample(gdf: gpd.GeoDataFrame, ref_field: str, lc: LandCover, *, zones: ZoneRasterizer | None = None, where: str = "reference",
                     max_cells: int = DEFAULT_MAX_CELLS) -> ReferenceSample:
    """The map class under each reference point (in the map's CRS) and its reference label.

    Points off the map or on map nodata are dropped and counted.

    Raises
    ------
    FieldError
        ``ref_field`` is missing, empty or holds values that are not land codes of the scheme.
    """
    scheme = lc.scheme
    if ref_field not in gdf.columns:
        cols = ", ".join(c for c in gdf.columns if c != gdf.geometry.name)
        raise FieldError(f"{where}: no field '{ref_field}'; available fields: {cols}")
    raw = gdf[ref_field]
    blank = raw.isna().to_numpy() | (raw.astype(str).str.strip() == "").to_numpy()
    if blank.any():
        raise FieldError(f"{where}: {int(blank.sum())} of {len(raw)} points have no label in field '{ref_field}'; "
                         "give each reference point its class code or remove it")
    try:
        ref = raw.astype("float64").to_numpy()
    except (TypeError, ValueError):
        raise FieldError(f"{where}: field '{ref_field}' is not numeric; give the reference class codes") from None
    bad = sorted({v for v in ref.tolist() if not np.isfinite(v) or v != int(v) or not scheme.is_land(int(v))})
    if bad:
        shown = ", ".join(str(int(v)) if np.isfinite(v) and v == int(v) else str(v) for v in bad[:10])  # 99, not 99.0
        raise FieldError(
            f"{where}: field '{ref_field}' holds {shown}, not land class codes of scheme {scheme.name!r} "
            f"({', '.join(str(c) for c in scheme.codes)}); fix the labels or pass another scheme", params=("scheme",))
    gdf = single_points(gdf, where=where)
    rows, cols, inside = point_pixels(gdf, lc.grid, where=where)
    dropped = {"outside_map": int((~inside).sum())}
    vals, _ = read_at_pixels(lc.path, lc.grid, rows[inside], cols[inside], max_cells=max_cells, resampling="nearest")
    mapped = vals[0].astype(np.int64)
    on_map = lc.valid_mask(mapped)
    dropped["map_nodata"] = int((~on_map).sum())
    ref = ref[inside][on_map].astype(np.int64)
    mapped = mapped[on_map]
    zone = np.zeros(mapped.size, dtype=np.int64)
    if zones is not None:
        r, c = rows[inside][on_map], cols[inside][on_map]
        zone = _zone_at(zones, lc.grid, r, c, max_cells)
    if mapped.size == 0:
        raise InputError(f"{where}: no reference point falls on a mapped pixel of {lc.path}; check the CRS and extent")
    return ReferenceSample(mapped, ref, zone, len(gdf), dropped)


def _zone_at(zones, grid, rows: np.ndarray, cols: np.ndarray, max_cells: int) -> np.ndarray:
    out = np.zeros(rows.size, dtype=np.int64)
    for w in grid.blocks(max_cells):
        r0, c0 = int(w.row_off), int(w.col_off)
        sel = np.flatnonzero((rows >= r0) & (rows < r0 + int(w.height)) & (cols >= c0) & (cols < c0 + int(w.width)))
        if sel.size and zones.intersects(w):
            out[sel] = zones.rasterize(w)[rows[sel] - r0, cols[sel] - c0]
    return out


def coverage_dict(est: StratifiedEstimate, scheme: ClassScheme, groups: tuple[str, ...]) -> dict:
    """Share of the mapped area in ``groups`` (forest coverage), map and error-adjusted with CI."""
    members = [c for c in est.codes if scheme.group_of(c) in groups]
    g = group_estimate(est, members)
    return {
        "groups": list(groups),
        "codes": members,
        "map_share": g.map_proportion,
        "adjusted_share": g.proportion,
        "se": g.proportion_se,
        "ci95": g.ci95,
        "ci95_low": g.proportion - g.ci95,
        "ci95_high": g.proportion + g.ci95,
        "denominator": "mapped land area (all strata)",
    }


def _f(v) -> float | None:
    v = float(v)
    return v if np.isfinite(v) else None


def estimate_tables(est: StratifiedEstimate, scheme: ClassScheme, map_pixels: np.ndarray) -> dict:
    """``classes`` (per-class DataFrame), ``counts`` / ``proportions`` (error matrices) and
    ``summary`` (list of per-class dicts for summary.json). Areas of ``est`` are in ha."""
    names = {c.code: c for c in scheme.classes}
    rows = []
    z = est.z
    for i, c in enumerate(est.codes):
        cl = names[c]
        rows.append({
            "code": c, "name_en": cl.name_en, "name_zh": cl.name_zh, "group": cl.group,
            "map_pixels": int(map_pixels[i]), "map_area_ha": float(est.map_area[i]),
            "sample_units_mapped": int(est.counts[i].sum()), "sample_units_reference": int(est.counts[:, i].sum()),
            "adjusted_area_ha": float(est.adjusted_area[i]), "se_ha": float(est.adjusted_area_se[i]),
            "ci95_ha": float(est.adjusted_area_ci[i]),
            "ci95_low_ha": float(est.adjusted_area[i] - est.adjusted_area_ci[i]),
            "ci95_high_ha": float(est.adjusted_area[i] + est.adjusted_area_ci[i]),
            "users_accuracy": _f(est.users_accuracy[i]), "users_ci95": _f(z * est.users_accuracy_se[i]),
            "producers_accuracy": _f(est.producers_accuracy[i]), "producers_ci95": _f(z * est.producers_accuracy_se[i]),
        })
    classes = pd.DataFrame(rows)
    labels = [f"{c} {names[c].name_en}" for c in est.codes]
    counts = pd.DataFrame(est.counts, index=labels, columns=labels)
    counts["total"] = counts.sum(axis=1)
    counts.loc["total"] = counts.sum(axis=0)
    props = pd.DataFrame(est.proportions, index=labels, columns=labels)
    props["W_i (map share)"] = props.sum(axis=1)
    props.loc["area share (reference)"] = props.sum(axis=0)
    for df in (counts, props):
        df.index.name = "map \\ reference"
    summary = [{k: r[k] for k in ("code", "name_en", "name_zh", "group", "map_area_ha", "adjusted_area_ha", "se_ha",
                                  "ci95_ha", "users_accuracy", "users_ci95", "producers_accuracy", "producers_ci95")}
               for r in rows]
    return {"classes": classes, "counts": counts.reset_index(), "proportions": props.reset_index(), "summary": summary}
