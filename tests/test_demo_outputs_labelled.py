"""Acceptance on the demo: no popup, tooltip, legend, layer name or map label of a Chinese map, and
no workbook sheet title or header, shows a machine identifier (ASCII with an underscore)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import openpyxl
import pytest

from browser import Browser, chromium  # noqa: F401 - chromium is a fixture

IDENTIFIER = re.compile(r"\b[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+\b")  # stock_mgc_p2_5, s_slope, outside_admin

#: Turns every layer on, then reads the layer list, the legend, the map labels and, for the
#: first 40 features of each layer (they share the layer's fields), the popup and the tooltip.
READ_ALL = """(() => {
  const out = {popups: [], tooltips: [], control: [], legends: "", labels: [], title: document.title};
  const map = window.sinkplanMap;
  for (const layer of window.sinkplanLayers) { if (!map.hasLayer(layer)) layer.addTo(map); }
  map.fire("overlayadd");
  out.control = Array.from(document.querySelectorAll('.leaflet-control-layers label')).map(e => e.textContent);
  const lg = document.querySelector('.sp-legend');
  out.legends = lg ? lg.textContent : "";
  out.labels = Array.from(document.querySelectorAll('.sp-label')).map(e => e.textContent);
  let count = 0;
  const visit = (l) => {
    if (l.eachLayer) { count = 0; l.eachLayer(visit); return; }
    if (count++ > 40) return;
    if (l.getPopup && l.getPopup()) {
      l.openPopup();
      const e = l.getPopup().getElement(), c = e && e.querySelector('.leaflet-popup-content');
      out.popups.push(c ? c.textContent : "");
      l.closePopup();
    }
    if (l.getTooltip && l.getTooltip() && !l.getTooltip().options.permanent) {
      l.openTooltip();
      const t = l.getTooltip().getElement();
      out.tooltips.push(t ? t.textContent : "");
      l.closeTooltip();
    }
  };
  window.sinkplanLayers.forEach(visit);
  return out;
})()"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    from sinkplan.cmd_demo import run
    from sinkplan.context import RunContext

    out = tmp_path_factory.mktemp("labelled") / "demo"
    run(argparse.Namespace(out=str(out), seed=2025, scale=0.3, overwrite=False), RunContext(quiet=True))
    return out


def test_detector_sees_identifiers():
    assert IDENTIFIER.findall("mapped_fraction 100 % · 面积 (公顷) · 排除原因：outside_admin") == ["mapped_fraction",
                                                                                                 "outside_admin"]
    assert IDENTIFIER.findall("Mg C/公顷 · 2015–2020 · 500kV · Wᵢ") == []


@pytest.mark.browser
def test_chinese_maps_show_no_identifier(chromium, demo):
    pages = sorted((demo / "maps").glob("*_zh.html"))
    assert {p.name for p in pages} >= {"carbon_zh.html", "coverage_zh.html", "change_zh.html", "site_pv_zh.html",
                                       "site_wind_zh.html", "restoration_mines_zh.html", "all_zh.html"}
    for page in pages:
        with Browser(chromium) as b:
            b.open(page)
            b.settle(0.2)
            got = b.evaluate(READ_ALL, timeout=120)
            assert b.errors == [], page.name
        assert got["popups"] and got["control"] and got["legends"], page.name
        found = {}
        for where in ("popups", "tooltips", "control", "labels"):
            for text in got[where]:
                for m in IDENTIFIER.findall(text or ""):
                    found.setdefault(m, (where, text[:200]))
        for m in IDENTIFIER.findall(got["legends"]):
            found.setdefault(m, ("legend", ""))
        for m in IDENTIFIER.findall(got["title"]):
            found.setdefault(m, ("title", got["title"]))
        assert found == {}, page.name
        # a title that names the result (not one title for every map)
        assert got["title"] != "碳汇与用地规划图", page.name
    # the mine marked 已修复 shows its status on its restoration map
    with Browser(chromium) as b:
        b.open(demo / "maps" / "restoration_mines_zh.html")
        got = b.evaluate(READ_ALL, timeout=120)
    assert any("已修复" in p for p in got["popups"]) and any("已修复" in t for t in got["labels"])


