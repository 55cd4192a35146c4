"""Zone names a map and a figure must give back as written: formula-like names (which the CSV
guard prefixes with a quote), names pandas takes for missing values, long, multi-line and
right-to-left names.

Before: a zone named ``=HYPERLINK(...)`` came back from stocks_by_zone.csv as ``'=HYPERLINK(...)``,
so its map popup lost every figure (the table row no longer matched the polygon's name) and
the figure showed the quote; a zone named ``n/a`` read as NaN (the figure said "nan"); a
3 000-character name pushed the bars off the figure; Arabic and Hebrew names were boxes with a
missing-glyph warning each (the CJK font alone, no per-glyph fallback)."""

from __future__ import annotations

import json
import warnings

import matplotlib
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

import synthetic
from sinkplan.layers import resultspec as rs
from sinkplan.maps.builder import read_csv
from sinkplan.maps.figures import MAX_LABEL_CHARS, carbon_by_zone_figure
from sinkplan.maps.fonts import cjk_rc, find_cjk_font

NAMES = ['=HYPERLINK("http://x","y")', "n/a", "NA", "-", "'quoted", "x" * 3000, "line1\nline2", "مرحبا עברית 东旗"]


@pytest.fixture(scope="module")
def carbon(tmp_path_factory):
    return synthetic.carbon_folder(tmp_path_factory.mktemp("names") / "carbon", size=80, n_zones=len(NAMES),
                                   names=NAMES)


def test_table_names_read_back_as_written(carbon):
    raw = (carbon / rs.STOCKS_BY_ZONE.name).read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK(" in raw  # the file itself stays guarded for spreadsheets
    table = read_csv(carbon / rs.STOCKS_BY_ZONE.name)
    assert sorted(table["zone"]) == sorted(NAMES)
    assert table["stock_mgc"].notna().all()


def test_every_zone_popup_has_its_figures(carbon):
    from sinkplan.maps.builder import MapBuilder
    from sinkplan.maps.model import MapSpec, VectorLayer
    from sinkplan.maps.sinks_layers import carbon_layers

    summary = json.loads((carbon / rs.SUMMARY.name).read_text(encoding="utf-8"))
    b = MapBuilder(MapSpec(title="t", lang="en"), max_pixels=10_000, max_cells=1 << 20)
    carbon_layers(b, carbon, summary)
    zones = [lay for lay in b.spec.layers if isinstance(lay, VectorLayer) and len(lay.features) == len(NAMES)]
    assert zones, "no zone layer"
    for feat in zones[0].features:
        rows = dict((str(k), v) for k, v in feat["p"])
        assert any("Mg C" in k for k in rows), feat["t"][:80]  # each popup has the zone's stock: no row lost in the join


def test_bar_labels_are_short_single_lines_and_drawn_without_missing_glyphs(carbon):
    if find_cjk_font() is None:
        pytest.skip("no CJK font installed (fonts-wqy-microhei)")
    table = read_csv(carbon / rs.STOCKS_BY_ZONE.name)
    with matplotlib.rc_context(cjk_rc()), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = carbon_by_zone_figure(table, lang="zh")
        FigureCanvasAgg(fig).draw()  # glyphs are looked up when drawn
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert sorted(labels) == sorted(["=HYPERLINK(\"http://x\",\"y\")", "n/a", "NA", "-", "'quoted",
                                     "x" * (MAX_LABEL_CHARS - 1) + "…", "line1 line2", "مرحبا עברית 东旗"])
    assert not [w for w in caught if "missing from font" in str(w.message)]
