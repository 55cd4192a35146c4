"""Sequestration over an annual series of land-cover maps, each pixel's age tracked in the stream.

With more than two maps (CLCD is annual since 1985) a pixel converted in one interval keeps
taking up carbon in the next ones: its soil goes on moving towards the new class's stock for
D years, young forest grows along its group's curve. So the series is not a sum of two-map
differences: each pixel carries a state (its class, when it last changed, and its pools at
that moment), and the stock of every pool at each map year follows the transition-period
rules of :mod:`sinkplan.sinks.sequestration` from that state:

* soil: ``p0 + (eq − p0) × min(age, D) / D``;
* biomass (above + below): a loss is immediate (``p0`` = the new equilibrium); a gain grows
  from ``p0`` along the group's curve, capped at the equilibrium (above and below share it in
  proportion to their differences);
* dead organic matter: losses immediate, gains linear over D.

A change seen between years y(k−1) and y(k) happens at ``y(k−1) + τ (y(k) − y(k−1))`` (τ = 0,
½, 1 for start, mid, end); the pools at that moment are the new ``p0``. Pixels that did not
change since the first map are at the equilibrium of their class (the stock-difference
assumption for the start of any record). For two maps this gives exactly the two-map
figures.

Memory stays bounded: each block reads the same window of every year, runs the state
through the years, and returns per (stratum, class before, class after, pool) sums for each
interval and for the whole period, which are added over blocks in window order
(:func:`series_pass`; one process, local Dask or a scheduler give the same sums).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from rasterio.windows import Window

from sinkplan.layers.errors import SchemeError
from sinkplan.layers.grid import DEFAULT_MAX_CELLS, Grid
from sinkplan.layers.parallel import BlockExecutor, Progress, map_blocks
from sinkplan.sinks.blocks import ClassSlots, _read, close_datasets
from sinkplan.sinks.sequestration import GrowthCurve, biomass_at_age
from sinkplan.sinks.strata import StrataBlocks, strata_block

__all__ = ["SeriesSpec", "SeriesBlock", "SeriesResult", "series_block", "series_pass", "pixel_stocks"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SeriesSpec:
    """Everything a block of the series needs (picklable).

    Parameters
    ----------
    grid : Grid
    landcover : tuple of str
        Paths in year order (all on ``grid``, one scheme).
    years : tuple of int
        Increasing.
    slots : ClassSlots
        Code → class slot of the scheme.
    density : ndarray, shape (n, 4)
        Equilibrium density (Mg C/ha) per class and pool.
    curves : tuple of GrowthCurve or None
        Growth curve of each class's group (None: the group has no curve; a gain into it is an error).
    timing_fraction : float
        τ: where in an interval a change happens.
    transition_years : float
        D.
    strata, nzones, sides
        As :class:`sinkplan.sinks.blocks.PassSpec`.
    raster : bool
        Return a float32 block of the whole period's sequestration per hectare.
    """

    grid: Grid
    landcover: tuple[str, ...]
    years: tuple[int, ...]
    slots: ClassSlots
    density: np.ndarray = field(repr=False)
    curves: tuple[GrowthCurve | None, ...]
    timing_fraction: float
    transition_years: float
    strata: str | StrataBlocks | None = None
    nzones: int = 0
    sides: int = 1
    raster: bool = False
    groups: tuple[str, ...] = ()

    @property
    def nstrata(self) -> int:
        return (self.nzones + 1) * self.sides

    @property
    def n(self) -> int:
        return self.slots.n


@dataclass
class SeriesBlock:
    """Sums of one block (m² for areas, Mg C for carbon)."""

    area_m2: np.ndarray  # (intervals, nstrata, n, n)
    seq_mgc: np.ndarray  # (intervals, nstrata, n, n, 4)
    total_area_m2: np.ndarray  # (nstrata, n, n): first year's class → last year's
    total_seq_mgc: np.ndarray  # (nstrata, n, n, 4)
    unknown: list[dict[int, int]]
    raster: np.ndarray | None = None


@dataclass(frozen=True)
class SeriesResult:
    """Sums over all blocks, as :class:`SeriesBlock` (areas in m²)."""

    spec: SeriesSpec
    area_m2: np.ndarray
    seq_mgc: np.ndarray
    total_area_m2: np.ndarray
    total_seq_mgc: np.ndarray
    unknown: list[dict[int, int]]
    nblocks: int


def pixel_stocks(p0: np.ndarray, eq: np.ndarray, age: np.ndarray, cls: np.ndarray, spec: SeriesSpec) -> np.ndarray:
    """Stock per pool (Mg C/ha), shape (m, 4), of pixels in class ``cls`` for ``age`` years since
    their last change, with pools ``p0`` (m, 4) at that change and equilibrium ``eq`` (m, 4)."""
    d = spec.transition_years
    f_soil = np.minimum(np.clip(age, 0.0, None), d) / d  # age = inf: 1
    out = np.empty_like(p0)
    out[:, 2] = p0[:, 2] + (eq[:, 2] - p0[:, 2]) * f_soil
    out[:, 3] = np.where(eq[:, 3] >= p0[:, 3], p0[:, 3] + (eq[:, 3] - p0[:, 3]) * f_soil, eq[:, 3])
    b0, beq = p0[:, 0] + p0[:, 1], eq[:, 0] + eq[:, 1]
    b = beq.copy()
    gain = beq > b0
    for c in np.unique(cls[gain]):
        m = gain & (cls == c)
        curve = spec.curves[int(c)]
        if curve is None:
            group = spec.groups[int(c)] if spec.groups else f"of class slot {int(c)}"
            raise SchemeError(f"growth table: no row for group {group!r} (land that became {group} gains biomass); "
                              f"add '{group},linear,RATE,,,SOURCE' (or curve one_year) to the table")
        b[m] = biomass_at_age(b0[m], beq[m], np.where(np.isfinite(age[m]), age[m], 1e9), curve)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(gain, (b - b0) / np.where(gain, beq - b0, 1.0), 1.0)
    out[:, 0] = p0[:, 0] + (eq[:, 0] - p0[:, 0]) * frac
    out[:, 1] = p0[:, 1] + (eq[:, 1] - p0[:, 1]) * frac
    return out


def _unknown(codes: np.ndarray, slot: np.ndarray, slots: ClassSlots) -> dict[int, int]:
    bad = slot == slots.unknown
    if not bad.any():
        return {}
    vals, counts = np.unique(codes[bad], return_counts=True)
    return {int(v): int(c) for v, c in zip(vals, counts)}


def series_block(spec: SeriesSpec, window: Window) -> SeriesBlock:
    """Run every pixel of one block through the years (the function Dask workers run)."""
    n, ns, k = spec.n, spec.nstrata, len(spec.years)
    codes = [_read(p, window) for p in spec.landcover]
    slot = [spec.slots.slot_of(c) for c in codes]
    unknown = [_unknown(c, s, spec.slots) for c, s in zip(codes, slot)]
    valid = np.logical_and.reduce([s < n for s in slot])  # a land class in every year
    strata = strata_block(spec.strata, window, _read)
    st = np.zeros(valid.shape, dtype=np.int64) if strata is None else np.clip(strata.astype(np.int64), 0, ns - 1)
    area_ha = spec.grid.pixel_areas_m2(window)[valid] / 1e4  # m² → ha
    st = st[valid]
    s = [x[valid].astype(np.int64) for x in slot]
    dens = np.nan_to_num(np.asarray(spec.density, dtype=np.float64))
    cls = s[0].copy()
    conv = np.full(cls.shape, -np.inf)  # time of the last change; -inf: at equilibrium since before the series
    p0 = dens[cls].copy()
    prev = p0.copy()  # stocks at the first year: the equilibrium of the first map's classes
    first = prev.copy()
    area = np.zeros((k - 1, ns, n, n))
    seq = np.zeros((k - 1, ns, n, n, 4))
    for i in range(1, k):
        y0, y1 = spec.years[i - 1], spec.years[i]
        tc = y0 + spec.timing_fraction * (y1 - y0)
        ch = s[i] != cls
        if ch.any():
            at = pixel_stocks(p0[ch], dens[cls[ch]], tc - conv[ch], cls[ch], spec)  # pools at the change
            new = s[i][ch]
            eq_new = dens[new]
            loss_b = eq_new[:, 0] + eq_new[:, 1] < at[:, 0] + at[:, 1]
            at[loss_b, 0], at[loss_b, 1] = eq_new[loss_b, 0], eq_new[loss_b, 1]  # biomass lost at once
            loss_d = eq_new[:, 3] < at[:, 3]
            at[loss_d, 3] = eq_new[loss_d, 3]  # dead matter lost at once
            p0[ch], cls[ch], conv[ch] = at, new, tc
        cur = pixel_stocks(p0, dens[cls], y1 - conv, cls, spec)
        key = (st * n + s[i - 1]) * n + s[i]
        area[i - 1] = np.bincount(key, weights=area_ha, minlength=ns * n * n).reshape(ns, n, n)
        delta = (cur - prev) * area_ha[:, None]  # Mg C/ha × ha
        for p in range(4):
            seq[i - 1, ..., p] = np.bincount(key, weights=delta[:, p], minlength=ns * n * n).reshape(ns, n, n)
        prev = cur
    key = (st * n + s[0]) * n + s[-1]
    total_area = np.bincount(key, weights=area_ha, minlength=ns * n * n).reshape(ns, n, n)
    total = (prev - first) * area_ha[:, None]
    total_seq = np.stack([np.bincount(key, weights=total[:, p], minlength=ns * n * n).reshape(ns, n, n)
                          for p in range(4)], axis=-1)
    raster = None
    if spec.raster:
        raster = np.full(valid.shape, np.nan, dtype=np.float32)
        raster[valid] = (prev - first).sum(axis=1)  # Mg C/ha over the whole period
    return SeriesBlock(area * 1e4, seq, total_area * 1e4, total_seq, unknown, raster)


def series_pass(spec: SeriesSpec, *, max_cells: int = DEFAULT_MAX_CELLS, executor: BlockExecutor | None = None,
                progress: Progress | None = None, on_raster=None) -> SeriesResult:
    """Stream every block through :func:`series_block` and add the sums in window order.

    Parameters
    ----------
    spec : SeriesSpec
    max_cells : int
        Cells per block (memory: about 12 float64 arrays of a block plus one window per year).
    executor, progress
        Where blocks run; ``progress(fraction, label)``.
    on_raster : callable, optional
        ``(block, window)`` of the sequestration raster (needs ``spec.raster``).

    Returns
    -------
    SeriesResult
    """
    windows = list(spec.grid.blocks(max_cells))
    n, ns, k = spec.n, spec.nstrata, len(spec.years)
    acc = SeriesBlock(np.zeros((k - 1, ns, n, n)), np.zeros((k - 1, ns, n, n, 4)), np.zeros((ns, n, n)),
                      np.zeros((ns, n, n, 4)), [dict() for _ in spec.landcover])
    try:
        for w, b in zip(windows, map_blocks(partial(series_block, spec), windows, executor=executor, progress=progress,
                                            label="annual series")):
            acc.area_m2 += b.area_m2
            acc.seq_mgc += b.seq_mgc
            acc.total_area_m2 += b.total_area_m2
            acc.total_seq_mgc += b.total_seq_mgc
            for into, found in zip(acc.unknown, b.unknown):
                for c, cnt in found.items():
                    into[c] = into.get(c, 0) + cnt
            if on_raster is not None and b.raster is not None:
                on_raster(b.raster, w)
    finally:
        close_datasets()
    return SeriesResult(spec, acc.area_m2, acc.seq_mgc, acc.total_area_m2, acc.total_seq_mgc, acc.unknown, len(windows))
