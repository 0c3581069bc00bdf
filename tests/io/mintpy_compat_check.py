"""Check that insar_ae's MintPy writer produces files MintPy itself reads (not a pytest test).

Run from the repository root with the project interpreter and a *separate* interpreter that has
MintPy installed (never install MintPy into the project venv)::

    python3 -m venv /tmp/mintpy-venv && /tmp/mintpy-venv/bin/pip install mintpy
    .venv/bin/python tests/io/mintpy_compat_check.py --mintpy-python /tmp/mintpy-venv/bin/python

Phase 1 (project venv) writes, into a temporary folder: the tiny synthetic frame (variable
``displacement`` and ``deformation_true``) and, when ``../shared/data/real`` exists, the
Mexico City series read from LiCSBAS ``cum.h5`` and written back as MintPy, plus the expected
arrays (metres) as ``.npy``. Phase 2 (MintPy venv, no insar_ae import) reads each file with
``mintpy.utils.readfile.read`` / ``read_attribute`` and ``mintpy.objects.timeseries``, compares
with the expected arrays, and runs MintPy's ``timeseries2velocity.py``, ``view.py`` and
``tsview.py`` (non-interactive, saving figures). Exit status 0 = all checks passed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def phase1(out: Path) -> list[dict]:
    import numpy as np

    from insar_ae.io import open_frame, write_frame
    from insar_ae.testing import tiny_frame

    cases = []
    ds = tiny_frame(0).assign_attrs(
        reference_point=f"{4_500_000.0 - 10 * 100.0!r},{500_000.0 + 5 * 100.0!r}"
    )
    for var in ("displacement", "deformation_true"):
        p = write_frame(ds, out / f"tiny_{var}.h5", variable=var)
        np.save(out / f"tiny_{var}.npy", ds[var].values / 1000.0)
        cases.append(
            {
                "file": str(p),
                "expected": str(out / f"tiny_{var}.npy"),
                "dates": [f"{t:%Y%m%d}" for t in ds.indexes["time"]],
                "ref_yx": [10, 5],
            }
        )
    real = REPO.parent / "shared" / "data" / "real" / "mexico-city-s1" / "cum.h5"
    if real.exists():
        mx = open_frame(real)
        p = write_frame(mx, out / "mexico_from_licsbas.h5")
        np.save(out / "mexico_from_licsbas.npy", mx["displacement"].values / 1000.0)
        cases.append(
            {
                "file": str(p),
                "expected": str(out / "mexico_from_licsbas.npy"),
                "dates": [f"{t:%Y%m%d}" for t in mx.indexes["time"]],
                "ref_yx": [9, 8],
            }
        )
    return cases


PHASE2 = r"""
import json, os, subprocess, sys
import numpy as np
from mintpy.utils import readfile
from mintpy.objects import timeseries
import mintpy
cases = json.loads(sys.argv[1])
bindir = os.path.dirname(sys.executable)
report = {"mintpy_version": mintpy.__version__, "cases": []}
for c in cases:
    r = {"file": os.path.basename(c["file"])}
    data, atr = readfile.read(c["file"])
    exp = np.load(c["expected"])
    r["readfile.read shape"] = list(data.shape)
    r["max |diff| m"] = float(np.nanmax(np.abs(data - exp)))
    r["nan pattern equal"] = bool((np.isnan(data) == np.isnan(exp)).all())
    r["FILE_TYPE"], r["UNIT"], r["REF_DATE"] = atr["FILE_TYPE"], atr["UNIT"], atr["REF_DATE"]
    r["REF_Y/REF_X"] = [int(atr.get("REF_Y", -1)), int(atr.get("REF_X", -1))]
    ts = timeseries(c["file"]); ts.open(print_msg=False)
    r["timeseries.dateList ok"] = ts.dateList == c["dates"]
    one = readfile.read(c["file"], datasetName=c["dates"][-1])[0]
    r["read one date ok"] = bool(np.allclose(one, exp[-1], equal_nan=True, atol=1e-9))
    ok = (r["max |diff| m"] < 1e-9 and r["nan pattern equal"] and r["timeseries.dateList ok"]
          and r["read one date ok"] and r["REF_Y/REF_X"] == c["ref_yx"] and atr["UNIT"] == "m")
    wd = os.path.dirname(c["file"]); stem = os.path.splitext(os.path.basename(c["file"]))[0]
    vel = os.path.join(wd, stem + "_velocity.h5")
    cmds = {
        "timeseries2velocity.py": [os.path.join(bindir, "timeseries2velocity.py"), c["file"], "-o", vel],
        "view.py": [os.path.join(bindir, "view.py"), c["file"], c["dates"][-1], "--nodisplay",
                    "--noverbose", "-o", os.path.join(wd, stem + "_view.png")],
        "tsview.py": [os.path.join(bindir, "tsview.py"), c["file"], "--yx", str(c["ref_yx"][0] + 3),
                      str(c["ref_yx"][1] + 3), "--nodisplay", "--save", "--noverbose",
                      "-o", os.path.join(wd, stem + "_tsview")],
    }
    for name, cmd in cmds.items():
        p = subprocess.run(cmd, cwd=wd, capture_output=True, text=True, env=dict(os.environ, MPLBACKEND="Agg"))
        r[name] = "ok" if p.returncode == 0 else ("FAILED: " + (p.stderr or p.stdout)[-400:])
        ok = ok and p.returncode == 0
    if os.path.exists(vel):
        v, va = readfile.read(vel, datasetName="velocity")
        t = np.array([(np.datetime64(f"{d[:4]}-{d[4:6]}-{d[6:]}") - np.datetime64(f"{c['dates'][0][:4]}-{c['dates'][0][4:6]}-{c['dates'][0][6:]}")).astype(float) for d in c["dates"]]) / 365.25
        A = np.c_[t, np.ones_like(t)]
        y = exp.reshape(len(t), -1)
        good = np.isfinite(y).all(0)
        coef = np.full(y.shape[1], np.nan)
        coef[good] = np.linalg.lstsq(A, y[:, good], rcond=None)[0][0]
        r["velocity vs numpy lstsq max |diff| m/yr"] = float(np.nanmax(np.abs(v.ravel()[good] - coef[good])))
    r["ok"] = bool(ok)
    report["cases"].append(r)
print(json.dumps(report, indent=1))
sys.exit(0 if all(c["ok"] for c in report["cases"]) else 1)
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mintpy-python", default="/tmp/mintpy-venv/bin/python")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args()
    out = Path(tempfile.mkdtemp(prefix="insar_ae_mintpy_"))
    cases = phase1(out)
    p = subprocess.run(
        [args.mintpy_python, "-c", PHASE2, json.dumps(cases)], capture_output=True, text=True
    )
    sys.stdout.write(p.stdout)
    if p.returncode:
        sys.stderr.write(p.stderr[-3000:])
    if not args.keep:
        import shutil

        shutil.rmtree(out, ignore_errors=True)
    else:
        print(f"files kept in {out}")
    return p.returncode


if __name__ == "__main__":
    sys.exit(main())
