"""Build one offline HTML map from one or more result folders."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Callable

from sinkplan.layers.errors import ConfigError, InputError
from sinkplan.maps.builder import MapBuilder
from sinkplan.maps.folders import ResultInfo, expand_results, open_result
from sinkplan.maps.html import render_html
from sinkplan.maps.i18n import LANGS, label
from sinkplan.maps.model import BASEMAPS, MapSpec
from sinkplan.maps.sinks_layers import carbon_layers, change_layers, coverage_layers
from sinkplan.maps.siting_layers import siting_layers

__all__ = ["build_map", "write_map", "resolve_tianditu_key", "MAX_HTML_BYTES", "DEFAULT_MAX_PIXELS"]

logger = logging.getLogger(__name__)

#: Hard bound on the size of one HTML map (the issue's 15 MB, with a margin).
MAX_HTML_BYTES = 14 * 1000 * 1000
#: Pixel budget of each raster overlay.
DEFAULT_MAX_PIXELS = 1_000_000
#: Coordinate budget of each vector geometry table.
DEFAULT_MAX_COORDS = 150_000

_LOADERS = {"carbon": carbon_layers, "coverage": coverage_layers, "change": change_layers, "site": siting_layers}


def resolve_tianditu_key(key: str | None, basemap: str) -> str | None:
    """The Tianditu token from the flag or ``TIANDITU_KEY``; an error if Tianditu lacks one."""
    if basemap != "tianditu":
        return None
    key = key or os.environ.get("TIANDITU_KEY")
    if not key:
        raise ConfigError("--basemap tianditu needs a token: pass --tianditu-key KEY or set TIANDITU_KEY "
                          "(free at the Tianditu developer site), or use --basemap none")
    return key


def _check_options(lang: str, basemap: str, max_pixels: int) -> None:
    if lang not in LANGS:
        raise ConfigError(f"--lang {lang!r}: choose one of {', '.join(LANGS)}")
    if basemap not in BASEMAPS:
        raise ConfigError(f"--basemap {basemap!r}: choose one of {', '.join(BASEMAPS)}")
    if max_pixels < 10_000:
        raise ConfigError(f"--max-pixels {max_pixels}: give at least 10000")


def build_map(
    folders: list[str | Path],
    *,
    lang: str = "zh",
    basemap: str = "none",
    tianditu_key: str | None = None,
    title: str | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_cells: int = 4 * 1024 * 1024,
    max_bytes: int = MAX_HTML_BYTES,
    csp: bool = True,
    allow_empty: bool = True,
    progress: Callable[[float, str], None] | None = None,
    label_field: str | None = None,
) -> str:
    """The HTML text of a map of result folders.

    Parameters
    ----------
    folders : list of paths
        Result folders of ``sinkplan carbon``, ``coverage``, ``change`` or ``site``.
    lang : {"zh", "en"}
    basemap : {"none", "tianditu", "gaode", "osm"}
        ``gaode`` shifts every overlay from WGS84 to GCJ-02.
    tianditu_key : str, optional
        Token for Tianditu (else ``TIANDITU_KEY``).
    title : str, optional
    max_pixels : int
        Pixel budget of each raster overlay; halved until the page fits ``max_bytes``.
    max_cells : int
        Source cells per raster read (memory bound).
    allow_empty : bool
        If False, a map without any layer is an error (InputError).
    label_field : str, optional
        Field of the zone layers written on the map as zone names (default: ``name_<lang>``
        when the zones have it, e.g. ``name_en`` on English maps, else the zone field).

    Raises
    ------
    ConfigError, InputError, InputFileError
    """
    _check_options(lang, basemap, max_pixels)
    key = resolve_tianditu_key(tianditu_key, basemap)
    infos = [open_result(f) for f in expand_results(folders)]  # a pv,wind account: both technologies
    if not infos:
        raise ConfigError("give at least one result folder")
    pixels, coords = max_pixels, DEFAULT_MAX_COORDS
    while True:
        html = _build_once(infos, lang=lang, basemap=basemap, key=key, title=title, max_pixels=pixels,
                           max_coords=coords, max_cells=max_cells, csp=csp, allow_empty=allow_empty,
                           progress=progress, label_field=label_field)
        size = len(html.encode("utf-8"))
        if size <= max_bytes or pixels <= 10_000:
            break
        logger.info("map is %.1f MB > %.1f MB: rebuilding with fewer pixels and coordinates", size / 1e6, max_bytes / 1e6)
        pixels, coords = max(10_000, pixels // 2), max(10_000, coords // 2)
    logger.info("map: %.2f MB", size / 1e6)
    return html


def map_title(infos: list[ResultInfo], lang: str) -> str:
    """What the map shows: each result's title (result, technology, years), joined."""
    from sinkplan.maps.titles import result_title

    titles = list(dict.fromkeys(result_title(i.kind, i.path, i.summary, i.manifest, lang) for i in infos))
    if len(titles) > 3:
        return label("title", lang) + (" — " if lang == "en" else "：") + ("、" if lang == "zh" else "; ").join(titles)
    return (" · ").join(titles) or label("title", lang)


