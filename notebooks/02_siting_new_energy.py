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
# # 新能源基地选址 / Siting new-energy bases
#
# **读者 / For:** 国土空间规划人员 / land planners.
#
# 内蒙古碳达峰方案要求到 2030 年风电、光伏装机超过 2 亿千瓦（200 GW）。光伏基地优先布局在沙漠戈壁、
# 边境地带和采煤沉陷区（矿区修复地），不得占用生态保护红线和永久基本农田。本笔记本回答：哪些土地被排除、
# 为什么；剩下的土地在哪些重点区域；能形成哪些地块和基地、装机多少；坡度和缓冲距离的取舍对 200 GW
# 目标意味着什么；以及建设会影响多少碳储量。
#
# The carbon-peak plan wants more than 200 GW of wind and solar by 2030, with PV bases in
# desert and gobi, the border belt and mine-restoration land, outside the ecological redline
# and permanent farmland. This notebook screens the **synthetic demo region** (invented
# shapes and values) for PV with `siting/`: what is excluded and why, the zones of interest,
# parcels and candidate bases with their capacity, how the slope limit and a buffer trade off
# against the 200 GW target, and the carbon the parcels hold.

# %% tags=["parameters"]
# 参数 / Parameters. The demo folder is the one `sinkplan demo --out DIR` writes (its `inputs/`
# are read here); the tests set SINKPLAN_DEMO_DIR. Without it the demo inputs are built here.
import os
from pathlib import Path

DEMO_DIR = Path(os.environ.get("SINKPLAN_DEMO_DIR", "../sinkplan-demo"))
DEMO_SCALE = 0.3  # pixel-count scale when the inputs have to be built
SLOPES_DEG = [3, 5, 10]  # sweep of the PV slope limit
BORDER_BELTS_M = [10_000, 20_000, 40_000]  # sweep of the border belt: the buffer around the border line
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

from sinkplan.maps.figures import capacity_figure
from sinkplan.maps.fonts import cjk_rc
from sinkplan.seeds.demo import DemoRegion, build_demo
from sinkplan.sinks.stocks import CO2_PER_C
from sinkplan.siting.parcels import ELIGIBLE_COLORS
from sinkplan.siting.prepare import ScreenInputs, VectorCache, prepare
from sinkplan.siting.profile import ZONE_CODES, load_profile, with_overrides
from sinkplan.siting.screen import run_screen, screen_capacity

plt.rcParams.update(cjk_rc())  # a CJK font for the Chinese labels (empty if none is installed)
pd.set_option("display.float_format", lambda v: f"{v:,.4g}")
WORK = Path(tempfile.mkdtemp(prefix="sinkplan-nb2-"))  # rasters of this session's screens


