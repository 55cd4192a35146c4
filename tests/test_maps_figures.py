"""Static figures: Chinese labels render with a CJK font (not boxes); figures per result kind."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from matplotlib.figure import Figure

import synthetic
from sinkplan.maps.figures import capacity_figure, write_figures
from sinkplan.maps.fonts import PROBE, cjk_rc, find_cjk_font, has_glyphs
from sysdeps import install_hint


@pytest.fixture(scope="module")
def cjk():
    found = find_cjk_font()
    if found is None:
        pytest.skip(f"no CJK font installed ({install_hint()})")
    return found


def _render(text: str, rc: dict) -> np.ndarray:
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    with matplotlib.rc_context(rc):
        fig = Figure(figsize=(3, 1), dpi=100)
        canvas = FigureCanvasAgg(fig)
        fig.text(0.05, 0.3, text, fontsize=20)
        canvas.draw()
        return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def test_cjk_font_has_the_glyphs(cjk):
    name, path = cjk
    assert has_glyphs(path, PROBE)
    assert not has_glyphs(__import__("matplotlib").get_data_path() + "/fonts/ttf/DejaVuSans.ttf", "碳")


def test_chinese_label_renders_glyphs_not_boxes(cjk):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        a = _render("碳储量", cjk_rc())
        b = _render("森林率", cjk_rc())
    assert not [w for w in caught if "missing from font" in str(w.message) or "Glyph" in str(w.message)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tofu1 = _render("碳储量", {"font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans"]})
        tofu2 = _render("森林率", {"font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans"]})
    assert [w for w in caught if "missing from font" in str(w.message)]  # the control does show boxes
    np.testing.assert_array_equal(tofu1, tofu2)  # boxes look the same whatever the characters
    assert (a != b).any()  # real glyphs differ between different characters
    assert (a != tofu1).any()
    assert (a < 128).any()  # something was drawn


def test_figures_per_kind(cjk, tmp_path):
    base = tmp_path
    folders = {
        "carbon": synthetic.carbon_folder(base / "carbon", size=60, n_zones=30),
        "coverage": synthetic.coverage_folder(base / "coverage", years=(2015, 2018, 2020)),
        "change": synthetic.change_folder(base / "change", size=60),
        "site": synthetic.site_folder(base / "site", size=60),
    }
    expected = {
        "carbon": ["carbon_by_zone.png", "carbon_density_map.png", "thematic_map.png", "thematic_map.pdf"],
        "coverage": ["coverage_by_zone.png", "coverage_trajectory.png", "thematic_map.png", "thematic_map.pdf"],
        "change": ["change_map.png", "thematic_map.png", "thematic_map.pdf"],
        "site": ["capacity_by_zone_type.png", "eligible_map.png", "thematic_map.png", "thematic_map.pdf"],
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for kind, folder in folders.items():
            paths = write_figures(folder, base / f"{kind}_fig", lang="zh", max_pixels=20_000)
            assert [p.name for p in paths] == expected[kind]
            for p in paths:
                assert p.read_bytes()[:8] == (b"\x89PNG\r\n\x1a\n" if p.suffix == ".png" else b"%PDF-1.4")
    assert not [w for w in caught if "missing from font" in str(w.message)]


def test_capacity_against_target_english():
    fig = capacity_figure({"desert": {"capacity_mw": 120_000.0}, "border": {"capacity_mw": 30_000.0}},
                          target_mw=200_000.0, lang="en", share_of_target=0.75)
    ax = fig.axes[0]
    # the run's own share: (0 installed + 150 GW) of 200 GW = 75.0 %
    assert ax.get_title() == "Capacity by zone type (75.0 %)"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Desert and gobi", "Border area", "Total"]
    assert ax.lines[0].get_ydata()[0] == 200.0


def test_capacity_title_gives_no_share_the_run_did_not_compute(tmp_path):
    """A run of a few banners against the provincial target has share_of_target null: the
    figure drew '(2.6 %)' (screened ÷ target) all the same. The share is the summary's or none."""
    import json

    from sinkplan.layers import resultspec as rs
    from sinkplan.maps.figures import figures_of

    folder = synthetic.site_folder(tmp_path / "site", size=60)
    path = folder / rs.SUMMARY.name
    s = json.loads(path.read_text(encoding="utf-8"))
    for share, title in ((None, "Capacity by zone type"), (0.512, "Capacity by zone type (51.2 %)")):
        s["share_of_target"] = share
        path.write_text(json.dumps(s), encoding="utf-8")
        ax = figures_of(folder, lang="en")["capacity_by_zone_type.png"].axes[0]
        assert ax.get_title() == title
        assert ax.get_lines()[0].get_ydata()[0] == pytest.approx(s["target_mw"] / 1000.0)  # the target line stays


def test_cli_figures(tmp_path, capsys):
    from sinkplan.cli import main

    folder = synthetic.coverage_folder(tmp_path / "coverage")
    assert main(["figures", str(folder), "--lang", "en", "-q"]) == 0
    out = capsys.readouterr().out.split()
    assert [p.rsplit("/", 1)[-1] for p in out] == ["coverage_by_zone.png", "coverage_trajectory.png", "thematic_map.png",
                                                   "thematic_map.pdf"]
    assert (tmp_path / "coverage_figures" / "manifest.json").exists()
    assert main(["figures", str(folder), "-q"]) == 2  # exists: needs --overwrite
