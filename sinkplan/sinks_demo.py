"""Demo steps of the sinks commands (listed in :data:`sinkplan.cmd_demo.DEMO_STEPS`).

Each step runs the real command, through its own argument parser, on the demo region.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
from pathlib import Path

from sinkplan.context import RunContext

__all__ = ["carbon_step", "coverage_step", "change_step", "restoration_step"]


def _run(command: str, argv: list[str], ctx: RunContext) -> None:
    module = importlib.import_module(f"sinkplan.cmd_{command}")
    parser = argparse.ArgumentParser(prog=f"sinkplan {command}")
    sub = parser.add_subparsers()
    module.register(sub, argparse.ArgumentParser(add_help=False))
    args = parser.parse_args([command, *argv])
    module.run(args, dataclasses.replace(ctx, overwrite=True))


def carbon_step(region, out: Path, ctx: RunContext) -> list[Path]:
    """Carbon stocks of 2020 per banner and league, inside/outside the redline, 200 Monte Carlo draws."""
    dest = out / "carbon"
    _run("carbon", [str(region.landcover_2020), "--zones", str(region.banners), "--zone-field", region.zone_field,
                    "--group-by", "league_zh", "--redline", str(region.redline), "--uncertainty", "200", "--seed", "2025",
                    "--out", str(dest)], ctx)
    return [dest]


def coverage_step(region, out: Path, ctx: RunContext) -> list[Path]:
    """Forest coverage by the national definition (special shrubland where the synthetic precipitation is
    below 400 mm) per banner and league in 2015 and 2020, its trend and the stock volume by inventory basis."""
    dest = out / "coverage"
    _run("coverage", [f"2015={region.landcover_2015}", f"2020={region.landcover_2020}", "--zones", str(region.banners),
                      "--zone-field", region.zone_field, "--group-by", "league_zh", "--precip", str(region.precipitation),
                      "--out", str(dest)], ctx)
    return [dest]


def change_step(region, out: Path, ctx: RunContext) -> list[Path]:
    """Transitions, sequestration by transition periods and the equilibrium change 2015 → 2020 per banner and
    league and inside/outside the redline."""
    dest = out / "change"
    _run("change", [f"2015={region.landcover_2015}", f"2020={region.landcover_2020}", "--zones", str(region.banners),
                    "--zone-field", region.zone_field, "--group-by", "league_zh", "--redline", str(region.redline),
                    "--out", str(dest)], ctx)
    return [dest]


def restoration_step(region, out: Path, ctx: RunContext) -> list[Path]:
    """Restoration effect 2015 → 2020: mine-restoration polygons (1 km rings) and ecological projects (2 km rings)."""
    mines, projects = out / "restoration_mines", out / "restoration_projects"
    common = [f"2015={region.landcover_2015}", f"2020={region.landcover_2020}", "--no-raster"]
    _run("change", [*common, "--zones", str(region.mines), "--zone-field", "name", "--control-ring-km", "1",
                    "--out", str(mines)], ctx)
    _run("change", [*common, "--zones", str(region.restoration), "--zone-field", "project", "--control-ring-km", "2",
                    "--out", str(projects)], ctx)
    return [mines, projects]
