"""One streamed pass: pixels and ground area per (zone × redline side × class [× class]).

Every sinks command reduces its rasters to an area table with one pass over the blocks:
per block, each pixel's key ``((zone * sides + inside) * slots + class_before) [* slots +
class_after]`` is counted with :func:`sinkplan.layers.tally.area_by_key`, and the block results are
added in window order through :mod:`sinkplan.layers.parallel` (one process, local Dask or a remote
scheduler: the same sums, bit for bit). Stocks, coverage and change are then arithmetic on
that small table (:mod:`sinkplan.sinks.stocks`, :mod:`sinkplan.sinks.coverage`, :mod:`sinkplan.sinks.change`).

Class slots: ``0..n-1`` are the scheme's land classes (codes of the ``nodata`` group are
not land), slot ``n`` collects codes the scheme lacks (reported as an error afterwards, with
their pixel counts), slot ``n + 1`` nodata.

The block function :func:`tally_block` is a module-level function of a frozen, picklable
:class:`PassSpec` (paths and small lookup tables, never open datasets), so Dask workers run
it as is. It optionally returns a float32 raster block (density or density change) for the
caller to write.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from rasterio.windows import Window

from sinkplan.layers.grid import DEFAULT_MAX_CELLS, Grid, open_raster
from sinkplan.layers.landcover import ArrayBlocks
from sinkplan.layers.reading import read_window
from sinkplan.layers.parallel import BlockExecutor, map_blocks
from sinkplan.layers.schemes import ClassScheme
from sinkplan.layers.tally import area_by_key
from sinkplan.sinks.fused import count_rows, count_rows2, fused_applies, lookup, lookup2
from sinkplan.sinks.strata import StrataBlocks, strata_block
from sinkplan.layers.parallel import Progress

__all__ = ["ClassSlots", "PassSpec", "BlockResult", "PassResult", "tally_block", "run_pass", "RASTER_NODATA"]

logger = logging.getLogger(__name__)

#: Nodata of the float32 rasters written from a pass: a density is ≥ 0, but a density
#: *change* can be any value, so NaN (which no arithmetic produces from valid pixels).
RASTER_NODATA = float("nan")



@dataclass(frozen=True)
class ClassSlots:
    """Code → class slot lookup for a scheme and a raster's dtype and nodata.

    Attributes
    ----------
    codes : tuple of int
        Land classes (slot i holds code ``codes[i]``).
    lut : ndarray of uint16
        Slot of every code ``0 <= code < len(lut)``; larger or negative codes are unknown,
        except the nodata values among them.
    far_nodata : tuple of int
        Nodata values outside the lut's range (e.g. -1 or -9999 of an int16/int32 raster):
        slot :attr:`nodata`, not :attr:`unknown`.
    """

    codes: tuple[int, ...]
    lut: np.ndarray = field(repr=False)
    far_nodata: tuple[int, ...] = ()

    @property
    def n(self) -> int:
        """Number of land classes."""
        return len(self.codes)

    @property
    def unknown(self) -> int:
        """Slot of codes the scheme lacks."""
        return len(self.codes)

    @property
    def nodata(self) -> int:
        """Slot of nodata pixels."""
        return len(self.codes) + 1

    @property
    def slots(self) -> int:
        """Slots per class axis (classes + unknown + nodata)."""
        return len(self.codes) + 2

    @classmethod
    def build(cls, scheme: ClassScheme, *, dtype: str = "uint8", nodata: tuple[int | None, ...] = ()) -> "ClassSlots":
        """Slots for ``scheme`` on rasters of ``dtype`` with the given nodata values."""
        classes = [c for c in scheme.classes if c.group != "nodata"]
        size = 256 if np.dtype(dtype).itemsize == 1 else 65536
        lut = np.full(size, len(classes), dtype=np.uint16)  # unknown by default
        for i, c in enumerate(classes):
            if c.code < size:
                lut[c.code] = i
        not_land = {c.code for c in scheme.classes if c.group == "nodata"} | {scheme.nodata, *nodata}
        far = []
        for nd in not_land - {None}:
            if 0 <= nd < size:
                lut[nd] = len(classes) + 1
            else:
                far.append(int(nd))  # a signed raster's -1 / -9999: nodata, not an unknown code
        lut.setflags(write=False)
        return cls(tuple(c.code for c in classes), lut, tuple(sorted(far)))

    def slot_of(self, codes: np.ndarray) -> np.ndarray:
        """Slot (uint16) of each pixel's code."""
        if codes.dtype in (np.uint8, np.uint16) and len(self.lut) >= (256 if codes.dtype == np.uint8 else 65536):
            return self.lut[codes]
        c = codes.astype(np.int64)
        bad = (c < 0) | (c >= len(self.lut))
        out = self.lut[np.where(bad, 0, c)]
        out[bad] = self.unknown
        if self.far_nodata and bad.any():
            out[bad & np.isin(c, self.far_nodata)] = self.nodata
        return out


