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

from sinkplan.layers.landcover import class_table, open_landcover
from sinkplan.layers.vectors import read_vector
from sinkplan.maps.figures import (
    carbon_by_zone_figure,
    coverage_by_zone_figure,
    coverage_trajectory_figure,
)
from sinkplan.maps.fonts import cjk_rc
from sinkplan.seeds.demo import DemoRegion, build_demo
from sinkplan.seeds.targets import load_targets
from sinkplan.sinks.api import carbon_stocks, estimate_areas, forest_coverage, land_change
from sinkplan.sinks.densities import load_densities
from sinkplan.sinks.stocks import CO2_PER_C
from sinkplan.sinks.strata import OUTSIDE_ZONES, prepare_strata
from sinkplan.sinks.uncertainty import interval

plt.rcParams.update(cjk_rc())  # a CJK font for the Chinese labels (empty if none is installed)
pd.set_option("display.float_format", lambda v: f"{v:,.4g}")
WORK = Path(tempfile.mkdtemp(prefix="sinkplan-nb1-"))  # the zone raster of this session


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
# The banners are rasterized once onto the land-cover grid (`prepare_strata`) and that zone
# raster serves every call below; `carbon_stocks(..., zones=path, zone_field=...)` would
# rasterize them itself.

# %%
table = load_densities("inner_mongolia_30cm")
print(table.meta.get("title", ""), "| soil depth", table.soil_depth_cm, "cm")
densities = table.resolve(scheme)
display(pd.DataFrame(densities.per_class(), columns=["c_above", "c_below", "c_soil", "c_dead"],
                     index=pd.Index([f"{c} {scheme.by_code[c].name_zh}" for c in densities.codes], name="class")))

strata = prepare_strata(grid, zones=region.banners, zone_field=region.zone_field, folder=WORK, max_cells=MAX_CELLS)
carbon = carbon_stocks(lc2020, densities=table, strata=strata, uncertainty=MC_DRAWS, seed=SEED, max_cells=MAX_CELLS)
acc, mc, zone_names = carbon.account, carbon.monte_carlo, strata.names  # zone_names[0]: outside every banner
by_banner = carbon.by_zone  # the table `sinkplan carbon` writes as stocks_by_zone.csv
display(by_banner[["zone", "area_ha", "stock_mgc_above", "stock_mgc_below", "stock_mgc_soil", "stock_mgc_dead",
                   "stock_mgc", "stock_mgc_p2_5", "stock_mgc_p97_5", "stock_mt_co2e"]])

# %% [markdown]
# Leagues (盟市) are unions of banners, so their stocks are sums of the banners' (exact, see
# `sinkplan.sinks.stocks`), and their interval comes from the *same* Monte Carlo draws summed over the
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
total = acc.stock_mgc[1:].sum()  # inside the banners
assert np.isclose(by_league.stock_mgc.sum(), total, rtol=1e-12)  # leagues add up to the banners
mean, lo, hi = interval(mc.total)
print(f"total {carbon.summary['stock_mgc'] / 1e6:,.2f} Tg C (95 % interval {lo / 1e6:,.2f}–{hi / 1e6:,.2f} Tg C), "
      f"{carbon.summary['stock_mt_co2e']:,.1f} Mt CO2e")

fig = carbon_by_zone_figure(by_banner, lang="zh")
ax = fig.axes[0]
order = [t.get_text() for t in ax.get_yticklabels()]
err = by_banner.set_index("zone").loc[order]
ax.errorbar(err.stock_mgc / 1e6, range(len(order)), fmt="none", color="black", capsize=3,
            xerr=[(err.stock_mgc - err.stock_mgc_p2_5) / 1e6, (err.stock_mgc_p97_5 - err.stock_mgc) / 1e6])
show(fig)

# %% [markdown]
# ## 3. 森林覆盖率（国家口径）与目标 / Forest coverage by the national definition, and the trajectory
#
# Coverage = (tree forest + 国家特别规定灌木林地 special shrubland [+ 四旁树/农田林网]) ÷ land area.
# Special shrubland is shrubland in counties with mean annual precipitation below 400 mm and cover
# above 30 % (林资发〔2004〕14号); in Inner Mongolia it was 94.55 % of all shrubland in 2013, so it moves
# coverage by several points. `forest_coverage` applies the rule from the data given: here the demo's
# synthetic precipitation raster (`precip=`; a county field `precip_field=`, a cover raster
# `shrub_cover=` or a designated layer `special_shrub=` work the same way). Without such data the
# rule is not applied: `coverage` stays empty and the two bounds are reported, trees only and all
# shrub, with a warning. The land area is each banner polygon's geodesic area (pass
# `land_area_ha=` with the official figure when you have it). Leagues (盟市) are totals of their
# banners (`group_by="league_zh"`).
#
# A provincial target (23.5 % by 2025) is not a banner's target: it is compared only with a run that
# covers the province (or with `provincial_target=True`); per-banner or per-league targets come from a
# table (`targets="targets.csv"`: zone, indicator, value, year).