@pytest.mark.browser
def test_english_maps_show_no_identifier_either(chromium, demo):
    """English maps name rules and fields in English too (not_checked was a list of rule keys)."""
    in_path = set(IDENTIFIER.findall(str(demo)))  # a folder name the user chose may have underscores
    for page in sorted((demo / "maps").glob("*_en.html")):
        with Browser(chromium) as b:
            b.open(page)
            b.settle(0.2)
            got = b.evaluate(READ_ALL, timeout=120)
            page_text = b.evaluate("document.body.innerText")  # the notes (rules not checked) too
            assert b.errors == [], page.name
        texts = [*got["popups"], *got["tooltips"], *got["control"], *got["labels"], got["legends"], got["title"],
                 page_text]
        found = {m for t in texts for m in IDENTIFIER.findall(t or "")} - in_path
        assert found == set(), page.name


def test_workbooks_have_chinese_sheets_and_headers(demo):
    books = sorted(demo.glob("*/*.xlsx"))
    assert {p.parent.name for p in books} >= {"carbon", "coverage", "change", "site_pv", "area_estimate"}
    for book in books:
        wb = openpyxl.load_workbook(book, read_only=True)
        try:
            assert "说明" in wb.sheetnames, book
            for ws in wb.worksheets:
                assert not IDENTIFIER.search(ws.title), (book, ws.title)
                header = next(ws.iter_rows(min_row=1, max_row=1, values_only=True), ())
                bad = [h for h in header if h is not None and IDENTIFIER.search(str(h))]
                assert bad == [], (book.name, ws.title, bad)
        finally:
            wb.close()


#: Every layer on: the legend box, its scroll state and hint, before and after scrolling.
LEGEND_AND_FOCUS = """(() => {
  const map = window.sinkplanMap, box = document.querySelector('.sp-legend');
  const first = {more: box.classList.contains('sp-legend-more'), scroll: box.scrollHeight, client: box.clientHeight};
  for (const layer of window.sinkplanLayers) { if (!map.hasLayer(layer)) layer.addTo(map); }
  map.fire('overlayadd');
  const r = box.getBoundingClientRect(), hint = box.querySelector('.sp-more');
  const out = {first, more: box.classList.contains('sp-legend-more'), scroll: box.scrollHeight, client: box.clientHeight,
               top: r.top, bottom: r.bottom, height: window.innerHeight, overflow: getComputedStyle(box).overflowY,
               hint: hint ? hint.textContent : null, hint_before: hint ? getComputedStyle(hint).visibility : null};
  box.scrollTop = box.scrollHeight;
  box.dispatchEvent(new Event('scroll'));
  out.hint_after = hint ? getComputedStyle(hint).visibility : null;
  return out;
})()"""
#: The centre of the first zone drawn larger than 30 px, to click.
ZONE_CENTRE = """(() => {
  const p = Array.from(document.querySelectorAll('path.leaflet-interactive')).find(q => {
    const r = q.getBoundingClientRect(); return r.width > 30 && r.height > 30; });
  const r = p.getBoundingClientRect();
  return [r.left + r.width / 2, r.top + r.height / 2];
})()"""


@pytest.mark.browser
def test_legends_fit_or_scroll_visibly_and_zones_draw_no_focus_box(chromium, demo):
    # the carbon map at 1280 × 900: its one thematic legend fits, no scroll hint
    with Browser(chromium, width=1280, height=900) as b:
        b.open(demo / "maps" / "carbon_zh.html")
        b.settle(0.2)
        x, y = b.evaluate(ZONE_CENTRE)
        for kind in ("mousePressed", "mouseReleased"):  # a real click (a script's focus() shows no ring)
            b.call("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1})
        b.settle(0.2)
        # the clicked zone has the focus and draws no rectangular focus box (without the page's
        # rule Chromium draws outline-style auto, 5 px)
        focus = b.evaluate("[document.activeElement.tagName, getComputedStyle(document.activeElement).outlineStyle]")
        got = b.evaluate(LEGEND_AND_FOCUS)
    assert focus == ["path", "none"]
    assert got["first"]["more"] is False and got["first"]["scroll"] <= got["first"]["client"] + 2
    # every layer of every result on a 1000 × 600 window: the legend stays inside the window,
    # scrolls, and says so until scrolled to its end
    with Browser(chromium, width=1000, height=600) as b:
        b.open(demo / "maps" / "all_zh.html")
        b.settle(0.2)
        got = b.evaluate(LEGEND_AND_FOCUS)
        assert b.errors == []
    assert got["scroll"] > got["client"] and got["more"] is True and got["overflow"] == "scroll"
    assert 0 <= got["top"] < got["bottom"] <= got["height"]
    assert got["hint"] == "▼ 向下滚动查看更多图例" and got["hint_before"] == "visible" and got["hint_after"] == "hidden"
