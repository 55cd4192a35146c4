"""siting.kernels against the numpy arithmetic they replaced in siting.blocks.

``local_components`` and ``cell_labels`` now sum per label in compiled loops. The numpy
versions they replaced (one ``np.bincount`` per quantity, ``ufunc.at`` for maxima and first
pixels, an argsort renumbering) are kept below, verbatim, as the reference: on random blocks
(holes, NaN slopes, zone codes above 4, cells, admin ids) every output must be identical —
the compiled loops add in the order bincount adds, so the sums agree to the last bit.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage

from sinkplan.siting.blocks import EIGHT, cell_labels, local_components


# ----------------------------------------------------------------------------- reference (the former numpy code)
def ref_cell_labels(mask: np.ndarray, cells: tuple[int, int] | None, origin: tuple[int, int] = (0, 0)) -> tuple[np.ndarray, int]:
    if cells is None:
        lab, n = ndimage.label(mask, structure=EIGHT)
        return lab.astype(np.int32, copy=False), int(n)
    h, w = mask.shape
    ch, cw = cells
    cr = ((origin[0] + np.arange(h)) // ch) % 2
    cc = ((origin[1] + np.arange(w)) // cw) % 2
    cls = (cr[:, None] * 2 + cc[None, :]).astype(np.int8)
    out = np.zeros((h, w), dtype=np.int32)
    n = 0
    for k in range(4):
        lab, nk = ndimage.label(mask & (cls == k), structure=EIGHT)
        if nk:
            out[lab > 0] = lab[lab > 0] + n
            n += int(nk)
    if n:  # renumber in row-major order of first pixels (as ndimage.label numbers)
        flat = out.ravel()
        first = np.full(n + 1, flat.size, dtype=np.int64)
        nzp = np.flatnonzero(flat)
        np.minimum.at(first, flat[nzp], nzp)
        order = np.argsort(first[1:], kind="stable")
        new = np.zeros(n + 1, dtype=np.int32)
        new[order + 1] = np.arange(1, n + 1, dtype=np.int32)
        out = new[out]
    return out, n



def ref_local_components(eligible: np.ndarray, *, areas: np.ndarray, density_mgc_per_ha: np.ndarray | None = None,
                     slope: np.ndarray | None = None, min_area_m2: float = 0.0, admin_ids: np.ndarray | None = None,
                     n_admin: int = 0, inner_edges: tuple[bool, bool, bool, bool] = (True, True, True, True),
                     origin: tuple[int, int] = (0, 0), grid_width: int | None = None,
                     cells: tuple[int, int] | None = None, sums: dict[str, np.ndarray] | None = None) -> dict:
    h, w = eligible.shape
    labels, n = ref_cell_labels(eligible > 0, cells, origin)
    flat = labels.ravel()
    nz = np.flatnonzero(flat)  # pixels in a component
    a = np.broadcast_to(areas, (h, w)).ravel()
    area = np.bincount(flat, weights=a, minlength=n + 1)
    # area per (label, zone code): one bincount over the combined key label × 5 + code
    zkey = flat.astype(np.int64) * 5 + np.minimum(eligible.ravel(), 4)
    zone_area = np.bincount(zkey, weights=a, minlength=(n + 1) * 5).reshape(n + 1, 5)[:, 1:]
    pixels = np.bincount(flat, minlength=n + 1)
    if density_mgc_per_ha is not None:
        # Mg C/ha × ha = Mg C (pixel area m² / 10 000 = ha)
        stock = np.bincount(flat, weights=np.ravel(density_mgc_per_ha) * a / 1e4, minlength=n + 1)
    else:
        stock = np.zeros(n + 1)
    if slope is not None and n:
        fin = np.isfinite(slope).ravel()
        s = np.where(fin, slope.ravel(), 0.0)
        slope_sum = np.bincount(flat, weights=s * a, minlength=n + 1)
        slope_area = np.bincount(flat, weights=a * fin, minlength=n + 1)
        mx = np.full(n + 1, -np.inf)
        np.fmax.at(mx, flat[nz], slope.ravel()[nz])  # NaN slopes are ignored by fmax
        smax = np.where(np.isfinite(mx), mx, np.nan)
    else:
        slope_sum = slope_area = np.zeros(n + 1)
        smax = np.full(n + 1, np.nan)
    # keep components that can still grow across an inner block edge, or are large enough
    on_edge = np.zeros(n + 1, bool)
    for line, inner in zip((labels[0], labels[-1], labels[:, 0], labels[:, -1]), inner_edges):
        if inner:
            on_edge[line] = True
    keep = (area >= min_area_m2) | on_edge
    keep[0] = False
    area[0] = stock[0] = pixels[0] = 0  # label 0 is the background, not a component
    zone_area[0] = 0
    new = np.zeros(n + 1, dtype=np.int32)
    new[keep] = np.arange(1, int(keep.sum()) + 1, dtype=np.int32)
    labels = new[labels]
    sel = np.concatenate([[0], np.flatnonzero(keep)])
    first = np.zeros(n + 1, dtype=np.int64)  # first occurrence (row-major) of each label
    if n:
        f1 = np.full(n + 1, flat.size, dtype=np.int64)
        np.minimum.at(f1, flat[nz], nz)
        first[1:] = f1[1:]
    gw = w if grid_width is None else grid_width
    first_px = (origin[0] + first // w) * gw + origin[1] + first % w
    admin = np.zeros((0, 3))
    if admin_ids is not None and len(sel) > 1:
        m = labels > 0
        key = labels[m].astype(np.int64) * (n_admin + 1) + admin_ids[m]
        uk, inv = np.unique(key, return_inverse=True)
        za = np.bincount(inv, weights=np.broadcast_to(areas, (h, w))[m])
        admin = np.column_stack([uk // (n_admin + 1), uk % (n_admin + 1), za])
    extra = {}
    for name, v in (sums or {}).items():
        vals = np.nan_to_num(np.broadcast_to(v, (h, w)).ravel().astype(np.float64), nan=0.0)
        extra[name] = np.bincount(flat, weights=vals, minlength=n + 1)[sel]
        extra[name][0] = 0.0
    return {
        "sums": extra,
        "labels": labels, "n_labels": int(len(sel) - 1), "zone_area_m2": zone_area[sel],
        "area_m2": area[sel], "pixels": pixels[sel].astype(np.int64), "slope_sum": slope_sum[sel],
        "slope_area_m2": slope_area[sel], "slope_max": smax[sel], "stock_mgc": stock[sel], "admin": admin,
        "first_px": first_px[sel].astype(np.int64),
        "edges": (labels[0].copy(), labels[-1].copy(), labels[:, 0].copy(), labels[:, -1].copy()),
    }


# ----------------------------------------------------------------------------- tests


def _same(a, b, path=""):
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, tuple | list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{path}[{i}]")
    elif isinstance(a, np.ndarray):
        assert a.shape == b.shape, path
        assert np.array_equal(a, b, equal_nan=True), path  # bit for bit, NaN where NaN
    else:
        assert a == b, path


@settings(max_examples=80, deadline=None)
@given(h=st.integers(1, 24), w=st.integers(1, 24), cells=st.sampled_from([None, (3, 4), (5, 5), (2, 7)]),
       data=st.data())
def test_local_components_equal_the_numpy_arithmetic(h, w, cells, data):
    eligible = data.draw(arrays(np.uint8, (h, w), elements=st.sampled_from([0, 0, 0, 1, 2, 3, 4, 5])))
    areas = data.draw(arrays(np.float64, (h, 1), elements=st.floats(900.0, 1000.0)))  # one area per row
    density = data.draw(arrays(np.float64, (h, w), elements=st.floats(0.0, 200.0)))
    slope = data.draw(arrays(np.float64, (h, w), elements=st.one_of(st.floats(0.0, 40.0), st.just(np.nan))))
    admin = data.draw(arrays(np.int64, (h, w), elements=st.integers(0, 3)))
    energy = data.draw(arrays(np.float64, (h, w), elements=st.one_of(st.floats(0.0, 5.0), st.just(np.nan))))
    origin = (data.draw(st.integers(0, 30)), data.draw(st.integers(0, 30)))
    edges = tuple(data.draw(st.booleans()) for _ in range(4))
    kw = dict(areas=areas, density_mgc_per_ha=density, slope=slope, min_area_m2=3000.0, admin_ids=admin, n_admin=3,
              inner_edges=edges, origin=origin, grid_width=w + 60, cells=cells,
              sums={"capacity_mw": areas * 1e-5 + 0 * density, "energy_mwh_per_yr": energy})
    _same(local_components(eligible, **kw), ref_local_components(eligible, **kw))


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_local_components_without_density_or_slope(data):
    h, w = data.draw(st.integers(1, 16)), data.draw(st.integers(1, 16))
    eligible = data.draw(arrays(np.uint8, (h, w), elements=st.sampled_from([0, 1, 4])))
    areas = np.full((h, w), 100.0)
    _same(local_components(eligible, areas=areas), ref_local_components(eligible, areas=areas))


@settings(max_examples=60, deadline=None)
@given(data=st.data(), cells=st.sampled_from([None, (2, 2), (3, 5)]))
def test_cell_labels_equal_the_numpy_renumbering(data, cells):
    h, w = data.draw(st.integers(1, 20)), data.draw(st.integers(1, 20))
    mask = data.draw(arrays(np.bool_, (h, w)))
    origin = (data.draw(st.integers(0, 9)), data.draw(st.integers(0, 9)))
    a, na = cell_labels(mask, cells, origin)
    b, nb = ref_cell_labels(mask, cells, origin)
    assert na == nb and np.array_equal(a, b)


def test_local_components_by_hand():
    # two components of code 1 and 3: the 2 × 2 square (4 px) and one pixel, 100 m² each;
    # density 10 Mg C/ha → 10 × 100 / 1e4 = 0.1 Mg C per pixel; slopes 1, 2, 3, NaN on the square
    e = np.array([[1, 1, 0, 3], [1, 1, 0, 0]], np.uint8)
    slope = np.array([[1.0, 2.0, 0.0, 5.0], [3.0, np.nan, 0.0, 0.0]])
    c = local_components(e, areas=np.full((2, 4), 100.0), density_mgc_per_ha=np.full((2, 4), 10.0), slope=slope)
    assert c["n_labels"] == 2
    assert c["area_m2"].tolist() == [0.0, 400.0, 100.0]
    assert c["pixels"].tolist() == [0, 4, 1]
    assert np.allclose(c["stock_mgc"], [0.0, 0.4, 0.1])
    assert c["slope_sum"][1:].tolist() == [600.0, 500.0]  # (1 + 2 + 3) × 100, NaN left out; 5 × 100
    assert c["slope_area_m2"][1:].tolist() == [300.0, 100.0]
    assert c["slope_max"][1:].tolist() == [3.0, 5.0]
    assert c["first_px"][1:].tolist() == [0, 3]
    assert c["zone_area_m2"][1].tolist() == [400.0, 0.0, 0.0, 0.0] and c["zone_area_m2"][2].tolist() == [0.0, 0.0, 100.0, 0.0]


def ref_slope_and_descent(dem, metric, *, north_angle=None):
    """The numpy form slope_and_descent had before its compiled loop (verbatim)."""
    z = np.asarray(dem, dtype=np.float64)
    a, b, c = z[:-2, :-2], z[:-2, 1:-1], z[:-2, 2:]
    d, f = z[1:-1, :-2], z[1:-1, 2:]
    g, h, i = z[2:, :-2], z[2:, 1:-1], z[2:, 2:]
    dx = metric.dx_m[1:-1, None]
    dy = (0.5 * (metric.y_m[:-2] - metric.y_m[2:]))[:, None]
    dzdx = ((c + 2 * f + i) - (a + 2 * d + g)) / (8.0 * dx)
    dzdy = ((a + 2 * b + c) - (g + 2 * h + i)) / (8.0 * dy)
    if north_angle is None:
        rise_n = dzdy
    else:
        th = np.asarray(north_angle, dtype=np.float64)
        rise_n = dzdx * np.sin(th) + dzdy * np.cos(th)
    return np.degrees(np.arctan(np.hypot(dzdx, dzdy))).astype(np.float32), (-rise_n).astype(np.float32)


@settings(max_examples=50, deadline=None)
@given(data=st.data(), rotated=st.booleans())
def test_slope_kernel_equals_the_numpy_form(data, rotated):
    from sinkplan.siting.geometry import RowMetric, slope_and_descent

    h, w = data.draw(st.integers(3, 14)), data.draw(st.integers(3, 14))
    z = data.draw(arrays(np.float64, (h, w), elements=st.one_of(st.floats(0.0, 3000.0), st.just(np.nan))))
    metric = RowMetric(0, -np.cumsum(data.draw(arrays(np.float64, h, elements=st.floats(20.0, 40.0)))),
                       data.draw(arrays(np.float64, h, elements=st.floats(15.0, 40.0))))
    th = data.draw(arrays(np.float64, (h - 2, w - 2), elements=st.floats(-0.2, 0.2))) if rotated else None
    s, d = slope_and_descent(z, metric, north_angle=th)
    rs, rd = ref_slope_and_descent(z, metric, north_angle=th)
    assert s.dtype == rs.dtype == np.float32 and d.dtype == np.float32
    assert np.array_equal(np.isnan(s), np.isnan(rs)) and np.array_equal(np.isnan(d), np.isnan(rd))
    # float32 results of the same float64 arithmetic (libm's arctan/hypot may differ by 1 ulp in float64)
    np.testing.assert_allclose(s, rs, rtol=1e-6, atol=1e-6, equal_nan=True)
    np.testing.assert_allclose(d, rd, rtol=1e-6, atol=1e-7, equal_nan=True)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_pv_density_kernel_equals_the_ground_cover_ratio(data):
    """The per-pixel PV density of a block (compiled) = W/m² × ground_cover_ratio × land share
    (numpy, element by element), sun below the horizon included (latitudes up to 80°)."""
    from types import SimpleNamespace

    from sinkplan.siting.energy import ground_cover_ratio, pv_density_mw_per_km2, pv_tilt_deg

    h, w = data.draw(st.integers(1, 8)), data.draw(st.integers(1, 8))
    lat = data.draw(arrays(np.float64, (h, 1), elements=st.floats(20.0, 80.0)))
    nd = data.draw(arrays(np.float64, (h, w), elements=st.floats(-0.3, 0.3)))
    layout = SimpleNamespace(module_w_per_m2=213.0, array_land_share=0.32, tilt_offset_from_latitude_deg=-5.0,
                             shade_free_from_hour=9.0)
    got = pv_density_mw_per_km2(lat, layout, nd)
    tilt = pv_tilt_deg(lat, -5.0)
    want = 213.0 * ground_cover_ratio(np.broadcast_to(lat, (h, w)), np.broadcast_to(tilt, (h, w)), hour=9.0,
                                      ns_descent=nd) * 0.32
    assert got.shape == (h, w) and np.array_equal(got, want)


def test_pv_density_by_hand():
    # 40°N, tilt 35°, noon only, flat: gcr = 1 / (cos 35° + sin 35° / tan 26.56°) = 0.5085 (energy.py's
    # doctest); × 213 W/m² × 0.32 = 34.66 MW/km²
    from types import SimpleNamespace

    from sinkplan.siting.energy import pv_density_mw_per_km2

    layout = SimpleNamespace(module_w_per_m2=213.0, array_land_share=0.32, tilt_offset_from_latitude_deg=-5.0,
                             shade_free_from_hour=12.0)
    d = pv_density_mw_per_km2(np.array([[40.0]]), layout, np.zeros((1, 2)))
    assert np.allclose(d, 213.0 * 0.32 / (np.cos(np.radians(35)) + np.sin(np.radians(35)) / np.tan(np.radians(26.56))),
                       rtol=2e-4)


def test_a_block_without_eligible_land_equals_the_numpy_arithmetic():
    # the shortcut for blocks with nothing to label: the same outputs as labelling an empty mask
    e = np.zeros((6, 9), np.uint8)
    kw = dict(areas=np.full((6, 1), 900.0), density_mgc_per_ha=np.ones((6, 9)), slope=np.ones((6, 9)),
              admin_ids=np.ones((6, 9), np.int64), n_admin=2, origin=(512, 8192), grid_width=20000,
              sums={"capacity_mw": np.ones((6, 9))})
    got = local_components(e, **kw)
    assert got["n_labels"] == 0 and got["first_px"].tolist() == [512 * 20000 + 8192]
    _same(got, ref_local_components(e, **kw))
