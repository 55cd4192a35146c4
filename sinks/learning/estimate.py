"""Accuracy-adjusted class areas and forest coverage from a map and a reference sample
(what ``sinkplan area-estimate`` writes): Olofsson et al. (2014), see
:mod:`sinkplan.sinks.learning.area_estimate` for the estimator."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sinkplan.layers.errors import InputError
from sinkplan.layers.grid import DEFAULT_MAX_CELLS
from sinkplan.layers.landcover import LandCover
from sinkplan.sinks.learning.area_estimate import StratifiedEstimate
from sinkplan.sinks.learning.area_tables import ReferenceSample, StrataAreas
from sinkplan.layers.parallel import Progress

__all__ = ["AreaEstimateResult", "estimate_areas"]

logger = logging.getLogger(__name__)



@dataclass(frozen=True)
class AreaEstimateResult:
    """Error-adjusted areas, accuracies and coverage (the tables ``sinkplan area-estimate`` writes).

    Attributes
    ----------
    classes : DataFrame
        ``classes.csv``: per class mapped and adjusted area (ha) with SE and 95 % CI, user's
        and producer's accuracy.
    error_matrix_counts, error_matrix_proportions : DataFrame
        ``error_matrix_counts.csv``, ``error_matrix_proportions.csv``.
    zones : DataFrame or None
        ``zones.csv``: per zone map and adjusted coverage (a zone with too few reference
        units says so in ``note``); None without zones.
    summary : dict
        ``summary.json``: classes, overall accuracy, ``forest_coverage`` (map share, adjusted
        share, CI, the target check), the reference points used and dropped.
    estimate : StratifiedEstimate
        The estimator's arrays.
    sample : ReferenceSample
        Map and reference class (and zone) of each usable reference point.
    areas : StrataAreas
        Mapped pixels and area per (zone, code).
    landcover : LandCover
        The map.
    parameters : dict
        What the result was computed with (recorded in the manifest by
        :func:`sinkplan.sinks.learning.folders.write_area_estimate`).
    """

    classes: pd.DataFrame
    error_matrix_counts: pd.DataFrame
    error_matrix_proportions: pd.DataFrame
    zones: pd.DataFrame | None
    summary: dict
    estimate: StratifiedEstimate
    sample: ReferenceSample
    areas: StrataAreas
    landcover: LandCover
    parameters: dict = field(default_factory=dict)

    @property
    def inputs(self) -> list[str]:
        """Input files (recorded with their SHA-256 in the manifest)."""
        p = self.parameters
        return [x for x in (p.get("map"), p.get("reference"), p.get("zones")) if x]

    def sheets(self) -> dict[str, pd.DataFrame]:
        """The tables by the name of their CSV file (without ``.csv``), in the command's order."""
        out = {"classes": self.classes, "error_matrix_counts": self.error_matrix_counts,
               "error_matrix_proportions": self.error_matrix_proportions}
        if self.zones is not None:
            out["zones"] = self.zones
        return out


def _warn_outside_ci(classes: pd.DataFrame, map_path) -> list[int]:
    """Codes whose mapped area lies outside the reference sample's 95 % CI, named in a warning."""
    from pathlib import Path

    from sinkplan.sinks.learning.shares import outside_reference_ci

    bad = outside_reference_ci(classes)
    if len(bad):
        listed = "; ".join(f"{getattr(r, 'name_en', r.code)}: mapped {r.map_area_ha:,.0f} ha, reference "
                           f"{r.adjusted_area_ha:,.0f} ha (95 % CI {r.ci95_low_ha:,.0f}–{r.ci95_high_ha:,.0f})"
                           for r in bad.itertuples())
        logger.warning("%s: the mapped area of %d class(es) lies outside the reference sample's 95 %% confidence "
                       "interval; report the error-adjusted areas: %s", Path(str(map_path)).name, len(bad), listed)
    return [int(c) for c in bad["code"]]


