"""Time the workbook writer on a parcels-sized table against openpyxl's write-only mode and a CSV.

    python benchmarks/bench_xlsx.py                  # 35 000 rows: the province run's parcels table
    python benchmarks/bench_xlsx.py --rows 10000 --pandas

Workbooks of the same synthetic table (the site result's 41 parcel columns: ids, scores, text
with Chinese names and a formula-looking name, areas, capacities, energies, costs, NaN in every
seventh row of the float columns) in one run:

* ``csv``: ``DataFrame.to_csv`` of the table, the reference the ratios are given against;
* ``plain``: :func:`sinkplan.layers.resultfolder.write_xlsx` with ``lang=None`` (machine names,
  no styles);
* ``labelled``: the same with ``lang="zh"`` (titles, labelled headers, number formats by unit,
  widths, frozen header, totals row, 说明 sheet): what a result folder writes;
* ``openpyxl``: the writer before this one, openpyxl's write-only mode with one styled template
  cell per formatted column (number formats, text cells forced to text), on the labelled table;
* ``pandas`` (``--pandas``): ``DataFrame.to_excel`` followed by a pass over every cell.

Each workbook is read back and its numbers compared with the table (NaN as empty), so a fast
wrong writer shows. Times are CPU seconds of this process (the machine is shared: the load is
printed).
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
        if out[c].dtype.kind == "f":
            out[c][::7] = np.nan  # a parcel without that figure (no resource raster, no grid)
    return pd.DataFrame(out)


def openpyxl_way(path: Path, df: pd.DataFrame) -> None:
    """The writer before XlsxWriter: openpyxl write-only, one styled template cell per column."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    from sinkplan.layers.resultfolder import _number_format, _plain

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("parcels")
    ws.append(list(df.columns))
    templates = []
    for c in df.columns:
        fmt = _number_format(c, df[c])
        t = None
        if fmt is not None:
            t = WriteOnlyCell(ws)
            t.number_format = fmt
        templates.append(t)
    for row in zip(*(df[c].to_numpy(dtype=object) for c in df.columns)):
        out = []
        for v, t in zip(row, templates):
            v = _plain(v)
            if isinstance(v, str):
                if v.startswith("="):
                    cell = WriteOnlyCell(ws, value=v)
                    cell.data_type = "s"
                    v = cell
                out.append(v)
            elif t is None or v is None:
                out.append(v)
            else:
                t.value = v
                out.append(t)
        ws.append(out)
    wb.save(path)


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
    ap.add_argument("--rows", type=int, default=35_000)
    ap.add_argument("--pandas", action="store_true", help="also time pandas' to_excel (slow)")
    a = ap.parse_args()
    df = table(a.rows)
    print(f"{a.rows} rows × {df.shape[1]} columns = {df.size} cells; load {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as d:
        t0 = time.process_time()
        df.to_csv(Path(d) / "t.csv", index=False)
        csv_s = time.process_time() - t0
        print(f"{'csv':<9} {csv_s:7.2f} s CPU")
        runs = {"plain": lambda p: write_xlsx(p, {"parcels": df}),
                "labelled": lambda p: write_xlsx(p, {"parcels": df}, lang="zh", notes={"command": "site"}),
                "openpyxl": lambda p: openpyxl_way(p, df)}
        if a.pandas:
            runs["pandas"] = lambda p: pandas_way(p, df)
        times = {}
        num = df.select_dtypes("number").columns
        for name, write in runs.items():
            p = Path(d) / f"{name}.xlsx"
            t0 = time.process_time()
            write(p)
            times[name] = time.process_time() - t0
            back = read_xlsx_sheet(p, "parcels")
            same = np.allclose(back[num].to_numpy(dtype=float), df[num].to_numpy(dtype=float), rtol=1e-15,
                               equal_nan=True)
            print(f"{name:<9} {times[name]:7.2f} s CPU  {p.stat().st_size / 1e6:6.1f} MB  "
                  f"{times[name] / df.size * 1e6:5.1f} µs/cell  {times[name] / csv_s:5.1f} × csv  "
                  f"read back equal: {same}")
        print(f"openpyxl / labelled {times['openpyxl'] / times['labelled']:.2f}; labelled / plain "
              f"{times['labelled'] / times['plain']:.2f}; load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
