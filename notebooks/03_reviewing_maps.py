# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 审核地图与数据 / Reviewing the maps and the figures
#
# **读者 / For:** 审核人员 / reviewers.
#
# 你收到一个结果文件夹和几张离线 HTML 地图。本笔记本说明：结果文件夹里有什么、输入是否就是声称的那些文件；
# 地图能否离线打开、每个图层表示什么；以及如何从表格重新算出报告里的数字（某个旗县的碳储量、覆盖率、
# 光伏装机），确认地图、表格和 summary.json 三者一致。
#
# You receive result folders and offline HTML maps. This notebook shows what a result folder
# holds and whether its inputs are the files it claims, whether a map opens offline and what
# each of its layers means, and how to recompute a reported figure from the tables (a banner's
# carbon stock, a coverage figure, the PV capacity) so that map, tables and `summary.json`
# are seen to agree. It reads the output of `sinkplan demo --out DIR` (the **synthetic demo
# region**).

# %% tags=["parameters"]
# 参数 / Parameters: the folder `sinkplan demo --out DIR` wrote (the tests set SINKPLAN_DEMO_DIR).
import os
from pathlib import Path

DEMO_DIR = Path(os.environ.get("SINKPLAN_DEMO_DIR", "../sinkplan-demo"))

# %%
import base64
import hashlib
import io
import json
import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import IFrame, Image, display

from sinkplan.layers import resultspec as rs
from sinkplan.maps.build import build_map
from sinkplan.maps.builder import fmt_value
from sinkplan.maps.folders import open_result
from sinkplan.maps.fonts import cjk_rc
from sinkplan.maps.i18n import column_label
from sinkplan.sinks.api import carbon_stocks

plt.rcParams.update(cjk_rc())  # a CJK font for the Chinese labels (empty if none is installed)
pd.set_option("display.float_format", lambda v: f"{v:,.6g}")
pd.set_option("display.max_colwidth", 80)


