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
# # 森林覆盖率与碳储量 / Forest coverage and carbon stocks
#
# **读者 / For:** 林业和草原工作人员 / forestry staff.
#
# 每年要向上级报告：各盟市、旗县的碳储量有多少（以及有多确定），森林覆盖率离 23.5 % 的目标还差多少、
# 按现在的速度哪一年能达到，森林蓄积量与 15.5 亿 m³ 的目标相比如何，地图的分类误差会让覆盖率偏多少，
# 以及 2015→2020 年间发生了什么变化。
#
# Every year the same questions come from above: how much carbon each league and banner holds
# (and how sure we are), how far forest coverage is from the 23.5 % target and when it gets
# there at the current pace, how the stock volume compares with 1.55 billion m³, how much the
# map's classification errors move the coverage figure, and what changed between 2015 and 2020.
#
# This notebook answers them on the **synthetic demo region** (made by `sinkplan demo`; shapes and
# values are invented) with the Python API of `layers/` and `sinks/`. Every raster is read
# block by block and every area is ground area on the ellipsoid, so the same cells run on a
# 6-gigapixel province mosaic.

# %% tags=["parameters"]
# 参数 / Parameters. The demo folder is the one `sinkplan demo --out DIR` writes (its `inputs/`
# are read here); the tests set SINKPLAN_DEMO_DIR. Without it the demo inputs are built here.
import os
from pathlib import Path

DEMO_DIR = Path(os.environ.get("SINKPLAN_DEMO_DIR", "../sinkplan-demo"))
DEMO_SCALE = 0.3  # pixel-count scale when the inputs have to be built (1.0 ≈ 3.6 Mpx)
MC_DRAWS = 200  # Monte Carlo draws over the carbon densities
SEED = 2025
MAX_CELLS = 1 << 20  # pixels per block: the memory bound of every pass

# %%
import io
import json
import tempfile

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import rasterio
from IPython.display import Image, display

from layers.geodesy import geodesic_area_m2
from layers.landcover import check_codes, class_table, open_landcover
from layers.vectors import ZoneRasterizer, read_vector
from maps.figures import (
    carbon_by_zone_figure,
    coverage_by_zone_figure,
    coverage_trajectory_figure,
)
from maps.fonts import cjk_rc
from seeds.demo import DemoRegion, build_demo
from seeds.targets import load_targets
from sinks.blocks import ClassSlots, PassSpec, run_pass
from sinks.carbon import carbon_account, run_monte_carlo, zone_table
from sinks.change import change_account, group_matrix, zone_change
from sinks.coverage import VolumeTable, coverage, forest_area_ha, gap_ha, trend
from sinks.densities import load_densities
from sinks.learning.area_estimate import error_matrix, stratified_estimate
from sinks.learning.area_tables import coverage_dict, reference_sample, strata_areas
from sinks.stocks import CO2_PER_C, class_area_ha
from sinks.uncertainty import interval

plt.rcParams.update(cjk_rc())  # a CJK font for the Chinese labels (empty if none is installed)
pd.set_option("display.float_format", lambda v: f"{v:,.4g}")
WORK = Path(tempfile.mkdtemp(prefix="sinkplan-nb1-"))  # zone rasters of this session


