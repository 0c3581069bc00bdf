"""Score a model on the external validation set with the shared scorer, in one process.

    .venv/bin/python bench/validation.py [--model default|PATH.safetensors] [--json OUT]
                                         [--set ../shared/data/validation]

Runs ``../shared/bench/score.py`` unchanged, except that its per-scene command (normally
``insar-ae denoise {inp} -o {out}``, one process per scene) is replaced by an in-process call of
``insar_ae.model.denoise`` with the model loaded once: same inputs, same NetCDF outputs, same
metrics, ~70x fewer interpreter and weight loads. The printed table is the scorer's own (model,
all-zeros, classical rows; RMSE, gain, detection threshold, per-kind detection). For the
numbers of record, run the scorer itself as well (command in bench/RESULTS.md).

Beside it (unless ``--no-ceiling``) the detection rates of ``../shared/bench/known_source_limit.py``,
unchanged: a matched filter that is *told* each source's shape and history, the ceiling a blind
method is compared with (~30 s); with ``--json`` they are added to the file under
``"known_source_limit"`` as {kind: {amplitude mm: share detected}}.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCORER = ROOT.parent / "shared" / "bench" / "score.py"
CEILING = SCORER.with_name("known_source_limit.py")


def load_scorer(path: Path = SCORER):
    """Import a shared scoring script as a module (it is a script, not a package)."""
    if not path.is_file():
        raise SystemExit(f"{path.name} not found at {path} (needs ../shared beside the checkout)")
    if str(path.parent) not in sys.path:  # known_source_limit imports score from beside it
        sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(f"insar_ae_external_{path.stem}", path)
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(mod)
    return mod


def known_source_ceiling(setdir: str) -> dict[str, dict[str, float]]:
    """The matched filter's detection shares {kind: {amplitude mm: share}}, printed as it runs."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        load_scorer(CEILING).main(setdir)
    text = buf.getvalue()
    print("\nknown-source ceiling (matched filter told each source's shape and history):")
    print(text, end="", flush=True)
    rates: dict[str, dict[str, float]] = {}
    for line in text.splitlines():  # "kind 2mm:0.25 3mm:0.00 ..."; other lines are skipped
        kind, *cells = line.split() or [""]
        if cells and all(":" in c for c in cells):
            rates[kind] = {
                c.split(":")[0].removesuffix("mm"): float(c.split(":")[1]) for c in cells
            }
    return rates


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--model", default="default", help="registry name or .safetensors path")
    ap.add_argument("--set", default=str(ROOT.parent / "shared" / "data" / "validation"))
    ap.add_argument("--json", default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--no-ceiling", action="store_true", help="skip the known-source matched filter (~30 s)"
    )
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
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    if not a.no_ceiling:
        rates = known_source_ceiling(a.set)
        if a.json:
            path = Path(a.json)
            doc = json.loads(path.read_text())
            doc["known_source_limit"] = rates
            from insar_ae.atomic import write_text

            write_text(path, json.dumps(doc, indent=1), overwrite=True)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
