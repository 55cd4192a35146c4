"""Library writers of the sinks result folders: a result in, every file of its spec out.

:func:`write_carbon`, :func:`write_coverage`, :func:`write_change` and
:func:`write_restoration` take what :func:`sinkplan.sinks.api.carbon_stocks`,
:func:`~sinkplan.sinks.api.forest_coverage`, :func:`~sinkplan.sinks.api.land_change` and
:func:`~sinkplan.sinks.api.restoration_effect` return and write the result folder the
matching command writes (the command calls them): tables (CSV, XLSX), rasters (streamed
block by block from the land-cover rasters, never held whole), the map files
``sinkplan map`` needs (zones, redline, projects, land-cover preview, ``scheme.csv``), the
targets compared against, ``summary.json`` and ``manifest.json``. File names, columns and
summary keys are those of :mod:`sinkplan.layers.resultspec`.

``folder`` is a path (a :class:`~sinkplan.layers.resultfolder.ResultFolder` is opened, claimed
and committed atomically) or an open ``ResultFolder`` (the command opens it before the run,
so a second run with the same ``--out`` fails at once).

Examples
--------
>>> from sinkplan.sinks.api import carbon_stocks
>>> res = carbon_stocks("lc2020.tif", zones="banners.gpkg", zone_field="name_zh")  # doctest: +SKIP
>>> write_carbon(res, "carbon2020")  # doctest: +SKIP
PosixPath('carbon2020')
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
import numpy as np
import pandas as pd

from sinkplan.layers import resultspec as rs
from sinkplan.layers.grid import DEFAULT_MAX_CELLS
from sinkplan.layers.landcover import LandCover
from sinkplan.layers.parallel import Progress
from sinkplan.layers.resultfolder import ResultFolder, result_folder, targets_record

__all__ = ["write_carbon", "write_coverage", "write_change", "write_restoration", "write_lut_raster",
           "write_transitions_raster", "LutRaster", "carbon_rasters", "change_rasters", "transitions_raster",
           "streamed_rasters"]

logger = logging.getLogger(__name__)


def write_lut_raster(path: str | os.PathLike, landcovers: Sequence[LandCover], lut: np.ndarray, *, dtype: str,
                     nodata: float | int, tags: dict[str, str], band_description: str, resampling: str = "average",
                     max_cells: int = DEFAULT_MAX_CELLS, progress: Progress | None = None, label: str = "") -> Path:
    """A raster of ``lut[slot of code before(, slot of code after)]``, streamed block by block.

    ``lut`` is indexed by the class slots of :class:`sinkplan.sinks.blocks.ClassSlots`
    (one axis per land-cover raster), so nodata and unknown codes get the LUT's value of
    those slots.
    """
    from sinkplan.layers.grid import open_raster
    from sinkplan.layers.outputs import BlockWriter
    from sinkplan.layers.reading import read_window
    from sinkplan.sinks.blocks import ClassSlots
    from sinkplan.sinks.fused import HAVE_NUMBA, lookup2

    grid = landcovers[0].grid
    slots = [ClassSlots.build(lc.scheme, dtype=lc.dtype, nodata=(lc.nodata,)) for lc in landcovers]
    lut = np.asarray(lut)
    windows = list(grid.blocks(max_cells))
    with contextlib.ExitStack() as stack:
        srcs = [stack.enter_context(open_raster(lc.path)) if lc.source is None else lc.source for lc in landcovers]
        out = stack.enter_context(BlockWriter(path, grid, dtype, nodata=nodata, resampling=resampling, tags=tags,
                                              band_description=band_description))
        for i, w in enumerate(windows):
            codes = [read_window(src, w, name=lc.path) if lc.source is None else src.read(w)
                     for src, lc in zip(srcs, landcovers)]
            if len(codes) == 2 and HAVE_NUMBA and all(c.dtype in (np.uint8, np.uint16) for c in codes):
                block = lookup2(*codes, slots[0].lut, slots[1].lut, lut)  # one loop, no index arrays
            else:
                block = lut[tuple(s.slot_of(c) for s, c in zip(slots, codes))]
            out.write(block.astype(dtype, copy=False), w)
            if progress is not None:
                progress((i + 1) / len(windows), label or Path(path).name)
    return Path(path)


def write_transitions_raster(path: str | os.PathLike, landcovers: Sequence[LandCover], *,
                             max_cells: int = DEFAULT_MAX_CELLS, progress: Progress | None = None) -> Path | None:
    """``code_before × 100 + code_after`` (uint16, 0 where either year has no land class).

    Returns None (nothing written) when a code is 100 or more: the encoding needs codes < 100.
    """
    r = transitions_raster(landcovers)
    if r is None:
        return None
    return write_lut_raster(path, landcovers, r.lut, dtype=r.dtype, nodata=r.nodata, tags=r.tags,
                            band_description=r.band_description, resampling=r.resampling, max_cells=max_cells,
                            progress=progress, label=r.label)


@dataclass(frozen=True)
class LutRaster:
    """One output raster that is a lookup of the land-cover class slots: its file, table
    (indexed as :func:`write_lut_raster` says) and GeoTIFF metadata."""

    file: rs.FileSpec
    lut: np.ndarray = field(repr=False)
    dtype: str
    nodata: float | int
    tags: dict[str, str]
    band_description: str
    resampling: str
    label: str


def carbon_rasters(lc: LandCover, table) -> list[LutRaster]:
    """``carbon_density.tif`` of a carbon run on ``lc`` with density table ``table``."""
    from sinkplan.sinks.blocks import ClassSlots
    from sinkplan.sinks.carbon import DENSITY_NODATA, density_lut

    slots = ClassSlots.build(lc.scheme, dtype=lc.dtype, nodata=(lc.nodata,))
    return [LutRaster(rs.CARBON_DENSITY, density_lut(table.resolve(lc.scheme), slots.slots), "float32", DENSITY_NODATA,
                      {"units": "Mg C/ha", "quantity": "carbon density, all pools", "densities": table.origin,
                       "soil_depth_cm": str(table.soil_depth_cm)},
                      "carbon density (Mg C/ha)", "average", "carbon density raster")]


def change_rasters(landcovers: Sequence[LandCover], table, years, method) -> list[LutRaster]:
    """``carbon_change.tif`` and (class codes below 100) ``transitions.tif`` of a two-map change."""
    from sinkplan.sinks.change_api import change_raster_lut, change_raster_tags
    from sinkplan.sinks.sequestration import TransitionMethod

    method = method if method is not None else TransitionMethod()
    years = None if years is None else tuple(years)
    out = [LutRaster(rs.CARBON_CHANGE, change_raster_lut(landcovers, table, years, method), "float32", float("nan"),
                     change_raster_tags(table, years, method), "carbon change (Mg C/ha)", "average",
                     "carbon change raster")]
    transitions = transitions_raster(landcovers)
    return out if transitions is None else [*out, transitions]


def transitions_raster(landcovers: Sequence[LandCover]) -> LutRaster | None:
    """``transitions.tif`` of a change from the first to the last of ``landcovers``; None (and
    an INFO line) when a code is 100 or more, which the encoding cannot hold."""
    from sinkplan.sinks.blocks import ClassSlots
    from sinkplan.sinks.change_api import transitions_encodable, transitions_lut

    slots = [ClassSlots.build(lc.scheme, dtype=lc.dtype, nodata=(lc.nodata,)) for lc in landcovers]
    if not transitions_encodable(slots):
        logger.info("codes ≥ 100: no %s (its encoding is code_before × 100 + code_after)", rs.TRANSITIONS_TIF.name)
        return None
    return LutRaster(rs.TRANSITIONS_TIF, transitions_lut(slots), "uint16", 0,
                     {"encoding": "code_before * 100 + code_after", "nodata": "0: no land class in either year",
                      "classes": rs.SCHEME_CSV.name}, "land-cover transition", "mode", "transitions")


@contextlib.contextmanager
def streamed_rasters(rf: ResultFolder, rasters: Sequence[LutRaster], grid) -> Iterator[list]:
    """Writers of ``rasters`` in ``rf``, one ``(block, window)`` sink each, for a pass to feed
    (``on_raster=`` of :func:`~sinkplan.sinks.api.carbon_stocks` and
    :func:`~sinkplan.sinks.change_api.land_change`): the rasters are written while the pass
    reads, with no second read of the land cover. Finished (COG layout) on a clean exit,
    dropped on an error; a writer of the result folder then finds them present and skips them.

    Examples
    --------
    >>> with streamed_rasters(rf, carbon_rasters(lc, table), lc.grid) as (sink,):  # doctest: +SKIP
    ...     res = carbon_stocks(lc, densities=table, on_raster=sink)
    """
    from sinkplan.layers.outputs import BlockWriter

    with contextlib.ExitStack() as stack:
        writers = [stack.enter_context(BlockWriter(rf.path(r.file), grid, r.dtype, nodata=r.nodata,
                                                   resampling=r.resampling, tags=r.tags,
                                                   band_description=r.band_description)) for r in rasters]

        def sink_of(writer, dtype):
            return lambda block, window: writer.write(np.asarray(block, dtype=dtype), window)

        yield [sink_of(w, r.dtype) for w, r in zip(writers, rasters)]


def _write_missing(rf: ResultFolder, rasters: Sequence[LutRaster], landcovers: Sequence[LandCover], *, cells: int,
                   progress: Progress | None) -> None:
    """Write each of ``rasters`` the pass did not already stream into ``rf`` (a second read)."""
    for r in rasters:
        if rf.exists(r.file):
            continue
        write_lut_raster(rf.path(r.file), landcovers, r.lut, dtype=r.dtype, nodata=r.nodata, tags=r.tags,
                         band_description=r.band_description, resampling=r.resampling, max_cells=cells,
                         progress=progress, label=r.label)


# --------------------------------------------------------------------------- carbon
def write_carbon(result, folder: str | os.PathLike | ResultFolder, *, overwrite: bool = False, raster: bool = True,
                 max_cells: int | None = None, progress: Progress | None = None, preview=None) -> Path:
    """Write a carbon result folder (what ``sinkplan carbon`` writes).

    Parameters
    ----------
    result : CarbonResult
        From :func:`sinkplan.sinks.api.carbon_stocks`.
    folder : path or ResultFolder
        The result folder.
    overwrite : bool
        Replace a folder a previous run wrote.
    raster : bool
        Write ``carbon_density.tif`` (never with a density raster: it would show the
        table's densities).
    max_cells : int, optional
        Cells per block of the raster passes (default: the result's).
    progress : callable, optional
        ``progress(fraction, label)``.
    preview : PreviewRead, optional
        The land-cover preview's read started before the pass
        (:class:`sinkplan.sinks.mapfiles.PreviewRead`), for a result whose pass did not build
        it; else it is read now.

    Returns
    -------
    Path
        The folder.
    """
    from sinkplan.sinks.mapfiles import carbon_map_files

    params = {**result.parameters, "raster": bool(raster and not result.parameters.get("density_raster"))}
    cells = max_cells or result.parameters.get("max_cells") or DEFAULT_MAX_CELLS
    lc, table = result.landcover, result.densities
    with result_folder(folder, kind="carbon", command="carbon", parameters=params, inputs=result.inputs,
                       overwrite=overwrite) as rf:
        if params["raster"]:
            _write_missing(rf, carbon_rasters(lc, table), [lc], cells=cells, progress=progress)
        rf.write_csv(rs.STOCKS_BY_ZONE, result.by_zone)
        rf.write_csv(rs.STOCKS_BY_CLASS, result.by_class)
        rf.write_xlsx(rs.STOCKS_XLSX, {"stocks_by_zone": result.by_zone, "stocks_by_class": result.by_class})
        carbon_map_files(rf, strata=result.strata, by_zone=result.by_zone, lc=lc, max_cells=cells, progress=progress,
                         preview=getattr(result, "preview", None) or preview)
        rf.write_summary(result.summary)
        return rf.out


# --------------------------------------------------------------------------- coverage
def write_coverage(result, folder: str | os.PathLike | ResultFolder, *, overwrite: bool = False) -> Path:
    """Write a coverage result folder (what ``sinkplan coverage`` writes) from
    :func:`sinkplan.sinks.api.forest_coverage`'s result; returns the folder."""
    from sinkplan.sinks.mapfiles import coverage_map_files
    from sinkplan.sinks.strata import OUTSIDE_ZONES

    with result_folder(folder, kind="coverage", command="coverage", parameters=result.parameters,
                       inputs=result.inputs, overwrite=overwrite) as rf:
        df = result.by_zone
        rf.write_csv(rs.COVERAGE_BY_ZONE, df)
        rf.write_csv(rs.COVERAGE_TOTALS, result.totals)
        rf.write_csv(rs.VOLUME_BY_ZONE, result.volume_by_zone)
        sheets = {"coverage_by_zone": df, "coverage_totals": result.totals, "volume_by_zone": result.volume_by_zone}
        if len(result.volume_change):
            rf.write_csv(rs.VOLUME_CHANGE, result.volume_change)
            sheets["volume_change_by_zone"] = result.volume_change
        if len(result.trend_by_zone):
            rf.write_csv(rs.TREND_BY_ZONE, result.trend_by_zone)
            sheets["trend_by_zone"] = result.trend_by_zone
        rf.write_xlsx(rs.COVERAGE_XLSX, sheets)
        has_zones = result.strata.zones_gdf is not None
        zone_rows = df[df.zone_level == "zone"] if "zone_level" in df.columns else df  # group rows have no polygon
        coverage_map_files(rf, strata=result.strata,
                           by_zone=zone_rows[zone_rows.zone != OUTSIDE_ZONES] if has_zones else df.iloc[:0],
                           trend_rows=result.summary["trend_by_zone"], grid=result.grid)
        volume = result.summary.get("volume") or {}
        rf.write_json(rs.TARGETS, targets_record(result.summary.get("target"), volume.get("target"),
                                                 file=result.parameters.get("targets")))
        rf.write_summary(result.summary)
        return rf.out


# --------------------------------------------------------------------------- change
def _change_rasters(rf: ResultFolder, result, *, cells: int, progress: Progress | None) -> None:
    years = result.parameters.get("years")
    _write_missing(rf, change_rasters(result.landcovers, result.densities, years, result.method), result.landcovers,
                   cells=cells, progress=progress)


def _transition_tables(rf: ResultFolder, result, sheets: dict) -> None:
    tc, tg, matrix = result.transitions_by_code, result.transitions_by_group, result.transition_matrix.reset_index()
    rf.write_csv(rs.TRANSITIONS_BY_CODE, tc)
    rf.write_csv(rs.TRANSITIONS_BY_GROUP, tg)
    rf.write_csv(rs.TRANSITION_MATRIX, matrix)
    sheets.update(transitions_by_group=tg, transitions_by_code=tc, transition_matrix=matrix)


def write_change(result, folder: str | os.PathLike | ResultFolder, *, overwrite: bool = False, rasters: bool = True,
                 max_cells: int | None = None, progress: Progress | None = None) -> Path:
    """Write a change result folder (what ``sinkplan change`` writes) from
    :func:`sinkplan.sinks.api.land_change`'s result: tables, ``carbon_change.tif`` and
    ``transitions.tif`` (unless ``rasters`` is False), ``zones.gpkg``, ``scheme.csv``; returns the folder."""
    from sinkplan.sinks.mapfiles import change_map_files, scheme_csv_text

    cells = max_cells or result.parameters.get("max_cells") or DEFAULT_MAX_CELLS
    with result_folder(folder, kind="change", command="change", parameters={**result.parameters, "rasters": rasters},
                       inputs=result.inputs, overwrite=overwrite) as rf:
        if rasters:
            _change_rasters(rf, result, cells=cells, progress=progress)
        sheets = {"change_by_zone": result.by_zone}
        rf.write_csv(rs.CHANGE_BY_ZONE, result.by_zone)
        change_map_files(rf, strata=result.strata, by_zone=result.by_zone, grid=result.landcovers[0].grid)
        _transition_tables(rf, result, sheets)
        rf.write_xlsx(rs.CHANGE_XLSX, sheets)
        rf.write_text(rs.SCHEME_CSV, scheme_csv_text(result.landcovers[0].scheme))
        rf.write_summary(result.summary)
        return rf.out


def write_change_series(result, folder: str | os.PathLike | ResultFolder, *, overwrite: bool = False,
                        rasters: bool = True, max_cells: int | None = None, progress: Progress | None = None) -> Path:
    """Write a change result folder for a series of maps (what ``sinkplan change Y1=A Y2=B Y3=C ...`` writes)
    from :func:`sinkplan.sinks.series_api.land_change_series`'s result: ``change_by_interval.csv`` beside
    the change tables of the whole period, and ``carbon_change.tif`` (the whole period's sequestration per
    hectare, each pixel's age tracked: a second streamed pass) and ``transitions.tif`` (first → last map)."""
    from sinkplan.layers.outputs import BlockWriter
    from sinkplan.sinks.mapfiles import change_map_files, scheme_csv_text
    from sinkplan.sinks.series import series_block

    cells = max_cells or result.parameters.get("max_cells") or DEFAULT_MAX_CELLS
    lcs = result.landcovers
    with result_folder(folder, kind="change", command="change", parameters={**result.parameters, "rasters": rasters},
                       inputs=result.inputs, overwrite=overwrite) as rf:
        if rasters:
            from dataclasses import replace

            spec = replace(result.series_spec, raster=True)
            windows = list(spec.grid.blocks(cells))
            with BlockWriter(rf.path(rs.CARBON_CHANGE), spec.grid, "float32", nodata=float("nan"), resampling="average",
                             tags={"units": "Mg C/ha", "years": str(list(spec.years)),
                                   "quantity": "sequestration over the whole series, each pixel's age tracked (IPCC 2006 "
                                               f"Tier 1 transition periods, D = {spec.transition_years:g} yr)"},
                             band_description="carbon change (Mg C/ha)") as out:
                for i, w in enumerate(windows):
                    out.write(series_block(spec, w).raster, w)
                    if progress is not None:
                        progress((i + 1) / len(windows), "carbon change raster")
            write_transitions_raster(rf.path(rs.TRANSITIONS_TIF), [lcs[0], lcs[-1]], max_cells=cells, progress=progress)
        rf.write_csv(rs.CHANGE_BY_ZONE, result.by_zone)
        rf.write_csv(rs.CHANGE_BY_INTERVAL, result.by_interval)
        change_map_files(rf, strata=result.strata, by_zone=result.by_zone, grid=lcs[0].grid)
        sheets = {"change_by_zone": result.by_zone, "change_by_interval": result.by_interval}
        _transition_tables(rf, result, sheets)
        rf.write_xlsx(rs.CHANGE_XLSX, sheets)
        rf.write_text(rs.SCHEME_CSV, scheme_csv_text(lcs[0].scheme))
        rf.write_summary(result.summary)
        return rf.out


def write_restoration(result, folder: str | os.PathLike | ResultFolder, *, overwrite: bool = False,
                      rasters: bool = True, max_cells: int | None = None, progress: Progress | None = None) -> Path:
    """Write a restoration result folder (what ``sinkplan change --control-ring-km`` writes) from
    :func:`sinkplan.sinks.api.restoration_effect`'s result; returns the folder."""
    from sinkplan.sinks.mapfiles import restoration_map_files, scheme_csv_text
    from sinkplan.sinks.restoration import control_rings

    cells = max_cells or result.parameters.get("max_cells") or DEFAULT_MAX_CELLS
    rz = result.zones
    with result_folder(folder, kind="restoration", command="change",
                       parameters={**result.parameters, "rasters": rasters}, inputs=result.inputs,
                       overwrite=overwrite) as rf:
        if rasters:
            _change_rasters(rf, result, cells=cells, progress=progress)
        sheets: dict[str, pd.DataFrame] = {"restoration_effect": result.effect}
        rf.write_csv(rs.RESTORATION_EFFECT, result.effect)
        restoration_map_files(rf, projects=rz.projects, rings=control_rings(rz.projects, rz.ring_m),
                              effect=result.effect, grid=result.landcovers[0].grid)
        _transition_tables(rf, result, sheets)
        rf.write_xlsx(rs.RESTORATION_XLSX, sheets)
        rf.write_text(rs.SCHEME_CSV, scheme_csv_text(result.landcovers[0].scheme))
        rf.write_summary(result.summary)
        return rf.out
