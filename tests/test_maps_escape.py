"""Escaping of user-derived text for HTML and script contexts."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sinkplan.maps.escape import html_text, json_for_script, js_string

NASTY = [
    "<img src=x onerror=alert(1)>",
    "</script><script>alert(1)</script>",
    "${alert(1)}",
    "`; alert(1); `",
    "\\\"); alert(1); //",
    "' onmouseover='alert(1)",
    "<!-- <script>",
    "a\u2028b\u2029c",
    "&lt;already&gt; & raw",
]


@pytest.mark.parametrize("text", NASTY)
def test_json_for_script_round_trips_and_has_no_active_characters(text):
    out = json_for_script({"zone": text, "rows": [[text, text]]})
    assert json.loads(out) == {"zone": text, "rows": [[text, text]]}
    for ch in "<>&'`$\u2028\u2029":
        assert ch not in out


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=5), kids, max_size=4),
                    max_leaves=20))
@settings(max_examples=200, deadline=None)
def test_json_for_script_any_value(obj):
    out = json_for_script(obj)
    assert json.loads(out) == obj
    assert re.search(r"[<>&'`$\u2028\u2029]", out) is None


def test_json_for_script_nan_becomes_null():
    assert json_for_script({"a": float("nan"), "b": float("inf")}) == '{"a":null,"b":null}'


@pytest.mark.parametrize("text, expected", [
    ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"),
    ("a & b", "a &amp; b"),
    ('"q" \'s\' `t`', "&quot;q&quot; &#39;s&#39; &#96;t&#96;"),
])
def test_html_text(text, expected):
    assert html_text(text) == expected


def test_js_string_is_a_string_literal():
    assert json.loads(js_string("</script>`${x}`")) == "</script>`${x}`"
