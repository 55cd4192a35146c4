"""Land-cover class schemes: codes → names (zh, en), one group each, a display colour.

A scheme is a frozen record validated on load. Shipped schemes live in ``seeds/schemes``
(``clcd``, ``worldcover``, ``globeland30``); a user scheme is a CSV with columns
``code,name_en,name_zh,group,color`` (``#`` lines are metadata ``# key: value``) or a TOML
file with a ``[[class]]`` array of the same keys and optional top-level ``name``,
``nodata``, ``source``.

Densities, coverage rules and siting exclusions are written against groups, so one table
serves every product.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

import numpy as np

from sinkplan.layers.errors import InputError, InputFileError, SchemeError
from sinkplan.layers.files import decode_user_text

__all__ = [
    "GROUPS",
    "GROUP_INDEX",
    "LandClass",
    "ClassScheme",
    "load_scheme",
    "shipped_schemes",
    "parse_code_mapping",
]

#: The fixed group vocabulary (DESIGN.md). Index positions are used in lookup tables.
GROUPS: tuple[str, ...] = (
    "forest",
    "shrubland",
    "grassland",
    "cropland",
    "wetland",
    "water",
    "built",
    "barren",
    "snow_ice",
    "nodata",
)
GROUP_INDEX: dict[str, int] = {g: i for i, g in enumerate(GROUPS)}

#: Lookup-table value for a code that the scheme does not know.
UNKNOWN = -1

_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")


@dataclass(frozen=True)
class LandClass:
    """One class of a scheme."""

    code: int
    name_en: str
    name_zh: str
    group: str
    color: str = "#808080"

    def name(self, lang: str = "en") -> str:
        """Name in ``lang`` ('zh' or 'en')."""
        return self.name_zh if lang == "zh" else self.name_en


@dataclass(frozen=True)
class ClassScheme:
    """A land-cover class scheme.

    Parameters
    ----------
    name : str
        Short name (``clcd``).
    classes : tuple of LandClass
        Unique codes, each with a group from :data:`GROUPS`.
    nodata : int or None
        The product's nodata code (pixels with it are not land and hold no class).
    source, licence : str
        Provenance.

    Examples
    --------
    >>> s = load_scheme("clcd")
    >>> s.group_of(2), s[2].name_zh
    ('forest', '森林')
    """

    name: str
    classes: tuple[LandClass, ...]
    nodata: int | None = None
    source: str = ""
    licence: str = ""
    origin: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        where = self.origin or self.name
        if not self.classes:
            raise SchemeError(f"scheme {where!r} defines no classes")
        seen: set[int] = set()
        for c in self.classes:
            if c.code in seen:
                raise SchemeError(f"scheme {where!r}: code {c.code} is defined twice; keep one row per code")
            seen.add(c.code)
            if c.code < 0:
                raise SchemeError(f"scheme {where!r}: code {c.code} is negative; codes are ≥ 0")
            if c.group not in GROUP_INDEX:
                raise SchemeError(
                    f"scheme {where!r}: code {c.code} has group {c.group!r}, not one of {', '.join(GROUPS)}"
                )
            if not _COLOR.match(c.color):
                raise SchemeError(
                    f"scheme {where!r}: code {c.code} has colour {c.color!r}; write it as #RRGGBB"
                )

    # ------------------------------------------------------------------ access
    def __getitem__(self, code: int) -> LandClass:
        try:
            return self.by_code[int(code)]
        except KeyError:
            raise SchemeError(f"code {code} is not in scheme {self.name!r}") from None

    def __contains__(self, code: object) -> bool:
        return isinstance(code, (int, np.integer)) and int(code) in self.by_code

    def __len__(self) -> int:
        return len(self.classes)

    @property
    def by_code(self) -> dict[int, LandClass]:
        """Classes keyed by code."""
        return {c.code: c for c in self.classes}

    @property
    def codes(self) -> tuple[int, ...]:
        """Codes in table order."""
        return tuple(c.code for c in self.classes)

    def group_of(self, code: int) -> str:
        """The group of a code."""
        return self[code].group

    def codes_in(self, *groups: str) -> tuple[int, ...]:
        """Codes whose group is one of ``groups``."""
        bad = [g for g in groups if g not in GROUP_INDEX]
        if bad:
            raise SchemeError(f"unknown group(s) {bad}; groups are {', '.join(GROUPS)}")
        return tuple(c.code for c in self.classes if c.group in groups)

    def group_lut(self, size: int | None = None) -> np.ndarray:
        """Lookup table code → group index (int8; :data:`UNKNOWN` for unknown codes).

        ``size`` defaults to one past the largest code; index with codes < size.
        """
        n = max(self.codes) + 1 if size is None else size
        lut = np.full(n, UNKNOWN, dtype="int8")
        for c in self.classes:
            if c.code < n:
                lut[c.code] = GROUP_INDEX[c.group]
        if self.nodata is not None and 0 <= self.nodata < n and self.nodata not in self.by_code:
            lut[self.nodata] = GROUP_INDEX["nodata"]
        return lut

    def is_land(self, code: int) -> bool:
        """False for the nodata code and codes of the ``nodata`` group."""
        if code == self.nodata:
            return False
        return code in self and self.group_of(code) != "nodata"

    def with_mapping(self, mapping: dict[int, int | str], *, origin: str = "") -> "ClassScheme":
        """A scheme extended with codes the product uses but the scheme lacks.

        ``mapping`` maps an extra code to an existing code (it takes that class's names,
        group and colour) or to a group name (named ``code N (group)``).
        """
        extra = []
        for code, target in mapping.items():
            code = int(code)
            if code in self.by_code:
                raise SchemeError(
                    f"mapping code {code} is already in scheme {self.name!r}; map only codes it lacks"
                )
            if isinstance(target, str) and not target.lstrip("-").isdigit():
                if target not in GROUP_INDEX:
                    raise SchemeError(
                        f"mapping {code}={target}: {target!r} is neither a code of {self.name!r} "
                        f"nor a group ({', '.join(GROUPS)})"
                    )
                extra.append(LandClass(code, f"code {code} ({target})", f"代码 {code}（{target}）", target))
            else:
                base = self[int(target)]
                extra.append(replace(base, code=code, name_en=f"{base.name_en} (code {code})",
                                     name_zh=f"{base.name_zh}（代码 {code}）"))
        return replace(self, classes=self.classes + tuple(extra), origin=origin or self.origin)

    def colormap(self) -> dict[int, tuple[int, int, int, int]]:
        """GDAL colour table {code: (r, g, b, 255)}."""
        return {c.code: (*(int(c.color[i:i + 2], 16) for i in (1, 3, 5)), 255) for c in self.classes}

    # ------------------------------------------------------------------ readers
    @classmethod
    def from_csv(cls, path: str | os.PathLike, *, text: str | None = None, name: str | None = None) -> "ClassScheme":
        """Read a scheme from CSV (``code,name_en,name_zh,group,color``; ``# key: value`` header).

        A ``# guard: formula`` header (a result folder's ``scheme.csv``) says the names were
        formula-guarded when written: the guard's quote is removed
        (:func:`sinkplan.layers.resultfolder.unguard_cell`), so they read back exactly. A file
        without it (a user's own scheme) is read as written.
        """
        origin = str(path)
        if text is None:
            text = _read_text(path)
        meta: dict[str, str] = {}
        body = []
        for line in text.splitlines():
            if line.startswith("#"):
                key, _, value = line[1:].partition(":")
                meta[key.strip().lower()] = value.strip()
            elif line.strip():
                body.append(line)
        reader = csv.DictReader(io.StringIO("\n".join(body)))
        cols = [c.strip() for c in (reader.fieldnames or [])]
        missing = [c for c in ("code", "group") if c not in cols]
        if missing:
            raise SchemeError(
                f"{origin}: missing column(s) {missing}; a scheme CSV needs code,name_en,name_zh,group,color "
                f"(found {cols})"
            )
        guarded = meta.get("guard", "").lower() == "formula"
        if guarded:
            from sinkplan.layers.resultfolder import unguard_cell
        classes = []
        for i, row in enumerate(reader, start=2):
            row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
            if guarded:
                row = {k: unguard_cell(v) if k in ("name", "name_en", "name_zh") else v for k, v in row.items()}
            classes.append(_class_from_row(row, f"{origin} line {i}"))
        return cls(
            name=name or meta.get("scheme") or Path(origin).stem,
            classes=tuple(classes),
            nodata=_opt_int(meta.get("nodata"), f"{origin} header 'nodata'"),
            source=meta.get("source", ""),
            licence=meta.get("licence", meta.get("license", "")),
            origin=origin,
        )

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> "ClassScheme":
        """Read a scheme from TOML: top-level name/nodata/source and ``[[class]]`` tables."""
        origin = str(path)
        try:
            data = tomllib.loads(_read_text(path))
        except tomllib.TOMLDecodeError as exc:
            raise SchemeError(f"{origin}: not valid TOML ({exc})") from exc
        rows = data.get("class") or data.get("classes")
        if not isinstance(rows, list) or not rows:
            raise SchemeError(f"{origin}: no [[class]] tables; add one per code with code, group, names, color")
        unknown = set(data) - {"name", "nodata", "source", "licence", "license", "class", "classes", "title"}
        if unknown:
            raise SchemeError(f"{origin}: unknown key(s) {sorted(unknown)}")
        classes = tuple(
            _class_from_row({k: str(v) for k, v in r.items()}, f"{origin} class #{i}") for i, r in enumerate(rows, 1)
        )
        return cls(
            name=str(data.get("name") or Path(origin).stem),
            classes=classes,
            nodata=_opt_int(data.get("nodata"), f"{origin} key 'nodata'"),
            source=str(data.get("source", "")),
            licence=str(data.get("licence", data.get("license", ""))),
            origin=origin,
        )


def _read_text(path: str | os.PathLike) -> str:
    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"{p}: scheme file not found; give a shipped name ({', '.join(shipped_schemes())}) or a CSV/TOML path")
    try:
        return decode_user_text(p.read_bytes(), path=p)
    except InputError as exc:
        raise SchemeError(str(exc)) from None


def _opt_int(value, where: str) -> int | None:
    if value in (None, "", "none", "None"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise SchemeError(f"{where}: {value!r} is not an integer code") from None


def _class_from_row(row: dict[str, str], where: str) -> LandClass:
    unknown = set(row) - {"code", "name_en", "name_zh", "group", "color", "colour", "name"}
    if unknown:
        raise SchemeError(f"{where}: unknown column(s) {sorted(unknown)}")
    try:
        code = int(row.get("code", ""))
    except ValueError:
        raise SchemeError(f"{where}: code {row.get('code')!r} is not an integer") from None
    name_en = row.get("name_en") or row.get("name") or f"class {code}"
    return LandClass(
        code=code,
        name_en=name_en,
        name_zh=row.get("name_zh") or name_en,
        group=row.get("group", "").strip().lower(),
        color=(row.get("color") or row.get("colour") or "#808080").strip(),
    )


def shipped_schemes() -> tuple[str, ...]:
    """Names of the schemes shipped in ``seeds/schemes``."""
    files = resources.files("sinkplan.seeds").joinpath("schemes").iterdir()
    return tuple(sorted(f.name[:-4] for f in files if f.name.endswith(".csv")))


def load_scheme(name_or_path: str | os.PathLike | ClassScheme, *, mapping: dict[int, int | str] | None = None) -> ClassScheme:
    """A shipped scheme by name, or a user scheme from a CSV or TOML path.

    ``mapping`` adds codes the scheme lacks (see :meth:`ClassScheme.with_mapping`).

    Raises
    ------
    InputFileError
        The name is neither shipped nor an existing file.
    SchemeError
        The file is malformed (the message names the line and column).
    """
    if isinstance(name_or_path, ClassScheme):
        scheme = name_or_path
    else:
        key = str(name_or_path)
        if key.lower() in shipped_schemes():
            res = resources.files("sinkplan.seeds").joinpath("schemes", f"{key.lower()}.csv")
            scheme = ClassScheme.from_csv(f"seeds/schemes/{key.lower()}.csv", text=res.read_text("utf-8"))
        elif key.lower().endswith(".toml"):
            scheme = ClassScheme.from_toml(key)
        else:
            scheme = ClassScheme.from_csv(key)
    return scheme.with_mapping(mapping) if mapping else scheme


def parse_code_mapping(text: str) -> dict[int, int | str]:
    """Parse ``'200=7,201=grassland'`` into ``{200: 7, 201: 'grassland'}``."""
    out: dict[int, int | str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        left, sep, right = part.partition("=")
        if not sep or not left.strip().lstrip("-").isdigit() or not right.strip():
            raise SchemeError(f"code mapping {part!r}: write CODE=CODE or CODE=GROUP, e.g. 200=7,201=grassland")
        r = right.strip()
        value = int(r) if r.lstrip("-").isdigit() else r
        if int(left) in out and out[int(left)] != value:
            # '200=7,200=4' kept the last in silence: which class did the user mean?
            raise SchemeError(f"code mapping {text!r}: code {int(left)} is mapped twice ({out[int(left)]} and {value}); "
                              "map each code once")
        out[int(left)] = value
    return out