def result_short_names(infos: list[ResultInfo], lang: str) -> list[str]:
    """One distinct short name per result of a map (see :func:`sinkplan.maps.titles.result_short_name`);
    a name two results share gets a number."""
    from sinkplan.maps.titles import result_short_name

    names = [result_short_name(i.kind, i.path, i.summary, i.manifest, lang) for i in infos]
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if names.count(n) == 1 else f"{n} {seen[n]}")
    return out


def prefix_layers(layers: list, prefix: str) -> None:
    """Put ``prefix · `` before each layer's name and its legend's title (when the legend is titled
    by the layer's name), so the layer list and the legend of a map of several results never
    show two entries of one name."""
    for layer in layers:
        legend = getattr(layer, "legend", None)
        if legend is not None and legend.title and not legend.title.startswith(prefix):
            old, legend.title = legend.title, f"{prefix} · {legend.title}"
            if len(legend.items) == 1 and legend.items[0][1] == old:  # a one-swatch legend shows the item only
                legend.items = [(legend.items[0][0], legend.title)]
        if not layer.name.startswith(prefix):
            layer.name = f"{prefix} · {layer.name}"


def one_thematic_layer_on(layers: list) -> None:
    """Leave on only the first thematic layer a loader turned on (the others stay in the layer list):
    two colourings of the map at once (a density raster under a density choropleth) hide each other."""
    on = False
    for layer in layers:
        if not getattr(layer, "thematic", False):
            continue
        if layer.visible and not on:
            on = True
        else:
            layer.visible = False


def _build_once(infos: list[ResultInfo], *, lang, basemap, key, title, max_pixels, max_coords, max_cells, csp,
                allow_empty, progress, label_field=None) -> str:
    spec = MapSpec(title=title or map_title(infos, lang), lang=lang, basemap=basemap, tianditu_key=key,
                   label_field=label_field)
    if basemap == "gaode":
        spec.notes.append(label("gcj_note", lang))
    builder = MapBuilder(spec, max_pixels=max_pixels, max_cells=max_cells, max_coords=max_coords, progress=progress)
    short = result_short_names(infos, lang) if len(infos) > 1 else None
    for i, info in enumerate(infos):
        logger.info("mapping %s (%s)", info.path, info.kind)
        first = len(spec.layers)
        _LOADERS[info.kind](builder, info.path, info.summary, info.manifest)
        if short is not None:  # several results on one map: each layer says whose it is
            prefix_layers(spec.layers[first:], short[i])
    one_thematic_layer_on(spec.layers)
    if not spec.layers:
        where = ", ".join(str(i.path) for i in infos)
        if not allow_empty:
            raise InputError(f"{where}: nothing to map (no raster or vector layer of the result-folder contract)")
        logger.warning("no layer found in %s", where)
    return render_html(spec, csp=csp)


def write_map(out: str | Path, folders: list[str | Path], **options) -> Path:
    """Build a map (see :func:`build_map`) and write it atomically to ``out``."""
    from sinkplan.layers.outputs import atomic_path

    html = build_map(folders, **options)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = atomic_path(out)
    try:
        Path(tmp).write_text(html, encoding="utf-8")
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out