@dataclass(frozen=True)
class PassSpec:
    """Everything a block needs, picklable.

    Parameters
    ----------
    grid : Grid
        The working grid (all rasters share it).
    landcover : tuple of str
        One (stocks, coverage) or two (before, after: change): a raster's path, or the
        :class:`~sinkplan.layers.landcover.ArrayBlocks` of a land cover given as an array
        (:attr:`sinkplan.layers.landcover.LandCover.pass_input`).
    slots : tuple of ClassSlots
        One per land-cover path.
    strata : str, StrataBlocks or None
        ``zone_id * sides + inside`` per pixel (zone id 0 outside every zone, 1..nzones
        inside; ``inside`` 1 inside the redline, only when ``sides`` is 2): the path of a
        cached stratum raster, or a :class:`~sinkplan.sinks.strata.StrataBlocks` that
        rasterizes each block where it runs (:attr:`sinkplan.sinks.strata.Strata.source`).
        None: one stratum (no zones, no redline).
    nzones : int
        Number of zones (ids 1..nzones).
    sides : int
        2 when the strata distinguish inside / outside a redline, else 1.
    values : str or None
        A float raster (e.g. stock volume, m³/ha) whose area-weighted sum is taken per key.
    raster_lut : ndarray, tuple of ndarray, or None
        Value per slot (single year: density per class; two years: an ``(slots, slots)``
        table, e.g. of density change) for an output raster block (float32 unless a tuple
        gives its own dtypes); a tuple gives one raster block per table, as a tuple.
    weights : object or None
        Per-pixel weights summed × pixel area per key: an object with ``layers`` (int) and
        ``block(window) -> ndarray (layers, rows, cols)`` (e.g. climate correction factors,
        :class:`sinkplan.sinks.climate.ClimateWeights`); picklable.
    factor : object or None
        An extra, last axis of the key: an object with ``levels`` (int) and
        ``block(window) -> ndarray`` of integers in ``[0, levels)`` per pixel (e.g. whether a
        pixel meets the special-shrubland rule, :mod:`sinkplan.sinks.shrub_rule`); picklable.
    """

    grid: Grid
    landcover: tuple[str | ArrayBlocks, ...]
    slots: tuple[ClassSlots, ...]
    strata: str | StrataBlocks | None = None
    nzones: int = 0
    sides: int = 1
    values: str | None = None
    raster_lut: np.ndarray | tuple[np.ndarray, ...] | None = field(default=None, repr=False)
    factor: object | None = None
    weights: object | None = None
    preview: int = 0
    preview_nodata: int | None = None

    def __post_init__(self) -> None:
        if self.sides not in (1, 2):
            raise ValueError(f"sides must be 1 or 2, got {self.sides}")
        if len(self.landcover) != len(self.slots) or not 1 <= len(self.landcover) <= 2:
            raise ValueError("give one or two land-cover paths, each with its ClassSlots")
        if self.nkeys >= 2**31:
            raise ValueError(f"{self.nkeys} keys do not fit int32; use fewer zones")

    @property
    def key_shape(self) -> tuple[int, ...]:
        """Shape of the area table: (zones + 1, sides, slots[, slots][, factor levels])."""
        extra = () if self.factor is None else (int(self.factor.levels),)
        return (self.nzones + 1, self.sides, *(s.slots for s in self.slots), *extra)

    @property
    def nkeys(self) -> int:
        """Number of keys."""
        return int(np.prod(self.key_shape))


