"""Time the workbook writer on a parcels-sized table: machine names, labelled, and pandas' way.

    python benchmarks/bench_xlsx.py --rows 36781      # the province run's parcels table (41 columns)

Three workbooks of the same synthetic table (the site result's 41 parcel columns) in one run:

* ``plain``: :func:`sinkplan.layers.resultfolder.write_xlsx` with ``lang=None`` (machine names,
  openpyxl's write-only mode, no styles);
* ``labelled``: the same with ``lang="zh"`` (titles, labelled headers, number formats by unit,
  widths, frozen header, totals row, 说明 sheet): what a result folder writes;
* ``pandas``: ``DataFrame.to_excel`` followed by a pass over every cell (the writer before the
  write-only one), for the ratio.

Each workbook is read back and its values compared with the table, so a fast wrong writer shows.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def table(rows: int) -> pd.DataFrame:
    """A parcels-like table: ids, ranks, scores, text, areas, capacities, energies, costs."""
    from sinkplan.layers import resultspec as rs

    rng = np.random.default_rng(0)
    out = {}
    for c in rs.PARCELS_CSV.columns:
        t = rs.term(c)
        if c in ("parcel_id", "rank", "pixels", "turbines", "base_id", "substation_kv"):
            out[c] = np.arange(1, rows + 1, dtype=np.int64)
        elif c in ("zone_type", "admin_zone", "terrain_class", "not_checked"):
            out[c] = rng.choice(["desert", "border", "四子王旗", "=HYPERLINK(1)", ""], rows)
        elif t is not None and t.unit == "fraction":
            out[c] = rng.random(rows)
        else:
            out[c] = rng.random(rows) * 10 ** rng.integers(0, 6)
    return pd.DataFrame(out)


def pandas_way(path: Path, df: pd.DataFrame) -> None:
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        df.to_excel(xw, sheet_name="parcels", index=False)
        for row in xw.sheets["parcels"].iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"


def main() -> None:
    from sinkplan.layers.resultfolder import read_xlsx_sheet, write_xlsx

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000)
    a = ap.parse_args()
    df = table(a.rows)
    print(f"{a.rows} rows × {df.shape[1]} columns; load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as d:
        runs = {"plain": lambda p: write_xlsx(p, {"parcels": df}),
                "labelled": lambda p: write_xlsx(p, {"parcels": df}, lang="zh", notes={"command": "site"}),
                "pandas": lambda p: pandas_way(p, df)}
        times = {}
        for name, write in runs.items():
            p = Path(d) / f"{name}.xlsx"
            t0 = time.process_time()
            write(p)
            times[name] = time.process_time() - t0
            back = read_xlsx_sheet(p, "parcels")
            num = df.select_dtypes("number").columns
            same = np.allclose(back[num].to_numpy(dtype=float), df[num].to_numpy(dtype=float))
            print(f"{name:<9} {times[name]:7.2f} s CPU  {p.stat().st_size / 1e6:6.1f} MB  read back equal: {same}")
        print(f"labelled / plain {times['labelled'] / times['plain']:.2f}; pandas / labelled "
              f"{times['pandas'] / times['labelled']:.2f}")


if __name__ == "__main__":
    main()
