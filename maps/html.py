"""Render a :class:`~sinkplan.maps.model.MapSpec` as one self-contained HTML page.

Leaflet's script and style sheet come from the installed PyPI package
``django-js-lib-leaflet`` (read with :mod:`importlib.resources`) and are inlined, with
Leaflet's images turned into ``data:`` URIs; nothing is loaded from the network unless an
online basemap was asked for. All map data travels in one ``application/json`` script
element written by :func:`sinkplan.maps.escape.json_for_script`; the page's script puts every value
into the DOM as text.
"""

from __future__ import annotations

import base64
import re
from functools import lru_cache
from importlib import resources

from sinkplan.maps.app_js import APP_CSS, APP_JS
from sinkplan.maps.escape import html_text, json_for_script
from sinkplan.maps.i18n import label
from sinkplan.maps.model import MapSpec

__all__ = ["render_html", "leaflet_assets", "EXTERNAL_RESOURCE"]

#: A resource reference that a browser would fetch from the network.
EXTERNAL_RESOURCE = re.compile(
    r"""(?:\b(?:src|poster|srcset)\s*=\s*["']?\s*(?:https?:)?//)"""  # img/script/iframe/video sources
    r"""|(?:<link\b[^>]*\bhref\s*=\s*["']?\s*(?:https?:)?//)"""  # style sheets, fonts, icons
    r"""|(?:url\(\s*["']?\s*(?:https?:)?//)"""  # CSS images and fonts
    r"""|(?:@import\s+["']?(?:url\()?\s*["']?(?:https?:)?//)""",
    re.IGNORECASE,
)

#: Tile URL templates, written into the page only for the basemap asked for.
TILES = {
    "tianditu": {"url": "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
                        "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
                        "&TILECOL={x}&tk=", "subdomains": "01234567", "attribution": "天地图 Tianditu"},
    "gaode": {"url": "http://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=7&x={x}&y={y}&z={z}",
              "subdomains": "1234", "attribution": "高德地图 AutoNavi"},
    "osm": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "subdomains": "abc",
            "attribution": "© OpenStreetMap contributors"},
}

_UI_KEYS = ("no_basemap", "tianditu_vec", "tianditu_img", "gaode", "osm", "coords", "legend_more")


@lru_cache(maxsize=1)
def leaflet_assets() -> tuple[str, str]:
    """(leaflet.js, leaflet.css with images as data: URIs) from django-js-lib-leaflet."""
    root = resources.files("js_lib_leaflet").joinpath("static", "js_lib_leaflet")
    js = root.joinpath("leaflet.js").read_text(encoding="utf-8")
    js = re.sub(r"//# sourceMappingURL=\S+", "", js)
    css = root.joinpath("leaflet.css").read_text(encoding="utf-8")

    def inline(m: re.Match) -> str:
        name = m.group(1)
        data = root.joinpath("images", name).read_bytes()
        return f'url("data:image/png;base64,{base64.b64encode(data).decode("ascii")}")'

    css = re.sub(r"""url\(\s*["']?images/([A-Za-z0-9_.-]+\.png)["']?\s*\)""", inline, css)
    return js, css


def _safe_inline_script(js: str) -> str:
    """Script text that cannot end its element early (``</script`` split)."""
    return re.sub(r"</(script)", r"<\\/\1", js, flags=re.IGNORECASE)


def _sha256_source(script: str) -> str:
    import hashlib

    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii") + "'"


def render_html(spec: MapSpec, *, csp: bool = True) -> str:
    """The complete HTML page of a map.

    Parameters
    ----------
    spec : MapSpec
    csp : bool
        Add a Content-Security-Policy that allows only the page's own two scripts (by hash),
        inline styles, ``data:`` images and, with an online basemap, its tile host. A second
        line of defence: escaping alone keeps user data inert (tests check it with
        ``csp=False``).
    """
    js, css = leaflet_assets()
    js, app = _safe_inline_script(js), _safe_inline_script(APP_JS)
    w_s_e_n = spec.bounds
    data = {
        "title": spec.title,
        "lang": spec.lang,
        "basemap": spec.basemap,
        "tiandituKey": spec.tianditu_key if spec.basemap == "tianditu" else None,
        "tiles": TILES.get(spec.basemap, {}),
        "bounds": [[w_s_e_n[1], w_s_e_n[0]], [w_s_e_n[3], w_s_e_n[2]]] if w_s_e_n else None,
        "geometries": spec.geometries,
        "layers": [layer.to_json() for layer in spec.layers],
        "notes": spec.notes,
        "text": {k: label(k, spec.lang) for k in _UI_KEYS},
    }
    lang_attr = "zh-CN" if spec.lang == "zh" else "en"
    return "\n".join([
        "<!DOCTYPE html>",
        f'<html lang="{lang_attr}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # no network unless a basemap was asked for: the browser enforces it too
        f'<meta http-equiv="Content-Security-Policy" content="{_csp(spec.basemap, [js, app])}">' if csp else "",
        f"<title>{html_text(spec.title)}</title>",
        f"<style>{css}</style>",
        f"<style>{APP_CSS}</style>",
        "</head>",
        "<body>",
        '<div id="map"></div>',
        f'<div id="sp-title">{html_text(spec.title)}</div>',
        f'<script id="sinkplan-data" type="application/json">{json_for_script(data)}</script>',
        f"<script>{js}</script>",
        f"<script>{app}</script>",
        "</body>",
        "</html>",
        "",
    ])


def _csp(basemap: str, scripts: list[str]) -> str:
    """Content-Security-Policy: our scripts (by hash), inline styles, data: images, tile hosts."""
    img = "data:"
    if basemap == "tianditu":
        img += " https://*.tianditu.gov.cn"
    elif basemap == "gaode":
        img += " http://*.is.autonavi.com https://*.is.autonavi.com"
    elif basemap == "osm":
        img += " https://tile.openstreetmap.org"
    return (f"default-src 'none'; script-src {' '.join(_sha256_source(x) for x in scripts)}; style-src 'unsafe-inline'; img-src {img}; "
            "font-src 'none'; connect-src 'none'")
