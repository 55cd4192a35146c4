"""``sinkplan carbon --density-raster``: a modelled density map in place of the lookup table.

The raster written by ``sinkplan density-model`` holds a density (Mg C/ha) for the pools
named in its ``POOLS`` tag (default ``above,below``) where the model applies, and nodata
elsewhere. One streamed pass sums, per (zone, redline side, class), the ground area where
the raster has a value and the stock it gives there (density × pixel area); the account's
stocks of those pools are then

    table density × (class area − raster area) + raster stock × pool share

so pixels without a raster value **fall back to the table** (and are counted), and the
raster's stock is split between the pools it covers in the table's proportions for the
class (evenly where the table gives that class zero).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
from rasterio.windows import Window

from sinkplan.layers.errors import InputError
from sinkplan.layers.warnings import AssumptionWarning, warn
from sinkplan.layers.grid import DEFAULT_MAX_CELLS, Grid, open_raster
from sinkplan.layers.landcover import LandCover
from sinkplan.layers.parallel import BlockExecutor, map_blocks
from sinkplan.layers.reading import read_window, window_label
from sinkplan.sinks.carbon import CarbonAccount

__all__ = ["DensityRaster", "DENSITY_UNITS", "apply_density_raster", "check_density_raster", "density_units_factor",
           "raster_pass"]

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class DensityRaster:
    """A checked density raster: path, nodata, the pools it covers and its units.

    ``scale`` converts its values to Mg C/ha (1 for Mg C/ha, 10 for kg C/m², 0.01 for g C/m²).
    """

    path: Path
    nodata: float | None
    pools: tuple[str, ...]
    units: str = "Mg C/ha"
    scale: float = 1.0


#: Carbon-density units a raster may state, normalised (lower case, no spaces, ² → 2), and
#: the factor to Mg C/ha: 1 kg C/m² = 10 Mg C/ha (10 000 m²/ha ÷ 1000 kg/Mg); 1 g C/m² = 0.01.
DENSITY_UNITS = {
    "mgc/ha": 1.0, "mgcha-1": 1.0, "mgcha^-1": 1.0, "tc/ha": 1.0, "tcha-1": 1.0, "tcha^-1": 1.0,
    "kgc/m2": 10.0, "kgcm-2": 10.0, "kgcm^-2": 10.0,
    "gc/m2": 0.01, "gcm-2": 0.01, "gcm^-2": 0.01,
}


def density_units_factor(units: str) -> float | None:
    """Mg C/ha per unit of ``units`` ('Mg C/ha', 'kg C/m2', 'g C m-2' …), None if not a carbon density."""
    key = "".join(units.split()).lower().replace("²", "2").replace("⁻¹", "-1").replace("⁻²", "-2")
    return DENSITY_UNITS.get(key)


def check_density_raster(path: str | os.PathLike, lc: LandCover, *, units: str | None = None) -> DensityRaster:
    """Check the raster is a carbon-density raster on the land-cover grid (before any output).

    A raster is taken as carbon density only when it says so: the ``POOLS`` and ``UNITS``
    tags ``sinkplan density-model`` writes, or ``units`` given by the user (then a missing
    ``POOLS`` tag means ``above,below``, what ``density-model`` models). Any other raster (a
    DEM read as Mg C/ha gave 23 times the carbon, exit 0) is refused.

    Raises
    ------
    InputFileError, MissingCRS
        Missing or unreadable file, no CRS.
    GridMismatch
        Not on the land-cover grid.
    InputError
        Not single-band, no POOLS/UNITS tags and no ``units``, units that are not a carbon
        density, or a ``POOLS`` tag naming unknown pools.
    """
    from sinkplan.sinks.densities import POOLS

    p = Path(path)
    with open_raster(p) as src:
        grid = Grid.from_dataset(src, name=str(p))
        count, nodata, tags = src.count, src.nodata, src.tags()
        band_units = (src.units[0] if src.units else "") or ""
    lc.grid.check_same(grid, names=(str(lc.path), str(p)), resampling="bilinear")
    if count != 1:
        raise InputError(f"{p}: a density raster has one band, found {count}")
    lower = {k.lower(): v for k, v in tags.items()}
    tagged_units = lower.get("units") or band_units
    if units is None:
        if tagged_units and density_units_factor(tagged_units) is None:
            raise InputError(f"{p}: not a carbon-density raster (its units are {tagged_units!r}); give a density-model "
                             "output, or a raster in Mg C/ha, kg C/m2 or g C/m2 with density_raster_units", params=("density_raster_units",))
        if "pools" not in lower or not tagged_units:
            missing = " and ".join(t for t, ok in (("POOLS", "pools" in lower), ("UNITS", bool(tagged_units))) if not ok)
            raise InputError(f"{p}: not a carbon-density raster (no {missing} tag, as sinkplan density-model writes); "
                             "give a density-model output, or say what it holds with density_raster_units 'Mg C/ha' "
                             "(kg C/m2 and g C/m2 are converted)", params=("density_raster_units",))
        units = tagged_units
    factor = density_units_factor(units)
    if factor is None:
        raise InputError(f"{p}: units {units!r} are not a carbon density; give a raster in Mg C/ha (t C/ha), kg C/m2 or "
                         "g C/m2, and state them with density_raster_units if its tags do not", params=("density_raster_units",))
    if "pools" not in lower:
        warn(AssumptionWarning, f"{p}: no POOLS tag: its values are taken as the above- and below-ground pools (what "
             "density-model models); tag it with gdal_edit.py -mo POOLS=... to say otherwise", logger=__name__)
    pools = tuple(s.strip() for s in lower.get("pools", "above,below").split(",") if s.strip())
    bad = [x for x in pools if x not in POOLS]
    if bad or not pools:
        raise InputError(f"{p}: tag POOLS={lower.get('pools')!r} names unknown pools {bad}; pools are {', '.join(POOLS)}")
    return DensityRaster(p, nodata, pools, units, factor)


def _block(window: Window, *, landcover, density: str, nodata: float | None, strata, lut: np.ndarray,
           ncls: int, nkeys: int, grid: Grid, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sinkplan.sinks.densities import MAX_DENSITY_MGC_PER_HA

    if isinstance(landcover, str):
        with open_raster(landcover) as src:
            codes = read_window(src, window).astype(np.int64)
    else:  # a land cover given as an array (sinkplan.layers.landcover.ArrayBlocks)
        codes = landcover.read(window).astype(np.int64)
    with open_raster(density) as src:
        raw = read_window(src, window).astype(np.float64)
    d = raw * scale  # raster units → Mg C/ha
    slot = np.where((codes >= 0) & (codes < lut.size), lut[np.clip(codes, 0, lut.size - 1)], -1)
    if strata is not None:
        from sinkplan.sinks.strata import strata_block

        slot = np.where(slot >= 0, strata_block(strata, window).astype(np.int64) * ncls + slot, -1)
    land = slot >= 0
    ok = land & np.isfinite(d) & (d >= 0)
    if nodata is not None and np.isfinite(nodata):
        ok &= raw != nodata
    if (too := ok & (d > MAX_DENSITY_MGC_PER_HA)).any():
        raise InputError(f"{density}: {int(too.sum()):,} px in {window_label(window)} hold more than "
                         f"{MAX_DENSITY_MGC_PER_HA:,.0f} Mg C/ha (largest {float(d[too].max()):.6g}), more than any "
                         "ecosystem stores; check the raster's units (density_raster_units) or its nodata value", params=("density_raster_units",))
    area_ha = np.asarray(grid.pixel_areas_m2(window)) / 10_000.0  # m² → ha
    k = slot[ok]
    return (np.bincount(k, weights=area_ha[ok], minlength=nkeys),
            np.bincount(k, weights=(d * area_ha)[ok], minlength=nkeys),  # Mg C/ha × ha = Mg C
            np.bincount(k, minlength=nkeys).astype(np.int64),
            np.bincount(slot[land & ~ok], minlength=nkeys).astype(np.int64))


def raster_pass(lc: LandCover, raster: DensityRaster, *, codes: tuple[int, ...], strata_path=None, nstrata: int,
                max_cells: int = DEFAULT_MAX_CELLS, executor: BlockExecutor | None = None,
                progress: Callable[[float, str], None] | None = None) -> dict:
    """Per (stratum, class): area (ha) and stock (Mg C) where the raster has a value, pixel counts.

    ``codes`` are the account's classes (slot i = ``codes[i]``); a stratum is the value of
    the strata raster (``zone_id * sides + inside``), 0 without one.
    """
    nodatas = {lc.nodata, lc.scheme.nodata} - {None}
    lut = np.full(max(max(codes), *(n for n in nodatas if n is not None and n >= 0), 0) + 1, -1, dtype=np.int64)
    for i, c in enumerate(codes):
        lut[c] = i
    for nd in nodatas:
        if 0 <= nd < lut.size:
            lut[nd] = -1
    ncls = len(codes)
    nkeys = nstrata * ncls
    func = partial(_block, landcover=lc.pass_input, density=str(raster.path), nodata=raster.nodata,
                   strata=strata_path, lut=lut, ncls=ncls, nkeys=nkeys, grid=lc.grid, scale=raster.scale)
    acc = [np.zeros(nkeys), np.zeros(nkeys), np.zeros(nkeys, np.int64), np.zeros(nkeys, np.int64)]
    windows = list(lc.grid.blocks(max_cells))
    for parts in map_blocks(func, windows, executor=executor, progress=progress, label="density raster"):
        for a, p in zip(acc, parts):
            a += p
    shape = (nstrata, ncls)
    return {"area_ha": acc[0].reshape(shape), "stock_mgc": acc[1].reshape(shape),
            "pixels": acc[2].reshape(shape), "fallback_pixels": acc[3].reshape(shape)}


def apply_density_raster(acc: CarbonAccount, raster: DensityRaster, sums: dict, *, sides: int) -> tuple[CarbonAccount, dict]:
    """The account with the raster's pools replaced (see the module docstring), and a report.

    ``acc`` is a :class:`sinkplan.sinks.carbon.CarbonAccount` (stock_mgc (zones + 1, sides, classes, 4)).
    """
    from sinkplan.sinks.densities import POOLS

    z1, s, ncls, _ = acc.stock_mgc.shape
    cols = [POOLS.index(p) for p in raster.pools]
    dens = np.nan_to_num(acc.density_mgc_per_ha[:, cols])  # (classes, P)
    tot = dens.sum(axis=1, keepdims=True)
    share = np.where(tot > 0, dens / np.where(tot > 0, tot, 1.0), 1.0 / len(cols))
    r_area = sums["area_ha"].reshape(z1, s, ncls)
    r_stock = sums["stock_mgc"].reshape(z1, s, ncls)
    fallback_area = np.clip(acc.area_ha - r_area, 0.0, None)
    new = np.array(acc.stock_mgc, dtype=np.float64, copy=True)
    new[..., cols] = dens[None, None] * fallback_area[..., None] + r_stock[..., None] * share[None, None]
    # mean density the class now has over the map (stock / area), for the per-class table
    area_c = acc.area_ha.sum(axis=(0, 1))
    eff = np.array(acc.density_mgc_per_ha, dtype=np.float64, copy=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        eff[:, cols] = np.where(area_c[:, None] > 0, new[..., cols].sum(axis=(0, 1)) / area_c[:, None], eff[:, cols])
    table_part = float(acc.stock_mgc[..., cols].sum())
    report = {
        "path": str(raster.path), "pools": list(raster.pools), "units": raster.units,
        "pixels_from_raster": int(sums["pixels"].sum()), "pixels_fallback_to_table": int(sums["fallback_pixels"].sum()),
        "area_ha_from_raster": float(r_area.sum()),
        "stock_mgc_of_pools_table_only": table_part, "stock_mgc_of_pools_with_raster": float(new[..., cols].sum()),
        "note": "pixels where the raster has no value (outside the model's domain) use the density table",
    }
    return dataclasses.replace(acc, stock_mgc=new, density_mgc_per_ha=eff), report