def show(fig):
    """Show a matplotlib figure inline as a PNG (whatever the backend, Agg included) and release it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    display(Image(buf.getvalue()))
    plt.close(fig)


if not (DEMO_DIR / "maps").is_dir():
    raise FileNotFoundError(f"{DEMO_DIR}: no demo results; run `sinkplan demo --out {DEMO_DIR}` first "
                            "or set SINKPLAN_DEMO_DIR to the folder it wrote")

# %% [markdown]
# ## 1. 结果文件夹与清单 / Result folders and their manifests
#
# Every command writes one folder, atomically (it exists complete or not at all), with a
# `manifest.json`: the command and its parameters, each input file with its size and SHA-256,
# each output with its SHA-256, the package versions and the times. A reviewer checks that the
# inputs are the files they should be and that no output was edited afterwards.

# %%
def sha256(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


rows = []
for folder in sorted(p for p in DEMO_DIR.iterdir() if (p / "manifest.json").exists()):
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    records = [r for r in manifest.get("inputs", []) if Path(r["path"]).is_file()]
    outputs = manifest.get("outputs", [])
    rows.append({
        "folder": folder.name, "command": manifest.get("command"), "finished": manifest.get("finished"),
        "sinkplan": manifest.get("versions", {}).get("sinkplan"),
        "inputs_ok": f"{sum(sha256(Path(r['path'])) == r['sha256'] for r in records)}/{len(manifest.get('inputs', []))}",
        "outputs_ok": f"{sum(sha256(folder / r['path']) == r['sha256'] for r in outputs)}/{len(outputs)}",
    })
folders = pd.DataFrame(rows)
display(folders)

carbon = open_result(DEMO_DIR / "carbon")  # kind, manifest and summary of a folder the maps can draw
print(carbon.kind, "|", json.dumps(carbon.manifest["parameters"], ensure_ascii=False))

# %% [markdown]
# ## 2. 打开 HTML 地图 / Opening the HTML maps
#
# Each map is one self-contained HTML file: Leaflet is inlined, rasters are PNG data URIs and
# a Content-Security-Policy forbids the page any network access unless an online basemap was
# asked for (`--basemap tianditu|gaode|osm`). Everything the page shows is in one JSON block,
# `<script id="sinkplan-data">`, so it can be inspected without a browser.

# %%
def map_data(html: str) -> dict:
    """The JSON block of a sinkplan map page."""
    m = re.search(r'<script id="sinkplan-data" type="application/json">(.*?)</script>', html, flags=re.DOTALL)
    return json.loads(m.group(1))


def offline(html: str) -> bool:
    """No script, stylesheet or image is fetched from the network, and the CSP says so."""
    fetched = re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="(https?:)?//', html)
    return not fetched and "connect-src 'none'" in html


maps = []
for path in sorted((DEMO_DIR / "maps").glob("*.html")):
    html = path.read_text(encoding="utf-8")
    data = map_data(html)
    maps.append({"map": path.name, "MB": len(html.encode()) / 1e6, "lang": data["lang"], "basemap": data["basemap"],
                 "offline": offline(html), "layers": len(data["layers"])})
display(pd.DataFrame(maps))
assert all(m["offline"] for m in maps) and all(m["MB"] < 15 for m in maps)

# In Jupyter the map opens right here (the path is relative to this notebook's folder).
site_map = DEMO_DIR / "maps" / "site_pv_zh.html"
display(IFrame(os.path.relpath(site_map), width="100%", height=480))

# %% [markdown]
# ## 3. 图层含义 / What each layer means
#
# The layers of the PV siting map. Rasters: *eligible land* coloured by zone of interest
# (desert, border belt, mine), then one layer per exclusion rule (the land that rule excludes,
# whatever else excludes it too). Vectors: the candidate parcels coloured by score (click one
# for its area, capacity, slope, distance to the grid, carbon at stake and rank) and the
# candidate bases (clusters of parcels).

# %%
site = map_data(site_map.read_text(encoding="utf-8"))
layers = pd.DataFrame([{
    "layer": L["name"], "type": L["type"], "legend": (L.get("legend") or {}).get("kind"),
    "units": (L.get("legend") or {}).get("units"),
    "range_or_classes": ("; ".join(label for _, label in L["legend"]["items"]) if (L.get("legend") or {}).get("items")
                         else f"{L['legend']['vmin']:.3g} – {L['legend']['vmax']:.3g}" if L.get("legend") else ""),
    "features": len(L.get("features", [])) if L["type"] == "vector" else None, "visible": L["visible"],
} for L in site["layers"]])
display(layers)

# A raster layer is a PNG on a Web-Mercator grid with its lon/lat bounds: decode and draw it.
eligible = next(L for L in site["layers"] if L["type"] == "raster")
png = base64.b64decode(eligible["png"].split(",", 1)[1])
(s, w), (n, e) = eligible["bounds"]
fig, ax = plt.subplots(figsize=(8, 5))
ax.imshow(plt.imread(io.BytesIO(png)), extent=(w, e, s, n))
for color, label in eligible["legend"]["items"]:
    ax.plot([], [], "s", color=color, label=label)
ax.legend(fontsize=8)
ax.set_title(f"{eligible['name']} (Web Mercator PNG)")
show(fig)

# %% [markdown]
# A map can also be built from result folders in Python, in English or Chinese; the layers are
# the same, only the labels change.

# %%
english = map_data(build_map([DEMO_DIR / "site_pv"], lang="en"))
display(pd.DataFrame({"zh": [L["name"] for L in site["layers"]], "en": [L["name"] for L in english["layers"]]}))

# %% [markdown]
# ## 4. 从表格核对数字 / Verifying a figure from the tables
#
# ### 4.1 一个旗县的碳储量 / A banner's carbon stock
#
# `stocks_by_class.csv` has one row per (banner, class): area and density per pool give the
# stock. Recompute the banner with the largest stock three ways: Σ area × density over its
# classes, Σ of the class stocks, and compare with `stocks_by_zone.csv` and `summary.json`.

# %%
by_class = pd.read_csv(DEMO_DIR / "carbon" / "stocks_by_class.csv", encoding="utf-8-sig")
by_zone_all = pd.read_csv(DEMO_DIR / "carbon" / rs.STOCKS_BY_ZONE.name, encoding="utf-8-sig")
# with --group-by the table also holds league (group) and region rows, which are sums of the banners
by_zone = by_zone_all[by_zone_all.zone_level == "zone"] if "zone_level" in by_zone_all else by_zone_all
summary = carbon.summary
zone = by_zone.sort_values("stock_mgc", ascending=False).zone.iloc[0]
rows = by_class[by_class.zone == zone]
pools = ["above", "below", "soil", "dead"]
density = rows[[f"density_mgc_per_ha_{p}" for p in pools]].sum(axis=1)  # Mg C/ha, all pools
display(rows[["code", "name_zh", "area_ha", *[f"density_mgc_per_ha_{p}" for p in pools], "stock_mgc"]])

check = pd.DataFrame([
    {"how": "Σ area_ha × density (stocks_by_class.csv)", "stock_mgc": (rows.area_ha * density).sum()},
    {"how": "Σ stock_mgc of the classes (stocks_by_class.csv)", "stock_mgc": rows.stock_mgc.sum()},
    {"how": rs.STOCKS_BY_ZONE.name, "stock_mgc": by_zone.set_index("zone").loc[zone, "stock_mgc"]},
    {"how": rs.SUMMARY.name, "stock_mgc": next(z["stock_mgc"] for z in summary["zones"] if z["zone"] == zone)},
])
check["difference_mgc"] = check.stock_mgc - check.stock_mgc.iloc[-1]
print(zone)
display(check)
assert np.allclose(check.stock_mgc, check.stock_mgc.iloc[-1], rtol=1e-9)

# The whole adds up: zones, pools and the redline sides each sum to the total.
total = summary["stock_mgc"]
print(f"total {fmt_value(total, 'stock_mgc')} Mg C | zones {by_zone.stock_mgc.sum() - total:+.3g} | "
      f"pools {sum(summary['stock_mgc_by_pool'].values()) - total:+.3g} | "
      f"redline {summary['redline']['inside_stock_mgc'] + summary['redline']['outside_stock_mgc'] - total:+.3g} "
      "(differences, Mg C)")
assert np.isclose(by_zone.stock_mgc.sum(), total, rtol=1e-12)
if "zone_level" in by_zone_all:  # each league is the sum of its banners, the region the sum of the leagues
    for league, members in by_zone.groupby("zone_group"):
        assert by_zone_all[(by_zone_all.zone_level == "group") & (by_zone_all.zone == league)].stock_mgc.iloc[0] \
            == members.stock_mgc.sum()
    print("league rows = Σ banners:", sorted(by_zone.zone_group.dropna().unique()))
u = summary["uncertainty"]
print(f"95 % interval of the total ({u['draws']} Monte Carlo draws, seed {u['seed']}): "
      f"{fmt_value(u['stock_mgc_p2_5'], 'stock_mgc')} – {fmt_value(u['stock_mgc_p97_5'], 'stock_mgc')} Mg C")

# %% [markdown]
# The whole table can also be recomputed from the inputs the manifest lists, with the function
# the command ran (`sinkplan.sinks.api.carbon_stocks`, which writes nothing): same parameters, same
# figures.

# %%
p = carbon.manifest["parameters"]
again = carbon_stocks(p["landcover"], scheme=p["scheme"], zones=p["zones"], zone_field=p["zone_field"],
                      redline=p["redline"], uncertainty=p["uncertainty"], seed=p["seed"], max_cells=p["max_cells"],
                      group_by=p.get("group_by"))
recomputed = again.by_zone.set_index("zone")[["area_ha", "stock_mgc", "stock_mgc_p2_5", "stock_mgc_p97_5"]]
display(recomputed.join(by_zone.set_index("zone")[["stock_mgc"]], rsuffix="_in_folder"))
pd.testing.assert_frame_equal(again.by_zone, by_zone_all, check_exact=False, rtol=1e-12)

# %% [markdown]
# ### 4.2 森林覆盖率 / Forest coverage
#
# Coverage = (tree forest + special shrubland + extra forest) ÷ land area on each row of
# `coverage_by_zone.csv` (the national definition; `special_shrub_rule` says how the shrub was decided);
# the gap is what is missing to the target where one applies (`target_source`); the totals are sums
# over the banners.

# %%
cov_all = pd.read_csv(DEMO_DIR / "coverage" / "coverage_by_zone.csv", encoding="utf-8-sig")
cov = (cov_all[cov_all.zone_level == "zone"] if "zone_level" in cov_all else cov_all).copy()
cov_summary = json.loads((DEMO_DIR / "coverage" / rs.SUMMARY.name).read_text(encoding="utf-8"))
print(cov_summary["definition"], "|", cov_summary["special_shrub_rule"]["data"])
counted = cov.forest_area_ha + cov.special_shrub_area_ha + cov.extra_forest_ha
cov["coverage_recomputed"] = counted / cov.land_area_ha
cov["gap_recomputed_ha"] = np.where(cov.target.notna(), np.maximum(0.0, cov.target * cov.land_area_ha - counted), np.nan)
display(cov[["zone", "year", "land_area_ha", "forest_area_ha", "special_shrub_area_ha", "coverage", "coverage_recomputed",
             "target", "target_source", "gap_ha", "gap_recomputed_ha", "land_area_source"]])
assert np.allclose(counted, cov.counted_forest_ha) and np.allclose(cov.coverage, cov.coverage_recomputed)
assert np.allclose(cov.gap_ha, cov.gap_recomputed_ha, equal_nan=True)
for t in cov_summary["totals"]:
    sub = cov[cov.year == t["year"]]
    assert np.isclose(sub.counted_forest_ha.sum() / sub.land_area_ha.sum(), t["coverage"])
    print(f"{t['year']}: {fmt_value(t['coverage'], 'coverage')} of {fmt_value(t['land_area_ha'])} ha "
          f"(bounds {fmt_value(t['coverage_trees_only'], 'coverage')} – {fmt_value(t['coverage_all_shrub'], 'coverage')}; "
          f"target: {t['target_source']}; {t['land_area_source']})")

# %% [markdown]
# ### 4.3 光伏装机 / PV capacity
#
# Capacity of a parcel = area (km²) × its power density (MW/km², from the row-spacing rule at
# its latitude); the total is the sum over `parcels.csv`; the gap is the target less the
# installed baseline. The popup of the parcel ranked first on the map shows the same numbers
# as its table row.

# %%
parcels = pd.read_csv(DEMO_DIR / "site_pv" / "parcels.csv", encoding="utf-8-sig")
site_summary = json.loads((DEMO_DIR / "site_pv" / rs.SUMMARY.name).read_text(encoding="utf-8"))
assert np.allclose(parcels.capacity_mw, parcels.area_ha / 100 * parcels.mw_per_km2)  # ha → km²
capacity = pd.DataFrame([
    {"figure": "Σ capacity_mw (parcels.csv)", "value": parcels.capacity_mw.sum(), rs.SUMMARY.name: site_summary["capacity_mw"]},
    {"figure": "Σ area_ha (parcels.csv)", "value": parcels.area_ha.sum(), rs.SUMMARY.name: site_summary["eligible_area_ha"]},
    {"figure": "gap = target − installed", "value": site_summary["target_mw"] - site_summary["installed_mw"],
     rs.SUMMARY.name: site_summary["gap_mw"]},
])
display(capacity)
assert np.allclose(capacity.value, capacity[rs.SUMMARY.name])

first = parcels.sort_values("rank").iloc[0]
vector = next(L for L in site["layers"] if L["type"] == "vector" and L["features"])
popups = [dict(f["p"]) for f in vector["features"] if f.get("p")]  # popup rows: [label, text]
key = {c: column_label(c, site["lang"]) for c in ("parcel_id", "rank", "area_ha", "capacity_mw", "stock_mgc")}
popup = next(p for p in popups if p[key["parcel_id"]] == fmt_value(int(first.parcel_id), "parcel_id"))
compare = pd.DataFrame([{"column": c, "map popup": popup[k], "parcels.csv": fmt_value(first[c], c)} for c, k in key.items()])
display(compare)
assert (compare["map popup"] == compare["parcels.csv"]).all()

# %% [markdown]
# ## 小结 / Checklist
#
# 1. 清单中的输入、输出哈希值与文件一致。 Inputs and outputs match their SHA-256 in `manifest.json`.
# 2. 地图离线打开（无外部资源），每个图层都有图例和单位。 Maps open offline; every layer has a legend.
# 3. 报告数字可从表格重算：储量 = Σ 面积 × 密度，覆盖率 = 森林 ÷ 土地，装机 = 面积 × 功率密度。
#    Reported figures recompute from the tables: stock = Σ area × density, coverage = forest ÷
#    land, capacity = area × power density; zones, pools and redline sides add up to the total.
