"""``sinkplan map`` (offline HTML map) and ``sinkplan figures`` (PNG figures) of result folders."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from sinkplan.layers.errors import OutputError, OutputExists
from sinkplan.layers.writing import check_output_path, guarded_write
from sinkplan.context import RunContext

logger = logging.getLogger(__name__)


def register(sub, common) -> None:
    p = sub.add_parser(
        "map", parents=[common], help="one offline HTML map of result folders",
        description="Draw result folders of carbon, coverage, change and site as one self-contained HTML "
        "map (Leaflet inlined, no network unless an online basemap is asked for).")
    p.add_argument("results", nargs="+", metavar="RESULT_DIR", help="result folder(s)")
    p.add_argument("--out", required=True, metavar="FILE.html", help="HTML file to write")
    p.add_argument("--lang", choices=("zh", "en"), default="zh", help="label language (default zh)")
    p.add_argument("--basemap", choices=("none", "tianditu", "gaode", "osm"), default="none",
                   help="online basemap (default none: offline); gaode shifts overlays to GCJ-02")
    p.add_argument("--tianditu-key", metavar="KEY", help="Tianditu token (else the TIANDITU_KEY variable)")
    p.add_argument("--title", help="map title (default: what the results are, with technology and years)")
    p.add_argument("--label-field", metavar="FIELD",
                   help="zone-layer field written on the map as zone names (default: name_zh / name_en by --lang "
                   "when the zones have it, else the zone field)")
    p.add_argument("--max-pixels", type=int, default=1_000_000, metavar="N",
                   help="pixels per raster overlay (default 1000000; the page stays under 15 MB)")
    p.add_argument("--png", action="store_true", help="also write PNG figures beside the HTML (FILE_figures/)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.set_defaults(func=run_map)

    f = sub.add_parser(
        "figures", parents=[common], help="PNG figures of a result folder",
        description="Charts and maps (PNG) of a result folder: carbon by zone and pool, coverage against the "
        "target and its trajectory, capacity by zone type against the 200 GW target.")
    f.add_argument("result", metavar="RESULT_DIR", help="result folder")
    f.add_argument("--out", metavar="DIR", help="output folder (default: RESULT_DIR_figures beside it)")
    f.add_argument("--lang", choices=("zh", "en"), default="zh", help="label language (default zh)")
    f.add_argument("--paper", choices=("a4", "a3"), default="a4",
                   help="sheet of the print-ready thematic map (专题图), landscape (default a4)")
    f.add_argument("--projection", choices=("auto", "lonlat", "albers"), default="auto",
                   help="projection of the thematic map: albers (equal-area conic on CGCS2000, for a league or "
                   "a province), lonlat, or auto (default: albers when the extent spans more than 3°)")
    f.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    f.set_defaults(func=run_figures)


def run_map(args: argparse.Namespace, ctx: RunContext) -> int:
    from sinkplan.maps.build import build_map, resolve_tianditu_key
    from sinkplan.maps.folders import expand_results, open_result

    out = Path(args.out)
    if out.is_dir():
        raise OutputError(f"{out}: is a folder; give the HTML file to write, e.g. --out {out / 'map.html'}")
    if out.suffix.lower() not in (".html", ".htm"):  # `--out m4` writes m4.html, which a browser opens
        out = out.with_name(out.name + ".html")
    if out.is_dir():
        raise OutputError(f"{out}: is a folder; give a file name for the map, e.g. --out {out.with_suffix('') / 'map.html'}")
    if out.exists() and not args.overwrite:
        raise OutputExists(f"{out}: exists; pass --overwrite to replace it or choose another --out")
    check_output_path(out)
    results = {Path(r): expand_results([r]) for r in args.results}  # a pv,wind account: its pv/ and wind/
    for r in (q for qs in results.values() for q in qs):  # validate every input before writing anything
        open_result(r)
    resolve_tianditu_key(args.tianditu_key, args.basemap)
    with ctx.progress("drawing the map") as progress:
        html = build_map(args.results, lang=args.lang, basemap=args.basemap, tianditu_key=args.tianditu_key,
                         title=args.title, max_pixels=args.max_pixels, max_cells=ctx.max_cells, progress=progress,
                         label_field=args.label_field)
    _write_text(out, html)
    print(out)
    if args.png:
        fig_dir = out.with_name(out.stem + "_figures")
        for top, inner in results.items():
            for p in _figures(top, fig_dir / top.name, lang=args.lang, ctx=ctx, overwrite=True, inner=inner):
                print(p)
    return 0


def run_figures(args: argparse.Namespace, ctx: RunContext) -> int:
    from sinkplan.maps.folders import expand_results, open_result

    result = Path(args.result)
    inner = expand_results([result])  # a pv,wind account: its own figure, and those of pv/ and wind/ in OUT/pv, OUT/wind
    for r in inner:
        open_result(r)
    out = Path(args.out) if args.out else result.with_name(result.name + "_figures")
    for p in _figures(result, out, lang=args.lang, ctx=ctx, overwrite=args.overwrite, paper=args.paper,
                      projection=args.projection, inner=inner):
        print(p)
    return 0


def _figures(result: Path, out: Path, *, lang: str, ctx: RunContext, overwrite: bool, paper: str = "a4",
             projection: str = "auto", inner: list[Path] | None = None) -> list[Path]:
    """Figures of one result folder written as a result folder of their own (atomic, manifest).

    ``inner``: the technology folders a ``--tech pv,wind`` folder stands for
    (:func:`sinkplan.maps.folders.expand_results`): the account's own figure at the top, each
    technology's figures in ``OUT/<tech>``."""
    from sinkplan.maps.figures import account_figures, write_figures
    from sinkplan.results import ResultFolder

    inputs = [p for p in sorted(result.iterdir()) if p.is_file()]
    params = {"result": str(result), "lang": lang, "paper": paper, "projection": projection}
    parts = [r for r in (inner or []) if r != result]
    with ResultFolder(out, command="figures", parameters=params, inputs=inputs, overwrite=overwrite) as rf:
        assert rf.dir is not None
        if not parts:
            names = [p.name for p in write_figures(result, rf.dir, lang=lang, max_cells=ctx.max_cells, paper=paper,
                                                      projection=projection)]
        else:
            names = []
            for name, fig in account_figures(result, lang=lang).items():
                fig.savefig(rf.dir / name)
                names.append(name)
            for r in parts:
                names += [f"{r.name}/{p.name}" for p in write_figures(r, rf.dir / r.name, lang=lang, max_cells=ctx.max_cells,
                                                                      paper=paper, projection=projection)]
    return [out / n for n in names]


