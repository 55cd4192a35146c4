"""Joining per-block components into parcels across block edges.

Each block labels its eligible components 1..n (:func:`sinkplan.siting.blocks.screen_block`);
:class:`Joiner` numbers them globally (block offset + local label) and, as blocks arrive
in row-major order, pairs labels that touch across a block edge (8-connectivity: the pixel
opposite and its two diagonal neighbours, also across block corners). At the end, these
pairs are the edges of a graph whose connected components (``scipy.sparse.csgraph``) are
the parcels: connected eligible land, whatever the zone codes of its pixels. Their
statistics, including the area per zone code, are sums (or maxima) over the member labels,
so the result does not depend on how the grid is cut. A parcel's zone code is the code of
its largest part (:func:`dominant_code`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph

from sinkplan.siting.blocks import BlockResult
from sinkplan.siting.profile import ZONE_TYPES

__all__ = ["Joiner", "Joined", "pairs_across", "dominant_code", "TIE_RTOL"]

#: Zone areas of a parcel within this relative difference of its largest count as a tie
#: (sums of the same pixel areas added in another order, i.e. with other blocks, differ in
#: the last bits; a tie must not depend on the blocks).
TIE_RTOL = 1e-9


def dominant_code(zone_area_m2: np.ndarray, priority: dict[int, float] | None = None) -> np.ndarray:
    """Zone code (1..4) of the largest part of each row of areas per code (0 for no area).

    Ties (within :data:`TIE_RTOL`) go to the code of higher ``priority`` (code → priority,
    e.g. the profile's ``zones.*.priority``), then to the lower code.

    Examples
    --------
    >>> a = np.array([[3.0, 5.0, 0, 0], [4.0, 4.0, 0, 0], [4.0, 4.0, 0, 0], [0, 0, 0, 0]])
    >>> dominant_code(a).tolist()  # the larger part; a tie: the lower code
    [2, 1, 1, 0]
    >>> dominant_code(a, {1: 0.5, 2: 0.8, 3: 1.0, 4: 0.2}).tolist()  # a tie: the higher priority
    [2, 2, 2, 0]
    """
    za = np.asarray(zone_area_m2, dtype=np.float64).reshape(-1, 4)
    top = za.max(axis=1, keepdims=True)
    cand = (za > 0) & (za >= top * (1.0 - TIE_RTOL))
    prio = priority or {}
    prefer = sorted(range(1, 5), key=lambda c: (-prio.get(c, 0.0), c))  # most preferred first
    out = np.zeros(len(za), dtype=np.int64)
    for c in reversed(prefer):  # the most preferred candidate is written last
        out[cand[:, c - 1]] = c
    return out


def pairs_across(a: np.ndarray, b: np.ndarray, code: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Label pairs (u, v) with u on line ``a`` and v on the adjacent line ``b`` that touch
    (same position or one off) and, when ``code`` is given, have the same code; 0 means no
    label."""
    n = len(a)
    us, vs = [], []
    for s in (-1, 0, 1):
        aa = a[max(0, -s):n - max(0, s)]
        bb = b[max(0, s):n - max(0, -s)]
        m = (aa > 0) & (bb > 0)
        if m.any():
            u, v = aa[m], bb[m]
            if code is not None:
                same = code[u] == code[v]
                u, v = u[same], v[same]
            us.append(u)
            vs.append(v)
    if not us:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(us), np.concatenate(vs)


@dataclass
class Joined:
    """Parcels after joining: a table and the lookup global label → parcel id (0: none)."""

    #: parcel_id, code (of the largest part), area_m2, area_m2_<zone type> (desert, border,
    #: mine, other), pixels, slope_*, stock_mgc, admin_id
    table: pd.DataFrame
    label_to_parcel: np.ndarray
    offsets: list[int]
    n_components: int
    #: Area of each parcel in each admin zone: columns parcel_id, admin_id, area_m2 (empty without zones).
    admin_area: pd.DataFrame | None = None


class Joiner:
    """Accumulates block results (in window order, i.e. row-major) and joins their components.

    Edge labels are paired as soon as the neighbouring block is there: the top edge of a
    block against the full-width line of bottom edges of the block row above (so corner
    diagonals are seen), its left edge against the right edge of the block before it.
    Lines that can no longer be needed are dropped, so memory is one grid row of labels
    plus one block column, whatever the raster's size.
    """

    def __init__(self, width: int, height: int, *, cells: tuple[int, int] | None = None) -> None:
        self.width, self.height = width, height
        #: (rows, columns) of the maximum-size cells: labels in different cells never join.
        self.cells = cells
        self._sums: dict[str, list[np.ndarray]] = {}
        self.n = 0
        self.offsets: list[int] = []
        self._cols: dict[str, list[np.ndarray]] = {k: [np.zeros(1)] for k in (
            "area_m2", "pixels", "slope_sum", "slope_area_m2", "slope_max", "stock_mgc")}
        self._zone: list[np.ndarray] = [np.zeros((1, 4))]
        self._admin: list[np.ndarray] = []
        self._first: list[np.ndarray] = [np.zeros(1, dtype=np.int64)]
        self._bottoms: dict[int, np.ndarray] = {}  # row → bottom edges of the blocks ending above it
        self._rights: dict[int, tuple[int, np.ndarray]] = {}  # col → (row_off, right edge) of the last block
        self._pairs: list[tuple[np.ndarray, np.ndarray]] = []

    def add(self, res: BlockResult) -> int:
        """Add one block's components; returns its label offset."""
        off = self.n
        self.offsets.append(off)
        k = res.n_labels
        for name in self._cols:
            self._cols[name].append(np.asarray(getattr(res, name), dtype=np.float64)[1:k + 1])
        self._zone.append(np.asarray(res.zone_area_m2, dtype=np.float64).reshape(-1, 4)[1:k + 1])
        self._first.append(np.asarray(res.first_px, dtype=np.int64)[1:k + 1])
        for name, v in (res.sums or {}).items():
            if name not in self._sums:  # a column first seen now: zeros for the labels before
                self._sums[name] = [np.zeros(1 + off)]
            self._sums[name].append(np.asarray(v, dtype=np.float64)[1:k + 1])
        for name, parts in self._sums.items():
            if name not in (res.sums or {}):
                parts.append(np.zeros(k))
        if len(res.admin):
            adm = np.array(res.admin, dtype=np.float64)
            adm[:, 0] += off
            self._admin.append(adm)
        w = res.window
        r0, c0, h, wd = int(w.row_off), int(w.col_off), int(w.height), int(w.width)

        def glob(line: np.ndarray) -> np.ndarray:
            return np.where(line > 0, line.astype(np.int64) + off, 0)

        top, bottom, left, right = (glob(e) for e in res.edges)
        for row in [r for r in self._bottoms if r < r0]:  # block rows above are complete
            del self._bottoms[row]
        if r0 > 0 and r0 in self._bottoms:
            lo, hi = max(0, c0 - 1), min(self.width, c0 + wd + 1)
            b = np.zeros(hi - lo, dtype=np.int64)
            b[c0 - lo:c0 - lo + wd] = top
            self._pairs.append(pairs_across(self._bottoms[r0][lo:hi], b))
        if r0 + h < self.height:
            self._bottoms.setdefault(r0 + h, np.zeros(self.width, dtype=np.int64))[c0:c0 + wd] = bottom
        if c0 > 0 and c0 in self._rights and self._rights[c0][0] == r0:
            self._pairs.append(pairs_across(self._rights.pop(c0)[1], left))
        if c0 + wd < self.width:
            self._rights[c0 + wd] = (r0, right)
        self.n += k
        return off

    def finish(self, *, min_area_m2: float, zone_priority: dict[int, float] | None = None) -> Joined:
        """Join components across block boundaries and keep those of at least ``min_area_m2``.

        Touching components join whatever their zone codes; ``zone_priority`` (code →
        priority) breaks ties between equal largest parts (:func:`dominant_code`).
        """
        cols = {k: np.concatenate(v) for k, v in self._cols.items()}
        zone = np.concatenate(self._zone)
        n = self.n
        u = np.concatenate([np.empty(0, np.int64)] + [p[0] for p in self._pairs])
        v = np.concatenate([np.empty(0, np.int64)] + [p[1] for p in self._pairs])
        first_px = np.concatenate(self._first)
        if self.cells is not None and len(u):  # labels of different cells stay apart
            ch, cw = self.cells
            r, c = np.divmod(first_px, self.width)
            cell = (r // ch) * (self.width // cw + 1) + c // cw
            same = cell[u] == cell[v]
            u, v = u[same], v[same]
        graph = sparse.coo_matrix((np.ones(len(u), dtype=np.int8), (u, v)), shape=(n + 1, n + 1))
        ncomp, comp = csgraph.connected_components(graph, directed=False)
        # number components by their first pixel in row-major order: ids do not depend on blocks
        first_px[0] = -1  # the background comes first
        first = np.full(ncomp, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(first, comp, first_px)
        order = np.argsort(first, kind="stable")
        rank = np.empty(ncomp, dtype=np.int64)
        rank[order] = np.arange(ncomp)
        comp = rank[comp]  # component of label 0 is 0
        agg = {k: np.bincount(comp, weights=cols[k], minlength=ncomp) for k in
               ("area_m2", "pixels", "slope_sum", "slope_area_m2", "stock_mgc")}
        smax = np.full(ncomp, -np.inf)
        np.fmax.at(smax, comp, np.where(np.isnan(cols["slope_max"]), -np.inf, cols["slope_max"]))
        czone = np.column_stack([np.bincount(comp, weights=zone[:, j], minlength=ncomp) for j in range(4)])
        keep = agg["area_m2"] >= min_area_m2
        keep[0] = False
        pid = np.zeros(ncomp, dtype=np.int64)
        pid[keep] = np.arange(1, int(keep.sum()) + 1)
        label_to_parcel = pid[comp]
        sel = np.flatnonzero(keep)
        with np.errstate(invalid="ignore", divide="ignore"):
            slope_mean = agg["slope_sum"] / agg["slope_area_m2"]
        table = pd.DataFrame({
            "parcel_id": pid[sel],
            "code": dominant_code(czone[sel], zone_priority),
            "area_m2": agg["area_m2"][sel],
            **{f"area_m2_{z}": czone[sel, j] for j, z in enumerate(ZONE_TYPES)},
            "pixels": agg["pixels"][sel].round().astype(np.int64),
            "slope_mean_deg": np.where(agg["slope_area_m2"][sel] > 0, slope_mean[sel], np.nan),
            "slope_max_deg": np.where(np.isfinite(smax[sel]), smax[sel], np.nan),
            "stock_mgc": agg["stock_mgc"][sel],
        })
        for name, parts in self._sums.items():
            vals = np.concatenate(parts)
            table[name] = np.bincount(comp, weights=vals, minlength=ncomp)[sel]
        table["admin_id"], admin_area = _majority_admin(self._admin, comp, pid, len(sel))
        return Joined(table=table, label_to_parcel=label_to_parcel, offsets=self.offsets, n_components=int(ncomp - 1),
                      admin_area=admin_area)


def _majority_admin(admin: list[np.ndarray], comp: np.ndarray, pid: np.ndarray,
                    nparcels: int) -> tuple[np.ndarray, pd.DataFrame]:
    """Admin zone id holding the largest share of each parcel (0: none), and the area of every
    (parcel, admin zone) pair (``parcel_id``, ``admin_id``, ``area_m2``)."""
    out = np.zeros(nparcels, dtype=np.int64)
    empty = pd.DataFrame({"parcel_id": np.zeros(0, np.int64), "admin_id": np.zeros(0, np.int64), "area_m2": np.zeros(0)})
    if not admin or nparcels == 0:
        return out, empty
    a = np.concatenate(admin)
    p = pid[comp[a[:, 0].astype(np.int64)]]
    m = p > 0
    df = pd.DataFrame({"p": p[m], "z": a[m, 1].astype(np.int64), "area": a[m, 2]})
    df = df[df.z > 0].groupby(["p", "z"], sort=True)["area"].sum().reset_index()
    if len(df):
        best = df.sort_values(["p", "area", "z"], ascending=[True, False, True]).drop_duplicates("p")
        out[best.p.to_numpy() - 1] = best.z.to_numpy()
    return out, df.rename(columns={"p": "parcel_id", "z": "admin_id", "area": "area_m2"})
