"""``sinkplan demo --out DIR``: build the synthetic demo region and run every step on it.

Inputs go to ``DIR/inputs/``; each step writes its result folder under ``DIR/`` and the
paths are printed at the end. Steps are listed in :data:`DEMO_STEPS` as
``"module:function"``; each function takes ``(region, out_dir, ctx)`` and returns the
paths it wrote.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import shutil
import time
from pathlib import Path

from sinkplan.layers.errors import OutputExists
from sinkplan.layers.writing import write_error
from sinkplan.context import RunContext

logger = logging.getLogger(__name__)

#: The demo's steps, in order. Later capabilities append theirs.
DEMO_STEPS: tuple[str, ...] = (
    "sinkplan.cmd_demo:landcover_step",
    "sinkplan.sinks_demo:carbon_step",
    "sinkplan.sinks_demo:coverage_step",
    "sinkplan.sinks_demo:change_step",
    "sinkplan.sinks_demo:restoration_step",
    "sinkplan.cmd_site:site_step",
    "sinkplan.cmd_learn:learn_step",
    "sinkplan.cmd_map:maps_step",  # keep last: maps whatever result folders the steps above wrote
)


def register(sub, common) -> None:
    p = sub.add_parser("demo", parents=[common], help="build the synthetic demo region and run every step on it",
                       description="Build the synthetic demo region (a plausible, clearly synthetic part of "
                       "Inner Mongolia) under OUT/inputs and run every analysis on it.")
    p.add_argument("--out", default="sinkplan-demo", help="output folder (default: ./sinkplan-demo)")
    p.add_argument("--seed", type=int, default=2025, help="random seed of the synthetic region")
    p.add_argument("--scale", type=float, default=1.0, help="pixel-count scale of the region (1.0 ≈ 3.6 Mpx)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing demo folder")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: RunContext) -> int:
    from sinkplan.layers.resultfolder import check_replaceable, claim
    from sinkplan.seeds.demo import demo_shape

    out = Path(args.out)
    demo_shape(args.scale)  # a bad --scale is refused before anything exists
    if out.exists() and not out.is_dir():
        raise OutputExists(f"{out}: exists and is not a folder; choose another --out")
    with claim(out, what="demo folder"):  # a second demo into the same folder fails at once
        old = None
        if out.exists() and any(out.iterdir()):
            if not args.overwrite:
                raise OutputExists(f"{out}: folder exists and is not empty; pass --overwrite or choose another --out")
            # only a folder a previous demo wrote (its manifest.json lists every entry) is replaced
            check_replaceable(out, what="demo folder")
            # kept aside until the new demo is complete: a failed or interrupted run puts it back
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.replace(out, old)
        existed = out.exists()
        out.mkdir(parents=True, exist_ok=True)
        try:
            code = _build(args, ctx, out)
        except BaseException as exc:
            # a full disk is judged before the half-built demo is removed (and frees it)
            err = write_error(exc, out, assume_write=False) if isinstance(exc, Exception) else None
            shutil.rmtree(out, ignore_errors=True)  # nothing half-built is kept
            if old is not None:
                os.replace(old, out)
            elif existed:
                out.mkdir(exist_ok=True)
            if err is not None:
                raise err from exc
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return code


def _build(args: argparse.Namespace, ctx: RunContext, out: Path) -> int:
    import datetime as dt

    from sinkplan.layers import resultspec as rs
    from sinkplan.layers.resultfolder import package_versions, write_json_atomic
    from sinkplan.seeds.demo import build_demo

    started = dt.datetime.now(dt.timezone.utc)

    t0 = time.perf_counter()
    with ctx.progress("building the demo region") as progress:
        region = build_demo(out / "inputs", seed=args.seed, scale=args.scale, progress=progress)
    logger.info("demo inputs in %s (%.1f s)", out / "inputs", time.perf_counter() - t0)
    written: list[tuple[str, Path]] = [("inputs", out / "inputs")]
    for spec in DEMO_STEPS:
        module, _, func = spec.partition(":")
        step = getattr(importlib.import_module(module), func)
        t1 = time.perf_counter()
        paths = step(region, out, ctx)
        logger.info("demo step %s done in %.1f s", func, time.perf_counter() - t1)
        written += [(func.removesuffix("_step"), Path(p)) for p in paths]
    # the demo folder's own manifest: every entry, so --overwrite knows a demo wrote them all
    entries = sorted(p.name + ("/" if p.is_dir() else "") for p in out.iterdir() if p.name != rs.MANIFEST.name)
    write_json_atomic(out / rs.MANIFEST.name, {
        "command": "demo", "parameters": {"seed": args.seed, "scale": args.scale}, "entries": entries,
        "versions": package_versions(), "started": started.isoformat(timespec="seconds"),
        "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")})
    print(f"sinkplan demo: done in {time.perf_counter() - t0:.1f} s")
    for name, p in written:
        print(f"  {name:<12} {p}")
    return 0


def landcover_step(region, out: Path, ctx: RunContext) -> list[Path]:
    """Per-class pixels and ellipsoidal areas of both demo land-cover years."""
    from sinkplan.layers.landcover import class_table, open_landcover
    from sinkplan.layers import resultspec as rs
    from sinkplan.results import ResultFolder

    paths = [region.landcover_2015, region.landcover_2020]
    with ResultFolder(out / "landcover", lang=ctx.lang, kind="landcover", command="demo:landcover", parameters={"scheme": "clcd"},
                      inputs=paths, overwrite=True) as rf:
        summary = {}
        for year, path in zip((2015, 2020), paths):
            lc = open_landcover(path, "clcd")
            with ctx.progress(f"classes {year}") as progress:
                table = class_table(lc, max_cells=ctx.max_cells, progress=progress)
            rf.write_csv(rs.CLASSES_YEAR.name.format(year=year), table)
            summary[str(year)] = {
                "area_ha": lc.grid.total_area_m2() / 10_000.0,
                "land_area_ha": float(table.area_ha.sum()),
                "classes": table[["code", "name_en", "group", "pixels", "area_ha"]].to_dict("records"),
            }
        rf.write_summary(summary)
    return [out / "landcover"]
