"""Tables and headline dicts of the learning commands (pure: dicts and arrays in, DataFrames out)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sinkplan.layers.schemes import ClassScheme
from sinkplan.sinks.learning.density_model import REASONS

__all__ = ["BLOCKED_VS_RANDOM_NOTE", "accuracy_frame", "domain_counts", "map_class_frame", "parse_code_values"]

#: Why the two CV figures differ, written beside them.
BLOCKED_VS_RANDOM_NOTE = (
    "spatial_block_cv holds out whole blocks of block_size_m on the ground, so no test sample has a training "
    "neighbour; random_cv splits samples at random, so neighbours (pixels of one polygon, one field, one "
    "illumination patch) fall on both sides and the figure is optimistic. With spatially autocorrelated "
    "samples the blocked figure is lower; with sparse, independent points the two agree within sampling noise. "
    "Both are accuracies of the training sample, not of the map: the map's accuracy and areas come from an "
    "independent reference sample (sinkplan area-estimate)."
)


def accuracy_frame(acc: dict, scheme: ClassScheme) -> pd.DataFrame:
    """One row per (assessment, class) plus an ``overall`` row per assessment."""
    rows = []
    for name, m in acc.items():
        if not isinstance(m, dict) or "per_class" not in m:
            continue
        rows.append({"assessment": name, "code": None, "class": "overall", "samples": m["samples"],
                     "overall_accuracy": m["overall_accuracy"], "kappa": m["kappa"]})
        for pc in m["per_class"]:
            cl = scheme.by_code.get(pc["code"])
            rows.append({"assessment": name, "code": pc["code"], "class": cl.name_en if cl else str(pc["code"]),
                         "samples": pc["reference_samples"], "producers_accuracy": pc["producers_accuracy"],
                         "users_accuracy": pc["users_accuracy"], "f1": pc["f1"]})
    cols = ["assessment", "code", "class", "samples", "overall_accuracy", "kappa", "producers_accuracy", "users_accuracy", "f1"]
    df = pd.DataFrame(rows, columns=cols)
    df["code"] = df["code"].astype("Int64")  # empty on the overall rows, integer elsewhere
    return df


def map_class_frame(areas: dict[int, tuple[int, float]], scheme: ClassScheme) -> pd.DataFrame:
    """Pixels and ellipsoidal area (ha) per predicted class."""
    rows = []
    for code, (px, m2) in sorted(areas.items()):
        cl = scheme.by_code.get(code)
        rows.append({"code": code, "name_en": cl.name_en if cl else "", "name_zh": cl.name_zh if cl else "",
                     "group": cl.group if cl else "", "pixels": px, "area_ha": m2 / 10_000.0})  # m² → ha
    return pd.DataFrame(rows, columns=["code", "name_en", "name_zh", "group", "pixels", "area_ha"])


def domain_counts(pixels: np.ndarray, stock: np.ndarray, table_stock: np.ndarray) -> dict:
    """Pixel counts and stocks per domain code (see ``REASONS``) as a JSON-ready dict."""
    out = {"land_pixels": int(pixels[1:].sum()), "pixels": {}, "biomass_stock_mgc": {}}
    for code, name in REASONS.items():
        out["pixels"][name] = int(pixels[code])
    out["fallback_pixels"] = int(pixels[2:].sum())
    out["biomass_stock_mgc"] = {
        "model_with_table_fallback": float(stock[1:].sum()),
        "model_part": float(stock[1]),
        "fallback_part": float(stock[2:].sum()),
        "table_only": float(table_stock[1:].sum()),
    }
    return out


def parse_code_values(text: str, what: str) -> dict[int, float]:
    """``'2=0.9,5=0.7'`` → {2: 0.9, 5: 0.7}."""
    from sinkplan.layers.errors import InputError

    out: dict[int, float] = {}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        k, sep, v = part.partition("=")
        try:
            out[int(k)] = float(v)
        except ValueError:
            raise InputError(f"{what} {part!r}: write CODE=VALUE pairs, e.g. 2=0.9,5=0.7") from None
        if not sep:
            raise InputError(f"{what} {part!r}: write CODE=VALUE pairs, e.g. 2=0.9,5=0.7")
    return out
