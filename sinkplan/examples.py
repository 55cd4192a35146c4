"""Example command lines shown at the end of every command's ``--help``.

Kept in one table (not in each command module) so that every command gets them the same
way and a test can parse each example with the real parser: an example that no longer
parses (a renamed option) fails the suite instead of misleading a user.
"""

from __future__ import annotations

import argparse
import textwrap

__all__ = ["EXAMPLES", "add_examples", "EXAMPLES_HEADING"]

EXAMPLES_HEADING = "examples:"

#: Two or three command lines per command, on the demo's file names (``sinkplan demo`` writes them).
EXAMPLES: dict[str, tuple[str, ...]] = {
    "demo": (
        "sinkplan demo --out sinkplan-demo --overwrite",
        "sinkplan demo --out demo-small --scale 0.5 --seed 7 -q",
    ),
    "info": (
        "sinkplan info sinkplan-demo/inputs/landcover_2020.tif --scheme clcd",
        "sinkplan info sinkplan-demo/inputs/banners.gpkg --json",
    ),
    "carbon": (
        "sinkplan carbon lc2020.tif --zones banners.gpkg --zone-field name_zh --out carbon2020",
        "sinkplan carbon lc2020.tif --scheme clcd --zones banners.gpkg --zone-field name_zh "
        "--redline redline.gpkg --uncertainty 1000 --out carbon2020",
        "sinkplan carbon wc.vrt --scheme worldcover --densities my_table.csv --no-raster --out carbon_wc",
    ),
    "coverage": (
        "sinkplan coverage 2015=lc2015.tif 2020=lc2020.tif --zones banners.gpkg --zone-field name_zh "
        "--group-by league_zh --precip precip_mm.tif --out coverage",
        "sinkplan coverage 2020=lc2020.tif --zones banners.gpkg --zone-field name_zh "
        "--land-area-ha land_area.csv --count-shrub --out coverage_shrub",
    ),
    "change": (
        "sinkplan change 2015=lc2015.tif 2020=lc2020.tif --zones banners.gpkg --zone-field name_zh "
        "--group-by league_zh --transition-years 20 --out change",
        "sinkplan change 2015=lc2015.tif 2020=lc2020.tif --zones restoration.gpkg --zone-field project "
        "--control-ring-km 2 --out restoration",
    ),
    "map": (
        "sinkplan map carbon2020 --out carbon.html",
        "sinkplan map carbon2020 coverage site_pv --lang en --out all_en.html",
        "sinkplan map site_pv --basemap tianditu --tianditu-key KEY --png --out site_pv.html",
    ),
    "figures": (
        "sinkplan figures carbon2020",
        "sinkplan figures site_pv --lang en --paper a3 --out site_pv_figures_en",
    ),
    "site": (
        "sinkplan site --landcover lc2020.tif --dem dem.tif --redline redline.gpkg --farmland farmland.gpkg "
        "--deserts deserts.gpkg --border border.gpkg --mines mines.gpkg --tech pv --out site_pv",
        "sinkplan site --landcover lc2020.tif --dem dem.tif --redline redline.gpkg --tech wind --out site_wind",
        "sinkplan site --landcover lc2020.tif --dem dem.tif --deserts deserts.gpkg --tech pv "
        "--sweep pv.max_slope_deg=3,5,10 --out site_pv_sweep",
    ),
    "classify": (
        "sinkplan classify image_2020.tif --samples training_points.gpkg --label-field label --out classify",
        "sinkplan classify image_2020.tif --samples training_points.gpkg --label-field label --model hgb "
        "--cv-folds 5 --out classify_hgb",
    ),
    "area-estimate": (
        "sinkplan area-estimate classify/landcover.tif --reference reference_points.gpkg --ref-field ref_code "
        "--out area_estimate",
        "sinkplan area-estimate lc2020.tif --design --target-se 0.01 --out sample_design",
    ),
    "density-model": (
        "sinkplan density-model --plots plots.gpkg --target-field density_mgc_per_ha --covariates dem.tif "
        "--landcover lc2020.tif --out density_model",
        "sinkplan carbon lc2020.tif --density-raster density_model/density_mgc_per_ha.tif --out carbon_plots",
    ),
}


def _wrap(text: str | None, width: int = 78) -> str | None:
    """A description re-wrapped once (RawDescriptionHelpFormatter would keep one long line)."""
    if not text:
        return text
    paras = [p for p in text.split("\n\n")]
    return "\n\n".join(textwrap.fill(" ".join(p.split()), width) for p in paras)


def add_examples(subparsers: argparse._SubParsersAction) -> None:
    """Give every registered command an ``examples:`` epilog (kept verbatim in ``--help``)."""
    for name, parser in subparsers.choices.items():
        lines = EXAMPLES.get(name)
        if not lines:
            continue
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
        parser.description = _wrap(parser.description)
        parser.epilog = EXAMPLES_HEADING + "\n" + "\n".join("  " + line for line in lines)