def show(fig):
    """Show a matplotlib figure inline as a PNG (whatever the backend, Agg included) and release it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    display(Image(buf.getvalue()))
    plt.close(fig)


# %% [markdown]
# ## 1. 土地覆盖与行政区 / Land cover and zones
#
# The demo inputs: CLCD land cover for 2015 and 2020 (codes 1 cropland … 9 wetland) and the
# banner (旗县) polygons with their league (盟市). `open_landcover` checks the codes against
# the class scheme; `class_table` streams the raster once and sums the ground area per class.

# %%
inputs = DEMO_DIR / "inputs"
if not (inputs / "demo_region.json").exists():
    build_demo(inputs, seed=SEED, scale=DEMO_SCALE)
info = json.loads((inputs / "demo_region.json").read_text(encoding="utf-8"))
region = DemoRegion(**{k: inputs / v["path"] for k, v in info["files"].items()},
                    manifest=inputs / "demo_region.json", zone_field=info["zone_field"])
print(info["description"])

lc2015 = open_landcover(region.landcover_2015, "clcd")
lc2020 = open_landcover(region.landcover_2020, "clcd")
grid, scheme = lc2020.grid, lc2020.scheme
lc2015.grid.check_same(grid, names=("2015", "2020"))  # the change pass needs one grid
print(f"grid: {grid.width} × {grid.height} px, {grid.crs.to_string()}, ground area {grid.total_area_m2() / 1e4:,.0f} ha")

classes = class_table(lc2020, max_cells=MAX_CELLS)
classes["share"] = classes.area_ha / classes.area_ha.sum()
display(classes)

# %%
banners = read_vector(region.banners, field=region.zone_field)
print(banners.report)  # encoding, repaired / dropped geometries
display(banners.gdf.drop(columns="geometry"))

# A reduced view of the 2020 map (decimated read, never the full raster) with the banners.
with rasterio.open(region.landcover_2020) as src:
    step = max(1, int(np.ceil(max(src.width, src.height) / 800)))
    view = src.read(1, out_shape=(src.height // step, src.width // step))
rgba = np.zeros((*view.shape, 4))
for code, color in scheme.colormap().items():  # code → (r, g, b, a) of the scheme
    rgba[view == code] = np.array(color) / 255
fig, ax = plt.subplots(figsize=(8, 5))
w, s, e, n = grid.bounds
ax.imshow(rgba, extent=(w, e, s, n), interpolation="nearest")
banners.gdf.boundary.plot(ax=ax, color="black", linewidth=0.8)
for _, row in banners.gdf.iterrows():
    p = row.geometry.representative_point()
    ax.annotate(row[region.zone_field], (p.x, p.y), ha="center", fontsize=8)
ax.set_aspect(1 / np.cos(np.radians((s + n) / 2)))
ax.set_title("2020 土地覆盖与旗县 / land cover 2020 and banners")
show(fig)

# %% [markdown]
# ## 2. 碳储量（按盟市、旗县）及不确定性 / Carbon stocks by league and banner, with uncertainty
#
# Stock = ground area of each class × carbon density of each pool (above- and below-ground
# biomass, soil 0–30 cm, dead matter; the shipped Inner Mongolia table with its sources).
# One streamed pass counts the area per (banner × class); the stocks are then arithmetic on
# that small table. Monte Carlo draws over the densities (areas fixed) give a 95 % interval.

# %%
table = load_densities("inner_mongolia_30cm")
print(table.meta.get("title", ""), "| soil depth", table.soil_depth_cm, "cm")
densities = table.resolve(scheme)
display(pd.DataFrame(densities.per_class(), columns=["c_above", "c_below", "c_soil", "c_dead"],
                     index=pd.Index([f"{c} {scheme.by_code[c].name_zh}" for c in densities.codes], name="class")))

zones = ZoneRasterizer(banners, grid, field=region.zone_field)
zone_raster = zones.to_raster(WORK / "banners.tif", max_cells=MAX_CELLS)  # zone id per pixel, 0 outside
zone_names = ("(outside zones)", *zones.names)


def area_table(*landcovers):
    """Ground area (ha) per (zone, side, class[, class]) of one land-cover map or a pair."""
    slots = tuple(ClassSlots.build(lc.scheme, dtype=lc.dtype, nodata=(lc.nodata,)) for lc in landcovers)
    spec = PassSpec(grid, tuple(str(lc.path) for lc in landcovers), slots, str(zone_raster), zones.n_zones, 1)
    res = run_pass(spec, max_cells=MAX_CELLS)
    for lc, unknown in zip(landcovers, res.unknown):
        check_codes(unknown, lc.scheme, lc.path)  # codes the scheme lacks: an error naming them
    return class_area_ha(res), slots[0]


area2020, slots = area_table(lc2020)
acc = carbon_account(area2020, densities, scheme, zone_names=zone_names, has_zones=True, has_redline=False)
mc = run_monte_carlo(acc, densities, MC_DRAWS, seed=SEED)
by_banner = zone_table(acc, mc)
display(by_banner[["zone", "area_ha", "stock_mgc_above", "stock_mgc_below", "stock_mgc_soil", "stock_mgc_dead",
                   "stock_mgc", "stock_mgc_p2_5", "stock_mgc_p97_5", "stock_mt_co2e"]])

# %% [markdown]
# Leagues (盟市) are unions of banners, so their stocks are sums of the banners' (exact, see
# `sinks.stocks`), and their interval comes from the *same* Monte Carlo draws summed over the
# member banners (summing the banners' intervals would overstate it).

# %%
league_of = dict(zip(banners.gdf[region.zone_field], banners.gdf["league_zh"]))
rows = []
for league in sorted(set(league_of.values())):
    ids = [i for i, name in enumerate(zone_names) if league_of.get(name) == league]
    mean, lo, hi = interval(mc.by_zone[:, ids].sum(axis=1))
    rows.append({"league": league, "banners": len(ids), "area_ha": acc.area_ha[ids].sum(),
                 "stock_mgc": acc.stock_mgc[ids].sum(), "stock_mgc_p2_5": lo, "stock_mgc_p97_5": hi,
                 "stock_mt_co2e": acc.stock_mgc[ids].sum() * CO2_PER_C / 1e6})
by_league = pd.DataFrame(rows)
display(by_league)
total = acc.stock_mgc.sum()
assert np.isclose(by_league.stock_mgc.sum(), total, rtol=1e-12)  # leagues add up to the whole
mean, lo, hi = interval(mc.total)
print(f"total {total / 1e6:,.2f} Tg C (95 % interval {lo / 1e6:,.2f}–{hi / 1e6:,.2f} Tg C), "
      f"{total * CO2_PER_C / 1e6:,.1f} Mt CO2e")

fig = carbon_by_zone_figure(by_banner, lang="zh")
ax = fig.axes[0]
order = [t.get_text() for t in ax.get_yticklabels()]
err = by_banner.set_index("zone").loc[order]
ax.errorbar(err.stock_mgc / 1e6, range(len(order)), fmt="none", color="black", capsize=3,
            xerr=[(err.stock_mgc - err.stock_mgc_p2_5) / 1e6, (err.stock_mgc_p97_5 - err.stock_mgc) / 1e6])
show(fig)

# %% [markdown]
# ## 3. 森林覆盖率与 23.5 % 目标 / Forest coverage against 23.5 % and the trajectory
#
# Coverage = forest area ÷ land area. The land area is each banner polygon's geodesic area
# (as `sinkplan coverage` does by default; pass the official figure when you have it). The
# annual change between 2015 and 2020, held constant, gives the year the target is reached.
# Counting shrubland as specially designated shrub forest (国家特别规定的灌木林地) moves the
# figure by several points; both are shown.

# %%
target = load_targets()["forest_coverage"]
print(f"target {target.value:.1%} by {target.year}: {target.clause} ({target.source})")
area2015, _ = area_table(lc2015)
groups = tuple(scheme.by_code[c].group for c in slots.codes)
land_ha = np.concatenate([[0.0], geodesic_area_m2(zones.zones_gdf.geometry.values, zones.zones_gdf.crs) / 1e4])
ids = list(range(1, len(zone_names)))

records = []
for count_shrub in (False, True):
    for year, area in ((2015, area2015), (2020, area2020)):
        forest = forest_area_ha(area, groups, count_shrub=count_shrub)
        cov, gap = coverage(forest, land_ha), gap_ha(forest, land_ha, target.value)
        for z in ids:
            records.append({"count_shrub": count_shrub, "zone": zone_names[z], "year": year, "land_area_ha": land_ha[z],
                            "forest_area_ha": forest[z], "coverage": cov[z], "gap_ha": gap[z]})
        records.append({"count_shrub": count_shrub, "zone": "(total)", "year": year, "land_area_ha": land_ha[ids].sum(),
                        "forest_area_ha": forest[ids].sum(), "coverage": forest[ids].sum() / land_ha[ids].sum(),
                        "gap_ha": max(0.0, target.value * land_ha[ids].sum() - forest[ids].sum())})
cov_df = pd.DataFrame(records)
display(cov_df.pivot_table(index="zone", columns=["count_shrub", "year"], values="coverage"))

# %%
trend_rows = []
for (count_shrub, zone), g in cov_df.groupby(["count_shrub", "zone"], sort=False):
    t = trend(list(g.year), list(g.coverage), list(g.forest_area_ha), target.value)
    trend_rows.append({"count_shrub": count_shrub, "zone": zone, "coverage_2020": g.coverage.iloc[-1],
                       "annual_change_pp": t.annual_change * 100, "annual_forest_change_ha": t.annual_forest_change_ha,
                       "gap_2020_ha": g.gap_ha.iloc[-1], "target_year_at_this_rate": t.target_year})
trends = pd.DataFrame(trend_rows)
display(trends)

forest_only = cov_df[~cov_df.count_shrub & (cov_df.zone != "(total)")]
show(coverage_by_zone_figure(forest_only, target=target.value, lang="zh"))
total_trend = trends[~trends.count_shrub & (trends.zone == "(total)")].iloc[0]
reach = total_trend.target_year_at_this_rate
show(coverage_trajectory_figure(forest_only, target=target.value,
                                target_year=reach if isinstance(reach, int) else None, lang="zh"))

# %% [markdown]
# ## 4. 森林蓄积量与目标 / Stock volume against the target
#
# Growing stock volume = forest area × volume per hectare (the shipped Inner Mongolia table,
# by class group; a volume raster from an inventory can replace it in `sinkplan coverage
# --volume`). The 1.55 billion m³ target is for the whole autonomous region, so the demo
# region's share is what to look at.

# %%
import seeds

volume_table = VolumeTable.from_csv(Path(seeds.__file__).parent / "densities" / "volume_inner_mongolia.csv")
per_ha = volume_table.per_class(scheme, slots.codes)  # m³/ha per class
volume_target = load_targets()["forest_stock_volume"]
vol = pd.DataFrame({year: (area * per_ha).sum(axis=(1, 2))[ids] for year, area in ((2015, area2015), (2020, area2020))},
                   index=pd.Index(zone_names[1:], name="zone"))
vol.loc["(total)"] = vol.sum()
display(vol.rename(columns=lambda y: f"volume_m3_{y}"))
print(f"2020: {vol.loc['(total)', 2020]:,.0f} m³ = {vol.loc['(total)', 2020] / volume_target.value:.3%} of the "
      f"{volume_target.value:,.0f} {volume_target.unit} target for {volume_target.year}")

# %% [markdown]
# ## 5. 精度校正的覆盖率 / Accuracy-adjusted coverage with its confidence interval
#
# A map's forest area is a pixel count, and the map has errors. With a stratified random
# reference sample (here: the demo's `reference_points`, field `ref_code`), the estimator of
# Olofsson et al. (2014) corrects the class areas for the errors and gives their standard
# errors; the forest share then comes with a 95 % interval. (Its denominator is the mapped land
# area, not the polygons', so it differs slightly from section 3.)

# %%
reference = read_vector(region.reference_points, to_crs=grid.crs, field="ref_code")
sample = reference_sample(reference.gdf, "ref_code", lc2020, max_cells=MAX_CELLS)
mapped = strata_areas(lc2020, max_cells=MAX_CELLS)
px, area_m2 = mapped.total()
codes = sorted(set(np.flatnonzero(px).tolist()) | set(sample.ref_code.tolist()) | set(sample.map_code.tolist()))
est = stratified_estimate(error_matrix(sample.map_code, sample.ref_code, codes), area_m2[codes] / 1e4, codes=codes)
print(f"{sample.map_code.size} reference points used (dropped: {sample.dropped}); "
      f"overall accuracy {est.overall_accuracy:.1%} ± {1.96 * est.overall_accuracy_se:.1%}")
display(pd.DataFrame({"class": [f"{c} {scheme.by_code[c].name_zh}" for c in codes], "map_area_ha": est.map_area,
                      "adjusted_area_ha": est.adjusted_area, "ci95_ha": est.adjusted_area_ci,
                      "users_accuracy": est.users_accuracy, "producers_accuracy": est.producers_accuracy}))
forest_cov = coverage_dict(est, scheme, ("forest",))
print(f"forest coverage: map {forest_cov['map_share']:.2%}, adjusted {forest_cov['adjusted_share']:.2%} "
      f"± {forest_cov['ci95']:.2%} (95 % CI {forest_cov['ci95_low']:.2%}–{forest_cov['ci95_high']:.2%}); "
      f"target {target.value:.1%} met by the CI's low end: {target.is_met(forest_cov['ci95_low'])}")

fig, ax = plt.subplots(figsize=(6, 2.5))
ax.errorbar([forest_cov["adjusted_share"] * 100], [0], xerr=[forest_cov["ci95"] * 100], fmt="o", capsize=5,
            label="误差校正 / adjusted ± 95 % CI")
ax.plot([forest_cov["map_share"] * 100], [0.15], "s", label="地图像元计数 / map pixel count")
ax.axvline(target.value * 100, color="#d73027", ls="--", label=f"目标 / target {target.value:.1%}")
ax.set_yticks([])
ax.set_ylim(-0.5, 0.6)
ax.set_xlabel("森林覆盖率 / forest coverage (%)")
ax.legend(fontsize=8, loc="upper left")
show(fig)

# %% [markdown]
# ## 6. 2015→2020 年变化 / Change 2015 → 2020
#
# One pass over both years counts the area of every (banner × class before × class after)
# transition. Stock change = area × (density after − density before); gains and losses are
# kept apart, and gains − losses = net change exactly. Soil carbon is counted in full over the
# five years, so the annual figure is an upper bound for soil.

# %%
pair_area, pair_slots = area_table(lc2015, lc2020)
change = change_account(pair_area, densities.per_class(), scheme, pair_slots.codes, years=(2015, 2020))
by_zone_change = zone_change(change, ids, zone_names)
display(by_zone_change[["zone", "changed_area_ha", "stock_before_mgc", "stock_after_mgc", "gross_gain_mgc",
                        "gross_loss_mgc", "net_change_mgc", "annual_sequestration_mt_co2e_per_yr"]])
assert np.allclose(by_zone_change.gross_gain_mgc - by_zone_change.gross_loss_mgc, by_zone_change.net_change_mgc)
matrix = group_matrix(change, ids)  # ha, rows 2015, columns 2020
display(matrix)

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
ax1.barh(by_zone_change.zone, by_zone_change.net_change_mgc / 1e3, color="#1a9850")
ax1.set_xlabel("净变化 / net change (Gg C)")
ax1.set_title("2015→2020 碳储量净变化 / net stock change")
off = matrix.to_numpy().copy()
np.fill_diagonal(off, np.nan)  # what changed, not what stayed
im = ax2.imshow(off, cmap="Oranges")
ax2.set_xticks(range(len(matrix.columns)), matrix.columns, rotation=45, ha="right")
ax2.set_yticks(range(len(matrix.index)), matrix.index)
ax2.set_xlabel("2020")
ax2.set_ylabel("2015")
ax2.set_title("地类转移面积 / transitions (ha)")
fig.colorbar(im, ax=ax2, shrink=0.8)
fig.tight_layout()
show(fig)

# %% [markdown]
# ## 小结 / In short
#
# - 碳储量按旗县和盟市汇总，盟市是旗县之和，区间来自同一组蒙特卡洛抽样。 Stocks by banner and league;
#   leagues are exact sums of banners, intervals from the same Monte Carlo draws.
# - 覆盖率、差距和达标年份都取决于土地面积口径和是否计入灌木林。 Coverage, gap and target year depend on
#   the land-area denominator and on counting shrubland.
# - 精度校正给出覆盖率的置信区间；报告时同时给出地图值和校正值。 The adjusted coverage carries a confidence
#   interval; report both the map figure and the adjusted one.
# - The same numbers come out of `sinkplan carbon`, `sinkplan coverage`, `sinkplan area-estimate`
#   and `sinkplan change` as result folders with a manifest (see the reviewer notebook).