# %%
target = load_targets()["forest_coverage"]
print(f"target {target.value:.1%} by {target.year}: {target.clause} ({target.source})")
official = forest_coverage({2015: lc2015, 2020: lc2020}, strata=strata, zones=region.banners,
                           zone_field=region.zone_field, group_by="league_zh", precip=region.precipitation,
                           max_cells=MAX_CELLS)
no_data = forest_coverage({2015: lc2015, 2020: lc2020}, strata=strata, max_cells=MAX_CELLS)  # rule not applicable
print(official.summary["definition"])
print("rule:", official.summary["special_shrub_rule"]["data"], "|", official.summary["special_shrub_rule"]["note"])
cov = official.by_zone[["zone", "zone_level", "year", "forest_area_ha", "special_shrub_area_ha", "shrub_area_ha",
                        "coverage", "coverage_trees_only", "coverage_all_shrub"]]
display(cov.pivot_table(index=["zone_level", "zone"], columns="year",
                        values=["coverage", "coverage_trees_only", "coverage_all_shrub"]))
t_off, t_none = official.totals.set_index("year"), no_data.totals.set_index("year")
for y in (2015, 2020):
    print(f"{y}: official {t_off.loc[y, 'coverage']:.2%} (special shrubland {t_off.loc[y, 'special_shrub_area_ha']:,.0f} of "
          f"{t_off.loc[y, 'shrub_area_ha']:,.0f} ha of shrub); without rule data only the bounds "
          f"{t_none.loc[y, 'coverage_trees_only']:.2%} – {t_none.loc[y, 'coverage_all_shrub']:.2%} "
          f"({t_none.loc[y, 'special_shrub_rule']})")
print("provincial target compared:", official.summary["target"]["applies_to_total"], "—", official.summary["target"]["why"])

# %%
trend = official.trend_by_zone
display(trend[["zone", "zone_level", "annual_change", "annual_forest_change_ha", "target_year_at_this_rate", "note"]])
banners_only = official.by_zone[(official.by_zone.zone_level == "zone") & (official.by_zone.zone != OUTSIDE_ZONES)]
show(coverage_by_zone_figure(banners_only, target=target.value, lang="zh"))  # the line is the provincial reference
show(coverage_trajectory_figure(banners_only, target=target.value, target_year=None, lang="zh"))

# %% [markdown]
# ## 4. 森林蓄积量（按层） / Stock volume by stratum
#
# Stock volume is a property of tree forest (special shrubland holds none): the shipped table gives
# 77.6 m³/ha on the 2013 inventory basis (13.45 亿 m³ on 1,732.85 万 ha of 有林地) and 86.9 m³/ha on the
# 2018 basis (15.27 亿 m³ on 1,756.2 万 ha); each map year takes the latest basis not after it. A table
# may also key values by zone or a zone attribute (e.g. a `region` column), or a volume raster can
# replace it (`volume={2020: path}`). The change between years splits into an **area effect** (new
# forest at the old volume per hectare) and a **growth effect** (more volume per hectare): in the
# province, growth per hectare drove most of the 2013–2018 rise.

# %%
display(official.volume_by_zone.pivot_table(index=["zone_level", "zone"], columns="year", values="volume_m3"))
display(official.volume_change[["zone", "zone_level", "from_year", "to_year", "volume_change_m3", "area_effect_m3",
                                "growth_effect_m3"]])
vol = official.summary["volume"]
last = vol["by_year"][-1]
print(f"{last['year']}: {last['volume_m3']:,.0f} m³ on {last['forest_area_ha']:,.0f} ha of tree forest "
      f"({last['volume_m3_per_ha']:.1f} m³/ha); provincial target compared: {vol['target_applies']} — {vol['why']}")

# %% [markdown]
# ## 5. 精度校正的覆盖率 / Accuracy-adjusted coverage with its confidence interval
#
# A map's forest area is a pixel count, and the map has errors. With a stratified random
# reference sample (here: the demo's `reference_points`, field `ref_code`), the estimator of
# Olofsson et al. (2014) corrects the class areas for the errors and gives their standard
# errors; the forest share then comes with a 95 % interval. (Its denominator is the mapped land
# area, not the polygons', so it differs slightly from section 3.)

# %%
adjusted = estimate_areas(lc2020, region.reference_points, ref_field="ref_code", max_cells=MAX_CELLS)
est, forest_cov = adjusted.estimate, adjusted.summary["forest_coverage"]
print(f"{adjusted.sample.map_code.size} reference points used (dropped: {adjusted.sample.dropped}); "
      f"overall accuracy {est.overall_accuracy:.1%} ± {1.96 * est.overall_accuracy_se:.1%}")
