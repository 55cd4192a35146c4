"""Print-ready thematic maps: the scale bar is true on the ground, north arrow, legend, paper size;
figures on a machine without a CJK font: one warning, no missing glyph, no tofu."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from pyproj import Geod

import synthetic
from sinkplan.maps.thematic import bar_end_lon, graticule_step, nice_length_m

GEOD = Geod(ellps="WGS84")


def test_bar_end_is_at_the_geodesic_length():
    # 50 km east along 42°N: geodesic distance between the ends is 50 000 m to a millimetre,
    # while the naive 50 km / 111.32 km per degree = 0.449° is 50 000 × cos 42° ≈ 37 200 m on the ground
    lon1 = bar_end_lon(111.0, 42.0, 50_000.0)
    assert GEOD.inv(111.0, 42.0, lon1, 42.0)[2] == pytest.approx(50_000.0, abs=1e-3)
    naive = GEOD.inv(111.0, 42.0, 111.0 + 50_000.0 / 111_320.0, 42.0)[2]
    assert naive == pytest.approx(37_200, rel=0.01)
    assert nice_length_m(43_000) == 20_000 and nice_length_m(50_000) == 50_000
    assert graticule_step(1.0) == 0.2


@pytest.fixture(scope="module")
def carbon(tmp_path_factory):
    return synthetic.carbon_folder(tmp_path_factory.mktemp("thematic") / "carbon", size=80, n_zones=4,
                                   names=["甲旗", "乙旗", "丙市", "丁县"])


def test_carbon_thematic_map_scale_bar_matches_its_label(carbon, tmp_path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colorbar import Colorbar  # noqa: F401 - the legend is a colour bar
    from matplotlib.text import Annotation

    from sinkplan.maps.figures import figures_of, write_figures

    import matplotlib

    from sinkplan.maps.fonts import cjk_rc

    with matplotlib.rc_context(cjk_rc()):  # the zone names are Chinese
        fig = figures_of(carbon, lang="en", paper="a4", max_pixels=20_000)["thematic_map"]
        FigureCanvasAgg(fig).draw()
    ax = fig.sinkplan_thematic["axes"]
    segments = [p for p in ax.patches if (p.get_gid() or "").startswith("scalebar-") and p.get_gid()[-1].isdigit()]
    assert len(segments) == 4
    # read the bar off the drawn figure: its extent on the sheet (display units) back through the
    # axes' transform to longitude/latitude, then measured on the ellipsoid
    boxes = [p.get_window_extent() for p in segments]
    x0, x1 = min(b.x0 for b in boxes), max(b.x1 for b in boxes)
    y = boxes[0].y0
    (lon0, lat), (lon1, _) = ax.transData.inverted().transform([(x0, y), (x1, y)])
    ground_m = GEOD.inv(lon0, lat, lon1, lat)[2]
    texts = [t.get_text() for t in ax.texts]
    unit = next(t for t in ax.texts if t.get_gid() == "scalebar-unit").get_text()
    assert unit == "km"
    numbers = [float(t) for t in texts if re.fullmatch(r"\d+(\.\d+)?", t)]
    label_m = max(numbers) * 1000.0
    assert ground_m == pytest.approx(label_m, rel=1e-6)
    # the region is 1° wide at 41°N (≈ 84 km): the bar is a round 1, 2 or 5 × 10^k km below it
    assert label_m in (10_000.0, 20_000.0, 50_000.0)
    # north arrow: the arrow's head is straight above its tail (meridians are vertical here)
    arrow = next(a for a in ax.texts if isinstance(a, Annotation) and a.get_gid() == "north-arrow")
    assert arrow.xy[0] == arrow.xyann[0] and arrow.xy[1] > arrow.xyann[1]
    assert any(t.get_gid() == "north-arrow-label" and t.get_text() == "N" for t in ax.texts)
    # legend: a colour bar with the units; graticule labels in degrees
    cbars = [a for a in fig.axes if a.get_ylabel() == "Mg C/ha"]
    assert cbars
    assert any(t.get_text().endswith("°E") for t in ax.get_xticklabels())
    # the sheet: PNG and PDF, A4 landscape (297 × 210 mm = 841.9 × 595.3 pt)
    paths = write_figures(carbon, tmp_path / "figs", lang="en", max_pixels=20_000)
    names = [p.name for p in paths]
    assert "thematic_map.png" in names and "thematic_map.pdf" in names
    pdf = (tmp_path / "figs" / "thematic_map.pdf").read_bytes()
    assert pdf[:5] == b"%PDF-"
    box = [float(v) for v in re.search(rb"/MediaBox \[\s*([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+)\s*\]", pdf).groups()]
    assert box[2:] == pytest.approx([297 / 25.4 * 72, 210 / 25.4 * 72], abs=0.5)
    a3 = figures_of(carbon, lang="en", paper="a3", max_pixels=20_000)["thematic_map"]
    assert tuple(a3.get_size_inches()) == pytest.approx((420 / 25.4, 297 / 25.4))


def test_categorical_raster_gets_a_categorical_legend(tmp_path):
    from sinkplan.maps.figures import figures_of

    site = synthetic.site_folder(tmp_path / "site", size=60)
    figs = figures_of(site, lang="en", max_pixels=20_000)
    fig = figs["eligible_map.png"]
    assert not [a for a in fig.axes if a.get_label() == "<colorbar>"]  # no continuous colour bar
    legend = fig.axes[0].get_legend()
    texts = [t.get_text() for t in legend.get_texts()]
    assert texts and set(texts) <= {"Desert and gobi", "Border area", "Mine restoration", "Other eligible land"}
    colours = {tuple(np.round(h.get_facecolor()[:3], 3)) for h in legend.legend_handles}
    assert len(colours) == len(texts)  # one colour per class: mine land is not painted like border land


NO_CJK_SCRIPT = textwrap.dedent(r'''
    import json, logging, os, sys, warnings
    real_walk = os.walk
    CJK = ("wqy", "noto", "cjk", "arphic", "droid", "uming", "ukai")
    def walk(top, *a, **k):  # this machine without its CJK fonts
        for root, dirs, files in real_walk(top, *a, **k):
            yield root, dirs, [f for f in files if not any(c in f.lower() for c in CJK)]
    os.walk = walk
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import font_manager as fm
    assert not [f for f in fm.fontManager.ttflist if any(c in f.fname.lower() for c in CJK)], "CJK font still found"
    import sinkplan.maps.fonts as fonts
    fonts.KNOWN_CJK_FONTS = ()
    records = []
    class H(logging.Handler):
        def emit(self, r):
            records.append((r.levelname, r.name, r.getMessage()))
    logging.getLogger().addHandler(H(level=logging.WARNING))
    from matplotlib.figure import Figure
    from matplotlib.text import Text
    from matplotlib.ft2font import FT2Font
    dejavu = set(FT2Font(fm.findfont("DejaVu Sans")).get_charmap())
    drawn = []
    real_save = Figure.savefig
    def savefig(self, *a, **k):
        real_save(self, *a, **k)
        drawn.extend(t.get_text() for t in self.findobj(Text) if t.get_visible())
    Figure.savefig = savefig
    from sinkplan.maps.figures import write_figures
    out = sys.argv[1]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for name in sys.argv[2:]:
            write_figures(name, os.path.join(out, os.path.basename(name)), lang="zh", max_pixels=20000)
    tofu = sorted({ch for t in drawn for ch in t if ord(ch) > 32 and ord(ch) not in dejavu})
    print(json.dumps({"warnings": [str(w.message) for w in caught], "logs": records, "tofu": tofu,
                      "texts": drawn}, ensure_ascii=False))
''')


def test_figures_without_a_cjk_font_have_no_missing_glyph_and_no_tofu(tmp_path):
    names = ["呼和浩特市", "四子王旗", "察哈尔右翼后旗", "宝力格露天矿"]
    folders = [synthetic.carbon_folder(tmp_path / "carbon", size=60, n_zones=4, names=names),
               synthetic.coverage_folder(tmp_path / "coverage", names=names),
               synthetic.site_folder(tmp_path / "site", size=60, names=names)]
    cfg = tmp_path / "mplconfig"
    cfg.mkdir()  # an empty font cache: matplotlib rebuilds it from the (filtered) system fonts
    env = {**os.environ, "MPLCONFIGDIR": str(cfg), "PATH": str(tmp_path)}  # no fc-list either
    r = subprocess.run([sys.executable, "-c", NO_CJK_SCRIPT, str(tmp_path / "out"), *map(str, folders)],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    got = json.loads(r.stdout.strip().splitlines()[-1])
    glyph = [w for w in got["warnings"] + [m for *_, m in got["logs"]] if "Glyph" in w or "missing from font" in w]
    assert glyph == []
    assert got["tofu"] == []
    font_warnings = [m for level, name, m in got["logs"] if "CJK font" in m]
    assert len(font_warnings) == 1 and "fonts-wqy-microhei" in font_warnings[0]
    assert not [w for w in got["warnings"] if "font" in w.lower()]
    # the names stay readable, in pinyin
    joined = "\n".join(got["texts"])
    assert "Hohhot" in joined or "Huhehaote Shi" in joined
    assert "Siziwang Qi" in joined


def _province(n_zones_side: int = 3):
    """A 29° × 16° box like Inner Mongolia's (97–126°E, 37–53°N) cut into 3 × 3 zones whose edges
    follow meridians and parallels (densified: 0.05° steps, so straight segments between vertices
    are as close to the parallels on the sheet as they are on the ground)."""
    import geopandas as gpd
    from shapely.geometry import Polygon

    def cell(w, e, s, n):
        lons, lats = np.arange(w, e + 1e-9, 0.05), np.arange(s, n + 1e-9, 0.05)
        ring = ([(x, s) for x in lons] + [(e, y) for y in lats[1:]] + [(x, n) for x in lons[::-1][1:]]
                + [(w, y) for y in lats[::-1][1:]])
        return Polygon(ring)

    lon_edges, lat_edges = np.linspace(97.0, 126.0, n_zones_side + 1), np.linspace(37.0, 53.0, n_zones_side + 1)
    polys = [cell(lon_edges[i], lon_edges[i + 1], lat_edges[j], lat_edges[j + 1])
             for j in range(n_zones_side) for i in range(n_zones_side)]
    return gpd.GeoDataFrame({"zone": [f"z{k}" for k in range(len(polys))]}, geometry=polys, crs=4326)


def _ring_area(xy: np.ndarray) -> float:
    x, y = xy[:, 0], xy[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))  # shoelace


def test_a_province_is_drawn_in_albers_equal_area_with_true_scale_bar_and_north_arrow():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from sinkplan.maps.thematic import ThematicSpec, albers_parameters, thematic_map

    zones = _province()
    # a raster whose value is its column's longitude band (1 per degree east of 97°E)
    rows, cols = 160, 290  # 0.1° pixels over 97–126°E, 37–53°N
    values = np.tile(np.floor(np.arange(cols) * 0.1), (rows, 1))
    fig, info = thematic_map(ThematicSpec(title="province", lang="en", values=values, extent=(97.0, 126.0, 37.0, 53.0),
                                          zones=zones, units="x"))
    FigureCanvasAgg(fig).draw()
    ax, crs = info["axes"], info["crs"]
    # the sheet's CRS: Albers on CGCS2000, central meridian at the middle, standard parallels a sixth
    # of the range inside the limits. The padded box is 96.13–126.87°E, 36.52–53.48°N (3 % pad):
    # lon0 = 111.5; lat1 = 36.52 + 16.96 / 6 = 39.35 → 39.5; lat2 = 53.48 − 2.83 = 50.65 → 50.5
    assert crs is not None and crs.geodetic_crs.to_epsg() == 4490
    lon0, lat1, lat2 = albers_parameters(crs)
    assert (lon0, lat1, lat2) == (111.5, 39.5, 50.5)
    # equal area: each zone's outline as drawn (metres of the sheet) encloses its ellipsoidal area;
    # in plate carrée the northern zones would be 1/cos 48° ≈ 1.5 × too big relative to the southern
    geod = crs.geodetic_crs.get_geod()
    drawn = next(c for c in ax.collections if c.get_gid() == "zones")
    for path, poly in zip(drawn.get_paths(), zones.geometry):
        ground = abs(geod.geometry_area_perimeter(poly)[0])
        assert _ring_area(path.vertices) == pytest.approx(ground, rel=1e-4)
    # the scale bar read off the drawn figure through the axes' transform, back to lon/lat with
    # the sheet's CRS, then measured on the ellipsoid: its label's length
    from pyproj import Transformer

    inv = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)
    segments = [p for p in ax.patches if (p.get_gid() or "").startswith("scalebar-") and p.get_gid()[-1].isdigit()]
    boxes = [p.get_window_extent() for p in segments]
    (x0, y), (x1, _) = ax.transData.inverted().transform([(min(b.x0 for b in boxes), boxes[0].y0),
                                                          (max(b.x1 for b in boxes), boxes[0].y0)])
    (lon_a, lon_b), (lat_a, lat_b) = inv.transform([x0, x1], [y, y])
    ground_m = geod.inv(lon_a, lat_a, lon_b, lat_b)[2]
    numbers = [float(t.get_text()) for t in ax.texts if re.fullmatch(r"\d+(\.\d+)?", t.get_text())]
    assert next(t for t in ax.texts if t.get_gid() == "scalebar-unit").get_text() == "km"
    assert ground_m == pytest.approx(max(numbers) * 1000.0, rel=1e-6)
    assert max(numbers) in (500.0, 200.0)  # about 30 % of ~2 500 km, rounded to 1, 2 or 5 × 10^k
    # north arrow: along the meridian where it stands. On an Albers sheet meridians converge by
    # γ = n (λ − λ0) with n ≈ (sin φ1 + sin φ2) / 2 (the sphere's cone constant: 0.703 here)
    arrow = next(a for a in ax.texts if a.get_gid() == "north-arrow")
    dx, dy = np.subtract(arrow.xy, arrow.xyann)
    turn = math.degrees(math.atan2(-dx, dy))
    n = (math.sin(math.radians(39.5)) + math.sin(math.radians(50.5))) / 2
    lon = info["north_arrow"]["lon"]
    assert lon > lon0 + 5 and turn == pytest.approx(n * (lon - lon0), abs=0.1)  # east of lon0: turned anticlockwise
    # the graticule: meridians drawn as curves of one longitude, labelled on the frame
    from matplotlib.lines import Line2D

    mer = next(ln for ln in ax.get_lines() if ln.get_gid() == "graticule-lon-110")
    lons, _ = inv.transform(*mer.get_data())
    assert np.allclose(lons, 110.0, atol=1e-9)
    assert isinstance(mer, Line2D)
    labels = [t.get_text() for t in ax.texts if t.get_gid() == "graticule-label"]
    assert "110°E" in labels and "40°N" in labels and "50°N" in labels  # a 10° graticule over ~31°
    # the raster lands where it belongs: the pixel under 119.35°E, 44.35°N on the sheet has
    # the value of its lon/lat pixel, floor((119.35 − 97) / 1) = 22
    fwd = Transformer.from_crs(crs.geodetic_crs, crs, always_xy=True)
    px, py = fwd.transform(119.35, 44.35)
    im = ax.get_images()[0]
    arr = np.ma.getdata(im.get_array())
    left, right, bottom, top = im.get_extent()
    r = int((top - py) / (top - bottom) * arr.shape[0])
    c = int((px - left) / (right - left) * arr.shape[1])
    assert arr[r, c] == 22.0


def test_small_extents_stay_in_longitude_latitude_and_projection_can_be_forced():
    from sinkplan.maps.thematic import ThematicSpec, sheet_crs, thematic_map

    assert sheet_crs(111.0, 113.9, 41.0, 42.0) is None  # 2.9° wide: under 3°, plate carrée
    assert sheet_crs(111.0, 114.1, 41.0, 42.0) is not None  # 3.1°: Albers
    assert sheet_crs(97.0, 126.0, 37.0, 53.0, "lonlat") is None
    assert sheet_crs(111.0, 112.0, 41.0, 42.0, "albers") is not None
    with pytest.raises(ValueError, match="projection 'utm': choose one of auto, lonlat, albers"):
        sheet_crs(111.0, 112.0, 41.0, 42.0, "utm")
    _, info = thematic_map(ThematicSpec(title="t", lang="en", zones=_province(1), projection="lonlat"))
    assert info["crs"] is None and "lon0" in info["scale_bar"]
    # across the equator a conic degenerates (standard parallels ±1.5°: cone constant 0): the
    # equal-area cylinder, whose meridians are vertical (north arrow straight up)
    crs = sheet_crs(5.0, 10.0, -2.0, 2.0)
    assert crs.coordinate_operation.method_name == "Lambert Cylindrical Equal Area"
    fig, info = thematic_map(ThematicSpec(title="t", lang="en", values=np.ones((20, 25)), extent=(5.0, 10.0, -2.0, 2.0)))
    assert info["north_arrow"]["angle_deg"] == pytest.approx(0.0, abs=1e-9)
    assert "Lambert cylindrical equal-area" in " ".join(t.get_text() for t in fig.texts)


def test_figures_command_draws_the_thematic_map_in_the_projection_asked(carbon, tmp_path, capsys):
    from sinkplan.cli import main
    from sinkplan.maps.figures import figures_of
    from sinkplan.maps.thematic import albers_parameters

    # the synthetic carbon folder spans 1°: lon/lat by default, Albers when asked
    assert figures_of(carbon, lang="en", max_pixels=20_000)["thematic_map"].sinkplan_thematic["crs"] is None
    fig = figures_of(carbon, lang="en", max_pixels=20_000, projection="albers")["thematic_map"]
    lon0, lat1, lat2 = albers_parameters(fig.sinkplan_thematic["crs"])
    assert lat1 < lat2 and abs(lon0 - 111.5) <= 1.0
    out = tmp_path / "figs"
    assert main(["figures", str(carbon), "--out", str(out), "--projection", "albers", "--lang", "en", "-q"]) == 0
    assert (out / "thematic_map.pdf").read_bytes()[:5] == b"%PDF-"
    assert json.loads((out / "manifest.json").read_text("utf-8"))["parameters"]["projection"] == "albers"
    with pytest.raises(SystemExit) as stop:  # argparse's own one-line usage error
        main(["figures", str(carbon), "--out", str(tmp_path / "x"), "--projection", "utm", "-q"])
    assert stop.value.code == 2 and "invalid choice: 'utm'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
