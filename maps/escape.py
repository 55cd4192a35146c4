"""Escaping user-derived text for HTML and JavaScript contexts.

Every value that comes from user data (zone names, attribute values, titles, folder names)
reaches the map page by one of two routes:

- **HTML text or attributes** (the page title, the heading): :func:`html_text` escapes
  ``& < > " '`` and the backtick.
- **Inside a ``<script>`` element** as data: :func:`json_for_script` serialises to JSON and
  then escapes ``< > &``, the backtick, ``$``, quotes, backslashes-in-strings (JSON already
  escapes them), and U+2028/U+2029, so no value can close the script element (``</script>``),
  open an HTML comment, start a template-literal substitution (``${``) or break a JavaScript
  string. The page's script reads the data with ``JSON.parse`` and puts every value into the
  DOM as a text node (``textContent``), never as HTML.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["html_text", "json_for_script", "js_string"]

_HTML = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "'": "&#39;",
    "`": "&#96;",
}

# JSON string escapes that keep the text inert in every script context. JSON.parse turns
# each back into the original character.
_JS = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "'": "\\u0027",
    "`": "\\u0060",
    "$": "\\u0024",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_JS_TABLE = str.maketrans(_JS)
_HTML_TABLE = str.maketrans(_HTML)


def html_text(value: Any) -> str:
    """Escape a value for HTML text or a quoted attribute.

    Examples
    --------
    >>> html_text("<img src=x onerror=alert(1)>")
    '&lt;img src=x onerror=alert(1)&gt;'
    >>> html_text("`${x}` & 'y'")
    '&#96;${x}&#96; &amp; &#39;y&#39;'
    """
    return str(value).translate(_HTML_TABLE)


def _clean(obj: Any) -> Any:
    """Make an object JSON-safe: NaN/inf become null, numpy scalars plain numbers."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    try:  # numpy scalars
        import numpy as np

        if isinstance(obj, np.integer):
            return int(obj)
        if isinstance(obj, np.floating):
            v = float(obj)
            return v if math.isfinite(v) else None
        if isinstance(obj, np.bool_):
            return bool(obj)
    except ImportError:  # pragma: no cover
        pass
    return str(obj)


def json_for_script(obj: Any) -> str:
    """JSON text safe to place inside a ``<script>`` element (any type).

    The result is valid JSON (``JSON.parse`` gives back ``obj``) and valid JavaScript, and
    contains none of ``< > & ' ` $`` nor U+2028/U+2029 literally.

    Examples
    --------
    >>> json_for_script({"zone": "</script><script>alert(`1`)</script>"})
    '{"zone":"\\\\u003c/script\\\\u003e\\\\u003cscript\\\\u003ealert(\\\\u00601\\\\u0060)\\\\u003c/script\\\\u003e"}'
    """
    try:  # fast path: plain JSON data (the geometry tables are large)
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_default)
    except ValueError:  # NaN or infinity somewhere: clean the whole object
        text = json.dumps(_clean(obj), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.translate(_JS_TABLE)


def _default(o: Any) -> Any:
    """JSON form of numpy scalars and anything else (as text); NaN raises ValueError."""
    cleaned = _clean(o)
    if cleaned is None and o is not None:
        raise ValueError("not finite")
    return cleaned


def js_string(value: Any) -> str:
    """A JavaScript string literal (double-quoted) for ``value``, safe in a script element."""
    return json_for_script(str(value))