def show(fig):
    """Show a matplotlib figure inline as a PNG (whatever the backend, Agg included) and release it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    display(Image(buf.getvalue()))
    plt.close(fig)


inputs = DEMO_DIR / "inputs"
if not (inputs / "demo_region.json").exists():
    build_demo(inputs, scale=DEMO_SCALE)
info = json.loads((inputs / "demo_region.json").read_text(encoding="utf-8"))
region = DemoRegion(**{k: inputs / v["path"] for k, v in info["files"].items()},
                    manifest=inputs / "demo_region.json", zone_field=info["zone_field"])
print(info["description"])

# %% [markdown]
# ## 1. 选址参数 / The siting profile
#
# Every number of the screen lives in a TOML profile with its source (policy document,
# industry figure or a marked sinkplan assumption). The shipped PV profile: land per MW from
# the no-shading row-spacing rule at each pixel's latitude (34 MW/km² at Kubuqi, 40.4°N),
# slope ≤ 10° and north-facing slopes ≤ 3° (TD/T 1075-2023's 3° and 20° only sort terrain
# classes), parcels of 30 to 3 000 ha, forest, wetland, water, built land and cropland excluded,
# and the layers 自然资办发〔2023〕12号 names (basic grassland, Class I forest land, …), each
# with its clause. No land-cover setbacks: the former 500 m / 400 m were wind-turbine setbacks.

# %%
profile = load_profile("pv")
tech = profile.technology
display(pd.DataFrame([
    {"key": "pv.power_density_mw_per_km2", "value": tech.power_density_mw_per_km2},
    {"key": "pv.max_slope_deg", "value": tech.max_slope_deg},
    {"key": "pv.min_parcel_area_ha", "value": tech.min_parcel_area_ha},
    {"key": "pv.max_parcel_area_ha", "value": tech.max_parcel_area_ha},
    {"key": "pv.max_north_slope_deg", "value": tech.max_north_slope_deg},
    {"key": "pv.layout.module_w_per_m2", "value": tech.layout.module_w_per_m2},
    {"key": "pv.layout.array_land_share", "value": tech.layout.array_land_share},
    {"key": "cost.capex_cny_per_kw", "value": profile.cost.capex_cny_per_kw},
    {"key": "carbon.emission_factor_t_co2_per_mwh", "value": profile.carbon.emission_factor_t_co2_per_mwh},
    {"key": "exclusions.landcover_groups", "value": ", ".join(profile.exclusions.landcover_groups)},
    *[{"key": f"exclusions.landcover_buffers_m.{g}", "value": m} for g, m in profile.exclusions.landcover_buffers_m.items()],
    {"key": "exclusions.redline.buffer_m", "value": profile.exclusions.redline.buffer_m},
    {"key": "zones.border.width_m", "value": profile.zones.border.width_m},
    {"key": "bases.distance_m", "value": profile.bases.distance_m},
]).assign(source=lambda d: [profile.source.get(k, "") for k in d.key]))
display(pd.DataFrame([{"layer": k, "clause": r.clause} for k, r in profile.exclusions.policy.items()]))

# %% [markdown]
# ## 2. 排除区及原因 / Exclusions and why
#
# `prepare` reads and checks every input before anything is written (a missing redline or
# farmland layer is an error: the profile requires them) and gives each rule one bit;
# `run_screen` streams the blocks, joins the eligible pixels into 8-connected parcels across
# block edges and writes three rasters: `exclusions.tif` (one bit per rule), `eligible.tif`
# (1 desert, 2 border, 3 mine) and `parcels.tif`.

# %%
screen_inputs = ScreenInputs(
    landcover=region.landcover_2020, dem=region.dem, redline=region.redline, farmland=region.farmland,
    border=region.border, deserts=region.deserts, mines=region.mines,
    grid_lines=(region.grid_lines, region.substations), zones=region.banners, zone_field=region.zone_field,
    ghi=region.ghi, precipitation=region.precipitation, installed=region.installed)  # synthetic rasters and plants
cache = VectorCache()  # vector layers read once for this screen and the sweeps below
prep = prepare(screen_inputs, profile, workdir=WORK, cache=cache)
paths = {name: WORK / f"{name}.tif" for name in ("exclusions", "eligible", "parcels")}
result = run_screen(prep, workdir=WORK, exclusions_path=paths["exclusions"], eligible_path=paths["eligible"],
                    parcels_raster_path=paths["parcels"], max_cells=MAX_CELLS)
summary = result.summary
print(f"{summary['mapped_area_ha']:,.0f} ha screened, {summary['eligible_area_ha']:,.0f} ha eligible in "
      f"{summary['parcels']} parcels, {summary['capacity_mw'] / 1e3:,.1f} GW"
      + (" — an UPPER BOUND" if summary["capacity_is_upper_bound"] else ""))
# The layers the profile requires but this run does not have: named, never silently skipped.
display(pd.DataFrame(summary["not_checked"])[["rule", "name_zh", "option", "effect"]])

# %% [markdown]
# A pixel can break several rules, so the rule areas overlap. The column `only_this_rule_ha`
# is the land that this rule alone keeps out: what relaxing it would free (for the slope, the
# limit; for the redline, nothing can be freed, that is the point of it). It is counted from
# `exclusions.tif` block by block.

# %%
bits = pd.DataFrame(summary["exclusion_bits"])
only = np.zeros(len(bits))
with rasterio.open(paths["exclusions"]) as src:
    for _, window in src.block_windows(1):
        b = src.read(1, window=window).astype(np.int64)
        areas = prep.grid.pixel_areas_m2(window) / 1e4  # ground area of each pixel, ha
        for i, value in enumerate(bits["value"]):
            only[i] += areas[b == value].sum()  # this bit and no other
bits["only_this_rule_ha"] = only
display(bits[["rule", "description", "area_ha", "only_this_rule_ha"]])

fig, ax = plt.subplots(figsize=(8, 4.5))
ax.barh(bits.rule[::-1], bits.area_ha[::-1] / 1e3, color="#bdbdbd", label="规则适用 / rule applies")
ax.barh(bits.rule[::-1], bits.only_this_rule_ha[::-1] / 1e3, color="#d73027", label="仅此规则 / this rule alone")
ax.set_xlabel("面积 / area (kha)")
ax.set_title("排除原因 / why land is excluded")
ax.legend(fontsize=8)
show(fig)

# %% [markdown]
# ## 3. 重点区域 / Zones of interest
#
# Eligible land is labelled with the zone it lies in: desert and gobi (沙漠戈壁), the border
# belt (边境地带, 20 km on both sides of the line) and mine restoration (矿区修复); where zones
# overlap, the one of highest priority wins. Land outside every zone is excluded (rule
# `outside_zones`), unless the profile enables the zone `other`.

# %%
by_zone = pd.DataFrame(summary["by_zone_type"]).T.rename_axis("zone_type")
by_zone["share_of_capacity"] = by_zone.capacity_mw / by_zone.capacity_mw.sum()
display(by_zone)

with rasterio.open(paths["eligible"]) as src:  # a reduced read for the figure
    step = max(1, int(np.ceil(max(src.width, src.height) / 800)))
    eligible = src.read(1, out_shape=(src.height // step, src.width // step))
rgba = np.zeros((*eligible.shape, 4))
for code, color in ELIGIBLE_COLORS.items():
    rgba[eligible == code] = np.array(color) / 255
w, s, e, n = prep.grid.bounds
fig, ax = plt.subplots(figsize=(9, 5.5))
ax.imshow(rgba, extent=(w, e, s, n), interpolation="nearest")
result.parcels.boundary.plot(ax=ax, color="black", linewidth=0.3)
result.bases.boundary.plot(ax=ax, color="#2166ac", linewidth=1.2)
for _, b in result.bases.head(5).iterrows():
    p = b.geometry.representative_point()
    ax.annotate(f"基地 {b.base_id}", (p.x, p.y), color="#2166ac", fontsize=8, ha="center")
ax.set_aspect(1 / np.cos(np.radians((s + n) / 2)))
names = {"desert": "沙漠戈壁 / desert", "border": "边境 / border", "mine": "矿区 / mine", "other": "其他 / other"}
zone_color = {zone: np.array(ELIGIBLE_COLORS[code]) / 255 for zone, code in ZONE_CODES.items()}
for zone in ZONE_CODES:
    ax.plot([], [], "s", color=zone_color[zone], label=names[zone])
ax.plot([], [], color="#2166ac", label="候选基地 / candidate base")
ax.legend(fontsize=8, loc="lower right")
ax.set_title("可用土地、地块与基地 / eligible land, parcels and bases")
show(fig)

# %% [markdown]
# ## 4. 地块与基地 / Parcels and bases
#
# Each parcel has an exact ground area, a capacity (area × 34 MW/km²), its slope, distance to
# the grid, carbon at stake, compactness and zone; the score weights these criteria (weights in
# the profile) and ranks the parcels. Parcels whose centroids chain within 10 km form a
# candidate base.

# %%
parcels = pd.DataFrame(result.parcels.drop(columns="geometry")).sort_values("rank")
display(parcels[["rank", "parcel_id", "zone_type", "admin_zone", "area_ha", "capacity_mw", "slope_mean_deg",
                 "distance_to_grid_km", "stock_mgc_per_ha", "compactness", "score", "base_id"]].head(10))
bases = pd.DataFrame(result.bases.drop(columns="geometry"))
display(bases[["base_id", "parcels", "area_ha", "capacity_mw", "zone_types", "admin_zones", "best_rank"]].head(10))
# Capacity is the sum over pixels of MW/km² × km²: check it on the table; no parcel exceeds the maximum.
assert np.allclose(parcels.capacity_mw, parcels.area_ha / 100 * parcels.mw_per_km2)  # ha → km²
assert (parcels.area_ha <= tech.max_parcel_area_ha).all()

# %% [markdown]
# ## 5. 坡度与缓冲区情景 / Slope and buffer sweep against 200 GW
#
# A sweep reruns only the first pass and the parcel joining (no rasters written) for each
# value, with the rest of the profile unchanged: the slope limit (3° is the strictest terrain
# class, 5° and 10° are what a planner may argue for) and the width of the border belt, the
# buffer drawn around the border line (20 km in the profile; the planning belt is a choice).
# Any key works the same way, e.g. `exclusions.redline.buffer_m` or
# `exclusions.landcover_buffers_m.built`.

# %%
sweep_rows = []
for key, values in (("pv.max_slope_deg", SLOPES_DEG), ("zones.border.width_m", BORDER_BELTS_M)):
    for value in values:
        p = prepare(screen_inputs, with_overrides(profile, {key: value}), workdir=WORK, keep_rasters=False, cache=cache)
        cap = screen_capacity(p, max_cells=MAX_CELLS)
        sweep_rows.append({"key": key, "value": value, "parcels": cap["parcels"], "eligible_area_ha": cap["eligible_area_ha"],
                           "capacity_gw": cap["capacity_mw"] / 1e3, "gap_gw": cap["gap_mw"] / 1e3,
                           **{f"gw_{z}": d["capacity_mw"] / 1e3 for z, d in cap["by_zone_type"].items()}})
sweep = pd.DataFrame(sweep_rows)
display(sweep)

fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
for ax, (key, g) in zip(axes, sweep.groupby("key", sort=False)):
    bottom = np.zeros(len(g))
    for zone in ("desert", "border", "mine"):
        ax.bar(g.value.astype(str), g[f"gw_{zone}"], bottom=bottom, color=zone_color[zone], label=names[zone])
        bottom += g[f"gw_{zone}"].to_numpy()
    ax.axhline(summary["target_mw"] / 1e3, color="#d73027", ls="--", label="目标 / target 200 GW")
    ax.set_xlabel(key)
    ax.set_title(key)
axes[0].set_ylabel("装机 / capacity (GW)")
axes[0].legend(fontsize=8)
fig.suptitle("情景对比 / sweep against the 200 GW target")
fig.tight_layout()
show(fig)
show(capacity_figure(summary["by_zone_type"], target_mw=summary["target_mw"], lang="zh"))

# %% [markdown]
# ## 6. 受影响的碳储量 / Carbon at stake
#
# Building a PV base clears the vegetation: the carbon at stake of a parcel is its biomass and
# dead-matter carbon (pools `above`, `below`, `dead` of the density table; soil carbon is
# assumed to stay). Desert and gobi hold little, which is one more reason they rank first.

# %%
print(f"pools counted: {', '.join(profile.carbon.pools)} ({profile.carbon.density_table})")
stake = parcels.groupby("zone_type")[["area_ha", "capacity_mw", "stock_mgc"]].sum()
stake["stock_mgc_per_ha"] = stake.stock_mgc / stake.area_ha
stake["stock_mt_co2e"] = stake.stock_mgc * CO2_PER_C / 1e6
stake["mgc_per_mw"] = stake.stock_mgc / stake.capacity_mw
stake.loc["(total)"] = stake.sum()
stake.loc["(total)", ["stock_mgc_per_ha", "mgc_per_mw"]] = (stake.loc["(total)", "stock_mgc"] / stake.loc["(total)", "area_ha"],
                                                           stake.loc["(total)", "stock_mgc"] / stake.loc["(total)", "capacity_mw"])
display(stake)
assert np.isclose(stake.loc["(total)", "stock_mgc"], summary["stock_mgc"])

fig, ax = plt.subplots(figsize=(7, 4))
for zone, g in parcels.groupby("zone_type"):
    ax.scatter(g.capacity_mw, g.stock_mgc_per_ha, s=12, alpha=0.7, color=zone_color[zone], label=names[zone])
ax.set_xscale("log")
ax.set_xlabel("地块装机 / parcel capacity (MW)")
ax.set_ylabel("碳密度 / carbon at stake (Mg C/ha)")
ax.set_title("地块碳储量 / carbon at stake per parcel")
ax.legend(fontsize=8)
show(fig)

# %% [markdown]
# ## 7. 诚实的目标核算 / An honest account against the target
#
# Five banners are not Inner Mongolia, so `share_of_target` is not computed; the account states
# the baseline (plants already built or approved, `--installed`, synthetic here), what the
# screen found and the gap. Wind is screened on the land PV left (PV first: several times the
# energy per km²), so no pixel is counted twice; the supply curve orders all parcels by LCOE.

# %%
from sinkplan.siting.screen import supply_curve

wind_inputs = ScreenInputs(**{**screen_inputs.__dict__, "ghi": None, "wind_speed": region.wind_speed,
                              "claimed": paths["parcels"], "claimed_by": "pv"})
wind_paths = {name: WORK / f"wind_{name}.tif" for name in ("exclusions", "eligible", "parcels")}
wind = run_screen(prepare(wind_inputs, load_profile("wind"), workdir=WORK, cache=cache), workdir=WORK,
                  exclusions_path=wind_paths["exclusions"], eligible_path=wind_paths["eligible"],
                  parcels_raster_path=wind_paths["parcels"], max_cells=MAX_CELLS)
with rasterio.open(paths["parcels"]) as a, rasterio.open(wind_paths["parcels"]) as b:
    assert not ((a.read(1) > 0) & (b.read(1) > 0)).any()  # no pixel in both
screened = summary["capacity_mw"] + wind.summary["capacity_mw"]
account = pd.DataFrame([
    {"item": "目标 / target", "gw": summary["target_mw"] / 1e3},
    {"item": "已建和已批 / installed and approved (baseline)", "gw": summary["installed_mw"] / 1e3},
    {"item": "缺口 / gap", "gw": summary["gap_mw"] / 1e3},
    {"item": "筛选光伏 / screened PV (upper bound)", "gw": summary["capacity_mw"] / 1e3},
    {"item": "筛选风电 / screened wind (upper bound)", "gw": wind.summary["capacity_mw"] / 1e3},
    {"item": "筛选后剩余缺口 / gap left after the screen", "gw": max(summary["gap_mw"] - screened, 0) / 1e3},
])
display(account)
print(summary["share_of_target_note"])
curve = pd.concat([supply_curve(result.parcels, "pv"), supply_curve(wind.parcels, "wind")]).sort_values("lcoe_cny_per_mwh")
fig, ax = plt.subplots(figsize=(8, 4))
ax.step(curve.capacity_mw.cumsum() / 1e3, curve.lcoe_cny_per_mwh, where="pre", color="black")
ax.set_xlabel("累计装机 / cumulative capacity (GW)")
ax.set_ylabel("平准化度电成本 / LCOE (CNY/MWh)")
ax.set_title("供给曲线 / supply curve")
show(fig)
display(parcels[["rank", "parcel_id", "capacity_mw", "mw_per_km2", "energy_mwh_per_yr", "capacity_factor",
                 "lcoe_cny_per_mwh", "carbon_payback_years", "terrain_class"]].head(10))

# %% [markdown]
# ## 小结 / In short
#
# - 排除规则按位记录，每块土地被排除的原因都可追溯。 Every excluded pixel keeps the bits of the rules
#   that exclude it, so each reason can be traced and its weight measured.
# - 在演示区，沙漠戈壁提供了大部分装机；坡度放宽到 5° 增加的容量有限，边境带宽度影响更大。 In the demo
#   region desert and gobi carry most of the capacity; relaxing the slope limit adds little, the
#   border belt's width much more. The sweep puts a number on each choice against 200 GW.
# - 缺少的政策图层逐一列出，容量为上限；已建装机是基线，光伏与风电不重复计地。 Missing policy layers are named
#   and the capacity is an upper bound; installed plants are the baseline and no pixel counts twice.
# - `sinkplan site --tech pv,wind --ghi … --wind-speed … --installed …` writes the same account.
# - The same screen is `sinkplan site --tech pv ... --sweep pv.max_slope_deg=3,5,10`, which writes
#   the rasters, `parcels.gpkg`, `bases.gpkg` and `summary.json` into a result folder.
