"""Parcels: 8-connected components of eligible land (any zone codes), joined across block edges."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from rasterio.windows import Window
from scipy import ndimage

from sinkplan.siting.blocks import BlockResult, local_components
from sinkplan.siting.components import Joiner, dominant_code, pairs_across


def run_blocks(eligible: np.ndarray, bh: int, bw: int, *, min_area_m2: float = 0.0, areas=None, zone_priority=None):
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
    joined = joiner.finish(min_area_m2=min_area_m2, zone_priority=zone_priority)
    pid = np.zeros((H, W), dtype=np.int64)
    for r0, r1, c0, c1, labels, off in blocks:
        pid[r0:r1, c0:c1] = np.where(labels > 0, joined.label_to_parcel[np.where(labels > 0, labels + off, 0)], 0)
    return joined, pid


def whole_components(eligible: np.ndarray, min_px: int = 0) -> np.ndarray:
    """Independent reference: scipy labels of all eligible pixels on the whole array, small ones removed."""
    out = np.zeros(eligible.shape, dtype=np.int64)
    n = 0
    lab, k = ndimage.label(eligible > 0, structure=np.ones((3, 3)))
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
@given(arrays(np.uint8, st.tuples(st.integers(1, 18), st.integers(1, 18)), elements=st.integers(0, 4)),
       st.integers(1, 7), st.integers(1, 7), st.integers(0, 6))
def test_blockwise_parcels_equal_whole_array_components(eligible, bh, bw, min_px):
    joined, pid = run_blocks(eligible, bh, bw, min_area_m2=float(min_px))
    ref = whole_components(eligible, min_px)
    assert same_partition(pid, ref)
    # areas (1 m² per pixel), areas per zone code and the code of the largest part match the reference
    t = joined.table.set_index("parcel_id")
    for p in np.unique(pid[pid > 0]):
        assert t.loc[p, "area_m2"] == (pid == p).sum()
        counts = np.bincount(eligible[pid == p], minlength=5)[1:]
        assert [t.loc[p, f"area_m2_{z}"] for z in ("desert", "border", "mine", "other")] == counts.tolist()
        assert t.loc[p, "code"] == np.argmax(counts) + 1  # argmax: the first (lowest) code on a tie
    # parcel ids number parcels by their first pixel in row-major order, whatever the blocks
    firsts = [np.flatnonzero((pid == p).ravel())[0] for p in sorted(np.unique(pid[pid > 0]))]
    assert firsts == sorted(firsts)


def test_parcel_straddling_a_block_corner_is_one_parcel():
    # A diagonal chain across the corner of four 3 × 3 blocks, a code-2 pixel touching it
    # (in the lower-left block) and a lone code-2 pixel: 8-connectivity joins the diagonal and
    # the touching code-2 pixel, whatever its code; the lone pixel is a parcel of its own.
    e = np.zeros((6, 6), dtype=np.uint8)
    for i in range(6):
        e[i, i] = 1
    e[3, 2] = 2
    e[0, 5] = 2
    joined, pid = run_blocks(e, 3, 3)
    one, pid1 = run_blocks(e, 6, 6)
    assert len(joined.table) == len(one.table) == 2
    assert (pid == pid1).all()
    t = joined.table.set_index("parcel_id")
    # parcel 1 starts at (0, 0): 6 px of code 1 + 1 px of code 2; parcel 2 is (0, 5)
    assert t.area_m2.tolist() == [7.0, 1.0]
    assert t.area_m2_desert.tolist() == [6.0, 0.0] and t.area_m2_border.tolist() == [1.0, 1.0]
    assert t.code.tolist() == [1, 2]


@pytest.mark.parametrize("bh, bw", [(5, 8), (2, 8), (2, 3), (1, 1), (3, 2)])
def test_zone_types_join_across_block_edges_above_the_minimum(bh, bw):
    # Desert (1) rows 0-1 × cols 0-2 = 6 px, border (2) rows 2-3 × cols 0-1 = 4 px (edge contact),
    # and a border strip cols 4-7 of row 0 (4 px) touching the desert only diagonally through
    # (1, 3) = desert: desert 6 + 1 = 7 px, border 4 + 4 = 8 px, one parcel of 15 px.
    e = np.zeros((5, 8), dtype=np.uint8)
    e[0:2, 0:3] = 1
    e[1, 3] = 1
    e[2:4, 0:2] = 2
    e[0, 4:8] = 2
    e[4, 7] = 1  # a lone desert pixel below the minimum
    areas = np.add.outer(np.arange(5.0) + 10.0, np.zeros(8))  # rows of 10, 11, 12, 13, 14 m²
    joined, pid = run_blocks(e, bh, bw, min_area_m2=100.0, areas=areas)
    t = joined.table
    assert len(t) == 1 and (pid > 0).sum() == 15 and pid[4, 7] == 0
    row = t.iloc[0]
    # desert: 3 × 10 + 3 × 11 + 11 (pixel (1, 3)) = 74 m²; border: 2 × 12 + 2 × 13 + 4 × 10 = 90 m²
    assert row.area_m2_desert == 74.0 and row.area_m2_border == 90.0 and row.area_m2 == 164.0
    assert row.area_m2_mine == row.area_m2_other == 0.0
    assert row.code == 2  # the border part is larger
    # each part alone is below 100 m²: without the join neither would be a parcel
    assert (run_blocks(np.where(e == 1, 1, 0).astype(np.uint8), bh, bw, min_area_m2=100.0, areas=areas)[0].table.empty)
    assert (run_blocks(np.where(e == 2, 2, 0).astype(np.uint8), bh, bw, min_area_m2=100.0, areas=areas)[0].table.empty)


def test_equal_parts_take_the_zone_of_higher_priority_then_the_lower_code():
    e = np.array([[1, 1, 3, 3]], dtype=np.uint8)  # 2 px desert, 2 px mine: a tie
    for bw in (1, 2, 4):
        assert run_blocks(e, 1, bw)[0].table.code.tolist() == [1]  # no priorities: the lower code
        prio = {1: 0.5, 2: 0.8, 3: 1.0, 4: 0.2}
        assert run_blocks(e, 1, bw, zone_priority=prio)[0].table.code.tolist() == [3]
    # a tie within TIE_RTOL (sums in another order) is still a tie; a real difference is not
    assert dominant_code(np.array([[1.0, 1.0 + 1e-12, 0, 0], [1.0, 1.0 + 1e-6, 0, 0]])).tolist() == [1, 2]


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