@dataclass
class BlockResult:
    """Result of one block."""

    pixels: np.ndarray
    area_m2: np.ndarray
    value_sum: np.ndarray | None
    unknown: list[dict[int, int]]
    raster: np.ndarray | tuple[np.ndarray, ...] | None
    weight_sums: np.ndarray | None = None
    preview: object | None = None


@dataclass
class PassResult:
    """Sums over all blocks, shaped ``spec.key_shape``."""

    spec: PassSpec
    pixels: np.ndarray
    area_m2: np.ndarray
    value_sum: np.ndarray | None
    unknown: list[dict[int, int]]
    nblocks: int = 0
    weight_sums: np.ndarray | None = None
    preview: object | None = None


_OPEN = threading.local()


def _dataset(path: str):
    """An open dataset for ``path``, kept per thread (reopened when the file changes)."""
    cache = getattr(_OPEN, "datasets", None)
    if cache is None:
        cache = _OPEN.datasets = {}
    st = os.stat(path)
    key = (path, st.st_mtime_ns, st.st_size)
    ds = cache.get(key)
    if ds is None or ds.closed:
        for k in [k for k in cache if k[0] == path]:
            cache.pop(k).close()
        if len(cache) >= 8:  # bounded: close the oldest
            cache.pop(next(iter(cache))).close()
        ds = cache[key] = open_raster(path)
    return ds


def close_datasets() -> None:
    """Close the datasets this thread keeps open (end of a pass)."""
    cache = getattr(_OPEN, "datasets", None) or {}
    while cache:
        cache.popitem()[1].close()


def _read(path: str | ArrayBlocks, window: Window) -> np.ndarray:
    if isinstance(path, ArrayBlocks):
        return path.read(window)
    return read_window(_dataset(path), window)


def tally_block(spec: PassSpec, window: Window) -> BlockResult:
    """Count pixels and area per key in one block (the function Dask workers run)."""
    codes_list = [_read(path, window) for path in spec.landcover]
    strata = strata_block(spec.strata, window, _read)
    h, w = codes_list[0].shape
    preview = None
    if spec.preview:
        from sinkplan.sinks.preview import preview_piece

        preview = preview_piece(codes_list[0], window, factor=spec.preview, shape=(spec.grid.height, spec.grid.width),
                                nodata=spec.preview_nodata)
    if (not spec.values and spec.factor is None and spec.weights is None
            and all(c.dtype in (np.uint8, np.uint16) for c in codes_list)
            and fused_applies(spec.grid, spec.nkeys if len(codes_list) == 1 else 0, h, w)):
        # One fused loop; same numbers as the numpy path below (see sinks.fused).
        luts = [s.lut for s in spec.slots]
        if len(codes_list) == 1:
            pixels, area = count_rows(strata, codes_list[0], luts[0], spec.slots[0].slots, spec.nkeys,
                                      _row_areas(spec.grid, window))
        else:
            pixels, area = count_rows2(strata, *codes_list, *luts, spec.slots[0].slots, spec.slots[1].slots,
                                       spec.nkeys, _row_areas(spec.grid, window))
        per_slot = pixels.reshape(-1, *(s.slots for s in spec.slots))
        unknown = []
        for axis, (codes, slots) in enumerate(zip(codes_list, spec.slots)):
            hit = np.take(per_slot, slots.unknown, axis=axis + 1).any()
            unknown.append(_unknown_codes(codes, slots.slot_of(codes), slots) if hit else {})
        return BlockResult(pixels, area, None, unknown, _fused_raster(spec, codes_list), preview=preview)
    slot_arrays = [s.slot_of(c) for c, s in zip(codes_list, spec.slots)]
    unknown = [_unknown_codes(c, s, sl) for c, s, sl in zip(codes_list, slot_arrays, spec.slots)]
    # key = ((zone * sides + inside) * slots0 + class0) [* slots1 + class1], in int32
    if strata is not None:
        key = strata.astype(np.int32)
        np.clip(key, 0, (spec.nzones + 1) * spec.sides - 1, out=key)
    else:
        key = np.zeros((h, w), dtype=np.int32)
    for s, slots in zip(slot_arrays, spec.slots):
        key *= slots.slots
        key += s
    if spec.factor is not None:
        key *= int(spec.factor.levels)
        key += np.asarray(spec.factor.block(window), dtype=np.int32)
    pixels, area = area_by_key(key, spec.nkeys, spec.grid, window)
    value_sum = None
    if spec.values:
        v = _read(spec.values, window).astype(np.float64)
        nd = _dataset(spec.values).nodata
        ok = np.isfinite(v) & ((v != nd) if nd is not None and np.isfinite(nd) else True)
        from sinkplan.layers.continuous import apply_scale

        v = apply_scale(v, _dataset(spec.values))  # a declared scale/offset (raw × scale + offset)
        weights = np.where(ok, v, 0.0) * spec.grid.pixel_areas_m2(window)  # m³/ha × m²
        value_sum = np.bincount(key.ravel(), weights=weights.ravel(), minlength=spec.nkeys)
    weight_sums = None
    if spec.weights is not None:
        wts = np.asarray(spec.weights.block(window), dtype=np.float64)  # (layers, rows, cols)
        px = spec.grid.pixel_areas_m2(window)
        flat = key.ravel()
        weight_sums = np.stack([np.bincount(flat, weights=(np.nan_to_num(layer, nan=1.0) * px).ravel(),  # weight × m²
                                            minlength=spec.nkeys) for layer in wts])
    raster = None
    if spec.raster_lut is not None:
        raster = _raster_block(spec, slot_arrays)
    return BlockResult(pixels, area, value_sum, unknown, raster, weight_sums, preview)


