"""Helpers of the reliability tests (tests/test_reliability_*.py): damaged inputs, clean exits."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine

#: 0.001° pixels north of 40°N: about 85 m × 111 m
T = Affine(0.001, 0, 110.0, 0, -0.001, 42.0)


def write_landcover(path: Path, shape: tuple[int, int] = (1024, 1024), *, seed: int = 3, block: int = 256,
                    transform: Affine = T, crs: str = "EPSG:4326") -> Path:
    """A tiled DEFLATE land cover of CLCD codes 1..9 drawn at random (so tiles do not compress away)."""
    codes = np.random.default_rng(seed).integers(1, 10, size=shape).astype("uint8")
    with rasterio.open(path, "w", driver="GTiff", width=shape[1], height=shape[0], count=1, dtype="uint8",
                       crs=crs, transform=transform, nodata=0, tiled=True, blockxsize=block, blockysize=block,
                       compress="deflate") as dst:
        dst.write(codes, 1)
    return path


def corrupt(src: Path, dst: Path, *, at: float = 0.6, nbytes: int = 8192, seed: int = 1) -> Path:
    """Copy ``src`` to ``dst`` with ``nbytes`` random bytes written at ``at`` of its length (the issue's recipe)."""
    data = bytearray(Path(src).read_bytes())
    off = int(len(data) * at)
    data[off:off + nbytes] = np.random.default_rng(seed).integers(0, 256, size=min(nbytes, len(data) - off),
                                                                   dtype=np.uint8).tobytes()
    Path(dst).write_bytes(bytes(data))
    return Path(dst)


def failing_tiles(path: Path, block: int) -> set[tuple[int, int]]:
    """(row_off, col_off) of every internal tile that rasterio cannot read: the independent check."""
    bad = set()
    with rasterio.open(path) as src:
        for r in range(0, src.height, block):
            for c in range(0, src.width, block):
                w = rasterio.windows.Window(c, r, min(block, src.width - c), min(block, src.height - r))
                try:
                    src.read(1, window=w)
                except rasterio.errors.RasterioIOError:
                    bad.add((r, c))
    return bad


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def leftovers(folder: Path) -> list[str]:
    """Hidden work files sinkplan makes beside an output (``.out.tmp-*``, ``.site-work-*``, ``*.part``)."""
    return sorted(p.name for p in Path(folder).iterdir() if p.name.startswith("."))


def one_line_error(err: str) -> str:
    """The single line of a clean error, or an AssertionError showing what was printed."""
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected one line, got {len(lines)}:\n{err}"
    assert "Traceback" not in err
    return lines[0]


def last_line(err: str) -> str:
    """The last line printed (warnings may come before it), checking that no traceback was."""
    assert "Traceback" not in err and "Error:" not in err.replace("error:", ""), err
    return err.strip().splitlines()[-1]


def sinkplan_cmd() -> list[str]:
    """The command line that runs sinkplan in a child process (the installed entry point's module)."""
    return [sys.executable, "-c", "import sys; from sinkplan.cli import main; sys.exit(main())"]


def run_sinkplan(args: list[str], *, cwd: Path | None = None, timeout: float = 300, env: dict | None = None,
                 **kw) -> subprocess.CompletedProcess:
    """Run ``sinkplan ARGS`` in a child process; text output."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([*sinkplan_cmd(), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=full_env, **kw)
