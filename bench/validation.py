"""Score a model on the external validation set with the shared scorer, in one process.

    .venv/bin/python bench/validation.py [--model default|PATH.safetensors] [--json OUT]
                                         [--set ../shared/data/validation]

Runs ``../shared/bench/score.py`` unchanged, except that its per-scene command (normally
``insar-ae denoise {inp} -o {out}``, one process per scene) is replaced by an in-process call of
``insar_ae.model.denoise`` with the model loaded once: same inputs, same NetCDF outputs, same
metrics, ~70x fewer interpreter and weight loads. The printed table is the scorer's own (model,
all-zeros, classical rows; RMSE, gain, detection threshold, per-kind detection). For the
numbers of record, run the scorer itself as well (command in bench/RESULTS.md).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCORER = ROOT.parent / "shared" / "bench" / "score.py"


def load_scorer(path: Path = SCORER):
    """Import the shared scorer as a module (it is a script, not a package)."""
    if not path.is_file():
        raise SystemExit(f"scorer not found at {path} (needs ../shared beside the checkout)")
    spec = importlib.util.spec_from_file_location("insar_ae_external_score", path)
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(mod)
    return mod


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--model", default="default", help="registry name or .safetensors path")
    ap.add_argument("--set", default=str(ROOT.parent / "shared" / "data" / "validation"))
    ap.add_argument("--json", default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--override",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="ablation: set an inference attribute of the loaded model (e.g. tta=1, "
        "date_weighting=1); repeatable",
    )
    a = ap.parse_args(argv)

    import torch

    from insar_ae.io import open_frame, write_frame
    from insar_ae.model import denoise
    from insar_ae.model.weights import load_model

    torch.set_num_threads(a.threads)
    model = load_model(a.model)
    for item in a.override:
        name, _, value = item.partition("=")
        current = getattr(model, name, None)
        if current is None or name.startswith("_") or isinstance(current, torch.nn.Module):
            raise SystemExit(f"--override {item!r}: the model has no inference attribute {name!r}")
        setattr(
            model, name, type(current)(int(value) if isinstance(current, (bool, int)) else value)
        )
    score = load_scorer()

    def run_in_process(_cmd: str, inp: Path, out: Path, _timeout: float) -> float:
        t0 = time.time()
        ds = open_frame(inp).load()  # the reader the CLI uses
        res = denoise(ds, model=model, device="cpu")
        write_frame(res[["displacement", "height", "deformation"]], out)
        return time.time() - t0

    score.run_cmd = run_in_process
    args = [str(SCORER), a.set, "--cmd", f"in-process insar_ae.denoise model={a.model}"]
    if a.json:
        args += ["--json", a.json]
    sys.argv = args
    print(
        f"model {a.model} sha256 {getattr(model, 'weights_sha256', '?')[:12]} "
        f"overrides {a.override or 'none'}",
        flush=True,
    )
    try:
        score.main()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