def _row_areas(grid: Grid, window: Window) -> np.ndarray:
    """Pixel area (m²) of each row of the window: per row on a lon/lat grid, one value on an
    equal-area projection."""
    if grid.is_geographic:
        return grid.row_areas_m2(window)
    return np.full(int(window.height), float(grid.pixel_areas_m2(Window(0, 0, 1, 1))[0, 0]))


def _unknown_codes(codes: np.ndarray, slot: np.ndarray, slots: ClassSlots) -> dict[int, int]:
    bad = slot == slots.unknown
    if not bad.any():
        return {}
    vals, counts = np.unique(codes[bad], return_counts=True)
    return {int(v): int(n) for v, n in zip(vals, counts)}


def _raster_luts(spec: PassSpec) -> tuple[np.ndarray, ...]:
    luts = spec.raster_lut
    return tuple(luts) if isinstance(luts, tuple | list) else (np.asarray(luts, dtype=np.float32),)


def _one_or_tuple(spec: PassSpec, blocks: list[np.ndarray]):
    return tuple(blocks) if isinstance(spec.raster_lut, tuple | list) else blocks[0]


def _raster_block(spec: PassSpec, slot_arrays: list[np.ndarray]):
    out = []
    for lut in _raster_luts(spec):
        out.append(lut[slot_arrays[0]] if len(slot_arrays) == 1 else lut[slot_arrays[0], slot_arrays[1]])
    return _one_or_tuple(spec, out)


def _fused_raster(spec: PassSpec, codes_list: list[np.ndarray]):
    """The raster blocks of the fused path: value per code = value per slot of the code's slot."""
    if spec.raster_lut is None:
        return None
    out = []
    for lut in _raster_luts(spec):
        if len(codes_list) == 1:
            out.append(lookup(codes_list[0], lut[spec.slots[0].lut]))
        else:
            out.append(lookup2(*codes_list, spec.slots[0].lut, spec.slots[1].lut, lut))
    return _one_or_tuple(spec, out)


def check_workers_read(spec: PassSpec, executor: BlockExecutor) -> None:
    """Before a Dask pass: every worker must read the inputs (and a cached stratum raster).

    A remote worker shares the data path with the client and nothing else: a file only the
    client sees would end the run in a traceback from a worker.

    Raises
    ------
    InputFileError
        A worker cannot read an input or the zone cache; the message names the path, the
        workers and, for the cache, ``SINKPLAN_CACHE_DIR``.
    """
    from sinkplan.layers.errors import InputFileError
    from sinkplan.sinks.strata import CACHE_ENV

    cache = spec.strata if isinstance(spec.strata, str) else None
    paths = [*(p for p in spec.landcover if isinstance(p, str)), *([cache] if cache else []),
             *([spec.values] if spec.values else [])]
    bad = executor.unreadable(paths)
    if not bad:
        return
    path, workers = next(iter(bad.items()))
    who = f"Dask worker{'s' if len(workers) > 1 else ''} {', '.join(workers)}"
    if path == cache:
        raise InputFileError(
            f"{who} cannot read the zone cache {path} ({CACHE_ENV}={os.environ.get(CACHE_ENV, '')}): set {CACHE_ENV} "
            f"to a folder every worker reads at the same path (on the shared data folder), or unset {CACHE_ENV} so "
            "the workers rasterize the zones themselves")
    raise InputFileError(
        f"{who} cannot read {path}: a worker shares only the data path with this machine; put the inputs on a "
        "folder every worker reads at the same path (or on object storage, e.g. /vsis3/bucket/lc.tif)")


