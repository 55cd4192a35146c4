"""Parcels: 8-connected components of one zone code, joined across block edges."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from rasterio.windows import Window
from scipy import ndimage

from siting.blocks import BlockResult, local_components
from siting.components import Joiner, pairs_across


def run_blocks(eligible: np.ndarray, bh: int, bw: int, *, min_area_m2: float = 0.0, areas=None):
    """Label every block, join, return (Joined, per-pixel parcel ids)."""
    H, W = eligible.shape
    areas = np.ones((H, W)) if areas is None else areas
    joiner = Joiner(W, H)
    blocks = []
    for r0 in range(0, H, bh):
        for c0 in range(0, W, bw):
            r1, c1 = min(H, r0 + bh), min(W, c0 + bw)
            comp = local_components(
                eligible[r0:r1, c0:c1], areas=areas[r0:r1, c0:c1], min_area_m2=min_area_m2,
                inner_edges=(r0 > 0, r1 < H, c0 > 0, c1 < W), origin=(r0, c0), grid_width=W)
            labels = comp.pop("labels")
            res = BlockResult(window=Window(c0, r0, c1 - c0, r1 - r0), bits=None, labels=labels, **comp,
                              bit_area_m2=np.zeros(0), eligible_area_m2=np.zeros(5), total_area_m2=0.0, unknown={})
            off = joiner.add(res)
            blocks.append((r0, r1, c0, c1, labels, off))
    joined = joiner.finish(min_area_m2=min_area_m2)
    pid = np.zeros((H, W), dtype=np.int64)
    for r0, r1, c0, c1, labels, off in blocks:
        pid[r0:r1, c0:c1] = np.where(labels > 0, joined.label_to_parcel[np.where(labels > 0, labels + off, 0)], 0)
    return joined, pid


def whole_components(eligible: np.ndarray, min_px: int = 0) -> np.ndarray:
    """Independent reference: scipy labels per code on the whole array, small ones removed."""
    out = np.zeros(eligible.shape, dtype=np.int64)
    n = 0
    for z in np.unique(eligible[eligible > 0]):
        lab, k = ndimage.label(eligible == z, structure=np.ones((3, 3)))
        sizes = np.bincount(lab.ravel())
        for i in range(1, k + 1):
            if sizes[i] >= min_px:
                n += 1
                out[lab == i] = n
    return out


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """True when two label images define the same set of regions (ids may differ)."""
    if ((a > 0) != (b > 0)).any():
        return False
    pairs = set(zip(a[a > 0].tolist(), b[b > 0].tolist()))
    return len(pairs) == len({p for p, _ in pairs}) == len({q for _, q in pairs})


@settings(max_examples=120, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 18), st.integers(1, 18)), elements=st.integers(0, 2)),
       st.integers(1, 7), st.integers(1, 7), st.integers(0, 6))
def test_blockwise_parcels_equal_whole_array_components(eligible, bh, bw, min_px):
    joined, pid = run_blocks(eligible, bh, bw, min_area_m2=float(min_px))
    ref = whole_components(eligible, min_px)
    assert same_partition(pid, ref)
    # areas (1 m² per pixel) and codes per parcel match the reference
    t = joined.table.set_index("parcel_id")
    for p in np.unique(pid[pid > 0]):
        assert t.loc[p, "area_m2"] == (pid == p).sum()
        assert t.loc[p, "code"] == eligible[pid == p][0]
    # parcel ids number parcels by their first pixel in row-major order, whatever the blocks
    firsts = [np.flatnonzero((pid == p).ravel())[0] for p in sorted(np.unique(pid[pid > 0]))]
    assert firsts == sorted(firsts)


def test_parcel_straddling_a_block_corner_is_one_parcel():
    # A diagonal chain across the corner of four 3 × 3 blocks, plus a code-2 pixel touching it:
    # 8-connectivity joins the diagonal; different codes never join.
    e = np.zeros((6, 6), dtype=np.uint8)
    for i in range(6):
        e[i, i] = 1
    e[3, 2] = 2
    joined, pid = run_blocks(e, 3, 3)
    one, pid1 = run_blocks(e, 6, 6)
    assert len(joined.table) == len(one.table) == 2
    assert (pid == pid1).all()
    assert sorted(joined.table.area_m2) == [1.0, 6.0]


def test_areas_are_the_pixel_areas():
    e = np.ones((4, 4), dtype=np.uint8)
    areas = np.add.outer(np.arange(4.0) * 10 + 100, np.zeros(4))  # rows of 100, 110, 120, 130 m²
    joined, _ = run_blocks(e, 2, 3, areas=areas)
    assert joined.table.area_m2.tolist() == [4 * (100 + 110 + 120 + 130)]


def test_pairs_across_hand_case():
    code = np.array([0, 1, 1, 2, 1])
    a = np.array([1, 0, 0, 3])
    b = np.array([0, 2, 4, 0])
    u, v = pairs_across(a, b, code)
    # 1 (code 1) touches 2 (code 1) diagonally; 3 (code 2) touches 4 (code 1) but codes differ
    assert sorted(zip(u.tolist(), v.tolist())) == [(1, 2)]