def estimate_areas(
    map: str | os.PathLike | LandCover,
    reference: str | os.PathLike,
    *,
    ref_field: str,
    scheme: str = "clcd",
    zones: str | os.PathLike | None = None,
    zone_field: str | None = None,
    zone_layer: str | None = None,
    coverage_groups: Sequence[str] = ("forest",),
    max_cells: int = DEFAULT_MAX_CELLS,
    progress: Progress | None = None,
) -> AreaEstimateResult:
    """Stratified estimation of class areas, accuracies and forest coverage (Olofsson et al. 2014).

    Parameters
    ----------
    map : path or LandCover
        Land-cover map of class codes: its classes are the strata.
    reference : path
        Reference points (a stratified random sample of the map) with the true class.
    ref_field : str
        Field with the reference class code.
    scheme : str
        Class scheme of the codes.
    zones, zone_field, zone_layer : optional
        Zone polygons, the field naming them and the layer of a multi-layer file: coverage per
        zone as well.
    coverage_groups : sequence of str
        Groups counted as forest cover (default ``("forest",)``).
    max_cells : int
        Cells per block.
    progress : callable, optional
        ``progress(fraction, label)``.

    Returns
    -------
    AreaEstimateResult

    Raises
    ------
    InputError
        Unknown groups, no usable reference point, a mapped stratum with fewer than two units.
    FieldError
        ``ref_field`` missing or not class codes.

    Examples
    --------
    >>> res = estimate_areas("lc2020.tif", "reference.gpkg", ref_field="ref_code")  # doctest: +SKIP
    >>> res.summary["forest_coverage"]["adjusted_share"], res.summary["forest_coverage"]["ci95"]  # doctest: +SKIP
    """
    from sinkplan.layers.landcover import open_landcover
    from sinkplan.layers.schemes import GROUPS
    from sinkplan.layers.vectors import read_vector
    from sinkplan.layers.zones import read_zones
    from sinkplan.seeds.targets import load_targets
    from sinkplan.sinks.learning.area_estimate import error_matrix, stratified_estimate
    from sinkplan.sinks.learning.area_tables import (
        coverage_dict,
        estimate_tables,
        reference_sample,
        strata_areas,
    )

    lc = map if isinstance(map, LandCover) else open_landcover(map, scheme)
    groups = tuple(g.strip() for g in coverage_groups if g.strip())
    if not groups or set(groups) - set(GROUPS):
        raise InputError(f"coverage_groups {','.join(coverage_groups)!r}: name groups from {', '.join(GROUPS)}",
                         params=("coverage_groups",))
    zr = None
    if zones is not None:
        zr = read_zones(zones, lc.grid, field=zone_field, layer=zone_layer)
    ref = read_vector(reference, to_crs=lc.grid.crs, field=ref_field)
    sample = reference_sample(ref.gdf, ref_field, lc, zones=zr, where=str(reference), max_cells=max_cells)
    sa = strata_areas(lc, zones=zr, max_cells=max_cells, progress=progress)
    px, area_m2 = sa.total()
    codes = sorted(set(np.flatnonzero(px).tolist()) | set(sample.ref_code.tolist()) | set(sample.map_code.tolist()))
    est = stratified_estimate(error_matrix(sample.map_code, sample.ref_code, codes), area_m2[codes] / 10_000.0,
                              codes=codes)  # m² → ha
    tables = estimate_tables(est, lc.scheme, px[codes])
    cover = coverage_dict(est, lc.scheme, groups)
    target = load_targets().get("forest_coverage")
    if target is not None and groups == ("forest",):
        cover["target"] = {"value": target.value, "year": target.year, "clause": target.clause,
                           "adjusted_meets": bool(target.is_met(cover["adjusted_share"])),
                           "ci95_low_meets": bool(target.is_met(cover["ci95_low"]))}
    zone_rows = []
    for z in range(1, (zr.n_zones if zr else 0) + 1):
        row = {"zone": zr.names[z - 1], "reference_units": int((sample.zone == z).sum()),
               "map_area_ha": float(sa.area_m2[z].sum() / 10_000.0)}
        try:
            sel = sample.zone == z
            ez = stratified_estimate(error_matrix(sample.map_code[sel], sample.ref_code[sel], codes),
                                     sa.area_m2[z, codes] / 10_000.0, codes=codes)
            cz = coverage_dict(ez, lc.scheme, groups)
            row.update(coverage_map=cz["map_share"], coverage_adjusted=cz["adjusted_share"], coverage_ci95=cz["ci95"],
                       overall_accuracy=ez.overall_accuracy, note="")
        except InputError as exc:
            row["note"] = f"not estimated: {exc}"
        zone_rows.append(row)
    summary = {
        "method": "stratified estimator, Olofsson et al. 2014 (RSE 148:42-57); 95 % CI = ±1.96 SE",
        "classes": tables["summary"], "total_area_ha": est.total_area,
        "overall_accuracy": est.overall_accuracy, "overall_accuracy_ci95": 1.96 * est.overall_accuracy_se,
        "forest_coverage": cover,
        "reference": {"points": sample.n_read, "used": int(sample.map_code.size), "dropped": sample.dropped},
        "zones": zone_rows or None}
    summary["map_outside_ci"] = _warn_outside_ci(tables["classes"], lc.path)
    logger.info("forest coverage %.4f ± %.4f (map %.4f)", cover["adjusted_share"], cover["ci95"], cover["map_share"])
    params = {"map": str(lc.path), "reference": str(reference), "ref_field": ref_field, "scheme": lc.scheme.name,
              "zones": None if zones is None else str(zones), "zone_field": zone_field, "zone_layer": zone_layer,
              "coverage_groups": list(groups)}
    return AreaEstimateResult(tables["classes"], tables["counts"], tables["proportions"],
                              pd.DataFrame(zone_rows) if zone_rows else None, summary, est, sample, sa, lc, params)