def _write_text(out: Path, text: str) -> None:
    import os

    from sinkplan.layers.outputs import atomic_path

    with guarded_write(out):
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = atomic_path(out)
        try:
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, out)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


def maps_step(region, out: Path, ctx: RunContext) -> list[Path]:
    """Maps (zh and en) and figures of every result folder the demo wrote, and one map of all."""
    from sinkplan.layers.errors import SinkplanError
    from sinkplan.maps.build import write_map
    from sinkplan.maps.folders import open_result

    folders = []
    for d in sorted(p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if d.name in ("inputs", "maps") or d.name.endswith("_figures"):
            continue
        try:
            folders.append(open_result(d).path)
        except SinkplanError as exc:  # not a mappable result folder (e.g. the land-cover tables)
            logger.info("demo maps: %s skipped (%s)", d, exc)
    maps_dir = out / "maps"
    maps_dir.mkdir(exist_ok=True)
    written: list[Path] = []
    for d in folders:
        for lang in ("zh", "en"):
            try:
                written.append(write_map(maps_dir / f"{d.name}_{lang}.html", [d], lang=lang,
                                         max_cells=ctx.max_cells, allow_empty=False))
            except SinkplanError as exc:
                logger.info("demo maps: %s", exc)
                break
        figs = _figures(d, maps_dir / f"{d.name}_figures", lang="zh", ctx=ctx, overwrite=True)
        if figs:
            written += figs
        else:
            import shutil

            shutil.rmtree(maps_dir / f"{d.name}_figures", ignore_errors=True)
    if len(folders) > 1:
        written.append(write_map(maps_dir / "all_zh.html", folders, lang="zh", max_cells=ctx.max_cells))
    if not folders:
        logger.warning("demo maps: no result folder found under %s", out)
    return written