display(adjusted.classes[["code", "name_zh", "map_area_ha", "adjusted_area_ha", "ci95_ha", "users_accuracy",
                          "producers_accuracy"]])
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
# ## 6. 2015→2020 年变化：固碳量与平衡态差 / Change 2015 → 2020: sequestration versus the equilibrium difference
#
# One pass over both years counts the area of every (banner × class before × class after)
# transition. Two figures come out of that table, and they answer different questions:
#
# - **平衡态碳储量差 / equilibrium change** (`equilibrium_change_mgc`): area × (density after −
#   density before). It is what the stocks *will* differ by once every converted pixel has reached
#   the mean density of its new class: grassland planted in 2017 is booked at once with the soil
#   carbon and the standing biomass of a mature forest. It is a **potential**, not what the
#   land took up between 2015 and 2020.
# - **固碳量 / sequestration** (`sequestration_mgc`, the default figure): the IPCC 2006 Tier 1
#   transition-period method. A change seen between two maps is taken to happen mid-interval
#   (`--conversion-timing`), so in 2020 the land has been in its new class for 2.5 years; soil
#   carbon moves to the new class's stock linearly over D = 20 years (`--transition-years`),
#   so only 2.5/20 of the soil difference has accrued; biomass grows at a sourced rate per group
#   (`seeds/growth/biomass_growth.csv`), capped at the new class's density; biomass and dead-wood
#   **losses are immediate**. What has not accrued yet is `remaining_to_equilibrium_mgc`.
#
# Report sequestration upward (it is the method a forestry bureau checks); the equilibrium
# change says what the same land-cover change is worth in the long run. Both add up exactly:
# gains − losses = change, zones sum to the whole.

# %%
change = land_change(lc2015, lc2020, years=(2015, 2020), densities=table, strata=strata, max_cells=MAX_CELLS)
by_zone_change = change.by_zone
print(change.summary["method"]["sequestration"], "|", change.summary["method"]["source"][:90], "…")
display(by_zone_change[["zone", "changed_area_ha", "sequestration_mgc", "equilibrium_change_mgc",
                        "remaining_to_equilibrium_mgc", "annual_sequestration_mt_co2e_per_yr"]])
assert np.allclose(by_zone_change.sequestration_gain_mgc - by_zone_change.sequestration_loss_mgc,
                   by_zone_change.sequestration_mgc)
assert np.allclose(by_zone_change.equilibrium_gain_mgc - by_zone_change.equilibrium_loss_mgc,
                   by_zone_change.equilibrium_change_mgc)
s = change.summary
changed = s["changed_area_ha"]
print(f"on {changed:,.0f} ha of changed land: sequestration {s['sequestration_mgc'] / changed / 5:,.2f} Mg C/ha/yr, "
      f"equilibrium difference {s['equilibrium_change_mgc'] / changed / 5:,.2f} Mg C/ha/yr "
      f"(ratio {s['sequestration_mgc'] / s['equilibrium_change_mgc']:.2f})")
pools = pd.DataFrame({"sequestration_mgc": [s[f"sequestration_mgc_{p}"] for p in ("above", "below", "soil", "dead")],
                      "equilibrium_change_mgc": [s[f"equilibrium_change_mgc_{p}"] for p in ("above", "below", "soil", "dead")]},
                     index=pd.Index(["above", "below", "soil", "dead"], name="pool"))
display(pools)  # the soil pool is where the two methods differ most
matrix = change.transition_matrix  # ha, rows 2015, columns 2020
display(matrix)

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
yy = np.arange(len(by_zone_change))
ax1.barh(yy - 0.2, by_zone_change.sequestration_mgc / 1e3, height=0.4, color="#1a9850", label="固碳量 / sequestration")
ax1.barh(yy + 0.2, by_zone_change.equilibrium_change_mgc / 1e3, height=0.4, color="#bbbbbb",
         label="平衡态差 / equilibrium change")
ax1.set_yticks(yy, by_zone_change.zone)
ax1.legend(fontsize=8)
ax1.set_xlabel("Gg C, 2015→2020")
ax1.set_title("固碳量与平衡态差 / sequestration vs equilibrium change")
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
# - 覆盖率按国家口径：乔木林 + 国家特别规定灌木林地（降水 < 400 mm、盖度 > 30 %）；无数据时只给上下限。
#   Coverage follows the national definition (tree forest + special shrubland by the precipitation / cover
#   rule); without the data only the bounds are given. Provincial targets are compared only with a run
#   covering the province; banners and leagues take their own targets.
# - 精度校正给出覆盖率的置信区间；报告时同时给出地图值和校正值。 The adjusted coverage carries a confidence
#   interval; report both the map figure and the adjusted one.
# - 固碳量按IPCC过渡期法计算（土壤20年线性变化，生物量按生长速率，损失即时），平衡态差是长期潜力。
#   Sequestration follows the IPCC transition periods (soil over 20 years, biomass at a growth rate,
#   losses at once); the equilibrium change is the long-run potential, not what 2015–2020 took up.
# - The same tables come out of `sinkplan carbon`, `sinkplan coverage`, `sinkplan area-estimate`
#   and `sinkplan change` as result folders with a manifest (see the reviewer notebook): the
#   functions called here are the ones those commands run.