def run_pass(
    spec: PassSpec,
    *,
    max_cells: int = DEFAULT_MAX_CELLS,
    executor: BlockExecutor | None = None,
    progress: Progress | None = None,
    label: str = "counting",
    on_raster: Callable[[np.ndarray, Window], None] | None = None,
    threads: int = 1,
) -> PassResult:
    """Stream every block of ``spec.grid`` through :func:`tally_block` and add the results.

    Parameters
    ----------
    spec : PassSpec
        Inputs and lookup tables.
    max_cells : int
        Cells per block (memory bound).
    executor : BlockExecutor, optional
        Where blocks run (default: this process).
    progress : callable, optional
        ``progress(fraction, label)``.
    on_raster : callable, optional
        Called with ``(block, window)`` for every raster block, in window order (e.g.
        :meth:`sinkplan.layers.outputs.BlockWriter.write`).
    threads : int
        Without Dask, run this many blocks at once in threads of this process (reading
        and counting release the GIL); results are still combined in window order.

    Returns
    -------
    PassResult
        Sums in window order: identical whatever the executor.
    """
    if executor is not None and executor.uses_dask:
        check_workers_read(spec, executor)
    windows = list(spec.grid.blocks(max_cells))
    pixels = np.zeros(spec.nkeys, dtype=np.int64)
    area = np.zeros(spec.nkeys, dtype=np.float64)
    value_sum = np.zeros(spec.nkeys, dtype=np.float64) if spec.values else None
    weight_sums = np.zeros((int(spec.weights.layers), spec.nkeys)) if spec.weights is not None else None
    unknown: list[dict[int, int]] = [dict() for _ in spec.landcover]
    preview = None
    if spec.preview:
        from sinkplan.sinks.preview import PreviewBuilder

        preview = PreviewBuilder((spec.grid.height, spec.grid.width), spec.preview, spec.preview_nodata,
                                 np.uint8 if spec.slots[0].lut.size <= 256 else np.uint16)
    func = partial(tally_block, spec)
    # Under Dask, several blocks per task when a block's result is only its sums (no raster
    # block to send back): fewer round trips through the client and the scheduler.
    per_block = 8 * spec.nkeys * (2 + (spec.values is not None) + (int(spec.weights.layers) if spec.weights is not None else 0))
    batch = (executor.batch_for(len(windows), result_bytes=per_block)
             if executor is not None and spec.raster_lut is None else 1)
    results = map_blocks(func, windows, executor=executor, progress=progress, label=label, threads=threads, batch=batch)
    try:
        for w, res in zip(windows, results):  # in window order: the same sums whatever ran the blocks
            pixels += res.pixels
            area += res.area_m2
            if value_sum is not None:
                value_sum += res.value_sum
            if weight_sums is not None:
                weight_sums += res.weight_sums
            for acc, found in zip(unknown, res.unknown):
                for c, n in found.items():
                    acc[c] = acc.get(c, 0) + n
            if on_raster is not None and res.raster is not None:
                on_raster(res.raster, w)
            if preview is not None:
                preview.add(res.preview)
    finally:
        close_datasets()  # blocks run in this thread keep their files open until here
    shape = spec.key_shape
    logger.debug("pass over %d blocks: %d keys", len(windows), spec.nkeys)
    return PassResult(
        spec, pixels.reshape(shape), area.reshape(shape),
        None if value_sum is None else value_sum.reshape(shape), unknown, len(windows),
        None if weight_sums is None else weight_sums.reshape(len(weight_sums), *shape),
        None if preview is None else preview.result(),
    )
