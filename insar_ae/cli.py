"""``insar-ae`` command line: a table of subcommands -> plain functions, imported lazily.

To add a subcommand, add one entry to :data:`COMMANDS`: ``Command(help, add_arguments, target)``
where ``add_arguments(parser)`` declares its options (no heavy imports) and ``target`` is
``"module:function"``, a function taking the parsed ``argparse.Namespace`` and returning an exit
status. Errors from ``insar_ae.errors`` are printed as one line on stderr (exit status 2).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

__all__ = ["COMMANDS", "Command", "main", "open_input", "write_output"]


class Command(NamedTuple):
    """One subcommand: help line, argument declaration, lazily imported target."""

    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    target: str  # "module:function", function(args) -> int


# ---------------------------------------------------------------- shared I/O helpers
def open_input(path: str | os.PathLike[str]):
    """Read any supported input as a canonical Dataset (``insar_ae.io.open_frame`` when present,
    else canonical NetCDF via h5netcdf)."""
    from insar_ae.errors import FormatError

    p = Path(path)
    if not p.exists():
        raise FormatError(f"input {p} does not exist")
    try:
        from insar_ae.io import open_frame
    except ImportError:
        open_frame = None
    if open_frame is not None:
        return open_frame(p)
    import xarray as xr

    from insar_ae.datamodel import validate

    try:
        ds = xr.open_dataset(p, engine="h5netcdf").load()
    except (OSError, ValueError) as exc:
        raise FormatError(f"cannot read {p} as canonical NetCDF (insar_ae.io not available "
                          f"for other formats): {exc}") from exc
    return validate(ds)


def write_output(ds, path: str | os.PathLike[str], *, inputs: Sequence[str | os.PathLike[str]] = (),
                 overwrite: bool = False) -> Path:
    """Write ``ds`` atomically (``insar_ae.io.write_frame`` when present, else NetCDF via
    h5netcdf); refuse to touch any of ``inputs`` and, unless ``overwrite``, an existing file."""
    from insar_ae.errors import ParameterError

    out = Path(path)
    for src in inputs:
        same = Path(src).resolve() == out.resolve()
        if not same and out.exists() and Path(src).exists():
            same = os.path.samefile(src, out)
        if same:
            raise ParameterError(f"output {out} is the input file; refusing to overwrite an input")
    if out.exists() and not overwrite:
        raise ParameterError(f"output {out} already exists; pass --overwrite to replace it")
    try:
        from insar_ae.io import write_frame
    except ImportError:
        write_frame = None
    if write_frame is not None:
        return Path(write_frame(ds, out, overwrite=overwrite))
    import tempfile

    from insar_ae.datamodel import validate

    validate(ds)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    try:
        ds.to_netcdf(tmp, engine="h5netcdf")
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


# ---------------------------------------------------------------- denoise
def _denoise_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", help="input frame (any format insar_ae.io reads)")
    p.add_argument("-o", "--output", required=True, help="output file (NetCDF unless the suffix "
                   "names another format insar_ae.io writes)")
    p.add_argument("--model", default="default", help="registry name or .safetensors path")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | mps (default auto)")
    p.add_argument("--tile", type=int, default=128, help="tile size in pixels (default 128)")
    p.add_argument("--overlap", type=int, default=32, help="tile overlap in pixels (default 32)")
    p.add_argument("--batch-size", type=int, default=8, help="tiles per forward pass")
    p.add_argument("--time-stride", type=int, default=1,
                   help="step between successive 9-date windows (1 = best, 8 = fastest)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing OUTPUT "
                   "(never an input)")
    p.add_argument("--block", type=int, default=None, metavar="N",
                   help="out of core: denoise in N x N pixel blocks (with the halo the model needs) "
                        "and stream them into OUTPUT, which must be a .zarr store; peak memory is "
                        "set by N, not by the frame")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run_denoise(args: argparse.Namespace) -> int:
    """``insar-ae denoise INPUT -o OUTPUT``: add ``deformation`` and ``noise``, write atomically."""
    from insar_ae.errors import ParameterError
    from insar_ae.model import denoise

    out = Path(args.output)
    if Path(args.input).resolve() == out.resolve():
        raise ParameterError(f"output {out} is the input file; refusing to overwrite an input")
    if out.exists() and not args.overwrite:
        raise ParameterError(f"output {out} already exists; pass --overwrite to replace it")
    if args.block is not None and out.suffix != ".zarr":
        raise ParameterError(f"--block streams results to Zarr: OUTPUT must end in .zarr, got {out}")
    bar = None
    progress = None
    if not args.quiet:
        from tqdm.auto import tqdm

        bar = tqdm(total=1.0, desc="denoise", unit="", bar_format="{l_bar}{bar}| {elapsed}<{remaining}")

        def progress(fraction: float, message: str) -> None:
            bar.n = round(fraction, 4)
            bar.set_postfix_str(message, refresh=True)

    if args.block is not None:
        from insar_ae.distributed import denoise_blocks

        try:
            denoise_blocks(args.input, out, block=args.block, client=False, model=args.model,
                           device=args.device, tile=args.tile, overlap=args.overlap,
                           batch_size=args.batch_size, time_stride=args.time_stride,
                           progress=progress, overwrite=args.overwrite)
        finally:
            if bar is not None:
                bar.close()
        print(f"wrote {out}", file=sys.stderr)
        return 0
    ds = open_input(args.input)
    try:
        result = denoise(ds, model=args.model, device=args.device, tile=args.tile,
                         overlap=args.overlap, batch_size=args.batch_size, progress=progress,
                         time_stride=args.time_stride)
    finally:
        if bar is not None:
            bar.close()
    path = write_output(result, out, inputs=[args.input], overwrite=args.overwrite)
    print(f"wrote {path}", file=sys.stderr)
    ds.close()
    return 0


# ---------------------------------------------------------------- train
def _train_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="runs/default", help="run folder (checkpoint, log, weights); "
                   "an existing checkpoint there is resumed")
    p.add_argument("--steps", type=int, default=2000, help="optimiser steps (default 2000)")
    p.add_argument("--max-minutes", type=float, default=None, help="wall-clock budget")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | mps")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--patch", type=int, default=64, help="training patch size, pixels")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--loss", choices=("l1", "huber", "mse"), default="mse")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--widths", type=int, nargs=4, default=(16, 32, 48, 64))
    p.add_argument("--n-mix", type=int, default=2)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--val-every", type=int, default=200)
    p.add_argument("--n-val", type=int, default=32)
    p.add_argument("--no-amp", action="store_true", help="disable mixed precision on GPU")
    p.add_argument("--val-seed", type=int, default=None,
                   help="seed of the validation set (default 1000003 + --seed)")
    p.add_argument("--init", metavar="WEIGHTS", default=None,
                   help="warm start from weights (registry name or .safetensors path)")
    p.add_argument("--data", metavar="JSON", default=None,
                   help='training data range overrides, e.g. \'{"turb_rms_mm": [0.5, 25]}\'')
    p.add_argument("--publish", metavar="NAME", default=None,
                   help="after training, copy the weights into the package registry as NAME")


def _json_arg(text: str | None, flag: str) -> dict:
    """Parse a JSON object given on the command line; ParameterError if it is not one."""
    import json

    from insar_ae.errors import ParameterError

    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParameterError(f"{flag}: not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ParameterError(f"{flag}: expected a JSON object, got {type(value).__name__}")
    return value


def run_train(args: argparse.Namespace) -> int:
    """``insar-ae train``: on-the-fly training, resumable (see ``insar_ae.model.train``)."""
    from insar_ae.model.train import TrainConfig, train
    from insar_ae.model.weights import publish_weights

    cfg = TrainConfig(out=args.out, steps=args.steps, max_minutes=args.max_minutes,
                      device=args.device, batch_size=args.batch_size, patch=args.patch,
                      lr=args.lr, loss=args.loss, seed=args.seed, widths=tuple(args.widths),
                      n_mix=args.n_mix, num_threads=args.threads, val_every=args.val_every,
                      n_val=args.n_val, amp=not args.no_amp, init=args.init, val_seed=args.val_seed,
                      data=_json_arg(args.data, "--data"))
    path = train(cfg)
    print(f"wrote {path}", file=sys.stderr)
    if args.publish:
        print(f"published {publish_weights(path, args.publish)}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------- models
def _models_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--verify", action="store_true", help="also load each (SHA-256 check)")


def run_models(args: argparse.Namespace) -> int:
    """``insar-ae models``: list the shipped weights (name, sha256, samples seen, validation)."""
    from insar_ae.model.weights import load_model, read_registry

    for name, entry in read_registry().items():
        meta = entry.get("meta", {})
        line = (f"{name}: {entry['file']} sha256={entry['sha256']} "
                f"samples_seen={meta.get('samples_seen')} val={meta.get('validation')}")
        if args.verify:
            load_model(name)
            line += " [verified]"
        print(line)
    return 0


# ---------------------------------------------------------------- batch (insar_ae.distributed)
def _batch_args(p: argparse.ArgumentParser) -> None:
    from insar_ae.distributed.cli_args import add_batch_arguments

    add_batch_arguments(p)


COMMANDS: dict[str, Command] = {
    "denoise": Command("denoise a frame: add deformation and noise, write NetCDF",
                       _denoise_args, "insar_ae.cli:run_denoise"),
    "train": Command("train the model on generated data (resumable)", _train_args,
                     "insar_ae.cli:run_train"),
    "models": Command("list (and verify) the shipped weights", _models_args,
                      "insar_ae.cli:run_models"),
    "batch": Command("denoise many frames on a Dask cluster (status log, restartable)",
                     _batch_args, "insar_ae.distributed.batch:run_from_args"),
}


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser with one sub-parser per :data:`COMMANDS` entry."""
    parser = argparse.ArgumentParser(prog="insar-ae", description="insar_ae command line")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, cmd in COMMANDS.items():
        sp = sub.add_parser(name, help=cmd.help, description=cmd.help)
        cmd.add_arguments(sp)
        sp.set_defaults(_target=cmd.target)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``insar-ae``; returns the exit status."""
    from insar_ae.errors import InsarAEError

    args = build_parser().parse_args(argv)
    module, func = args._target.split(":")
    try:
        return int(getattr(importlib.import_module(module), func)(args) or 0)
    except InsarAEError as exc:
        print(f"insar-ae {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
