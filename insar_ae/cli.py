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
from typing import Any, NamedTuple

__all__ = [
    "COMMANDS",
    "Command",
    "add_batch_arguments",
    "add_denoise_arguments",
    "check_outputs",
    "main",
    "open_input",
    "options_from_args",
    "reader_options",
    "write_output",
]


class Command(NamedTuple):
    """One subcommand: help line, argument declaration, lazily imported target."""

    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    target: str  # "module:function", function(args) -> int


# ---------------------------------------------------------------- shared I/O helpers
#: Reader keyword that takes the DEM / geometry file, per input format.
_GEOMETRY_KW = {"mintpy": "geometry", "licsbas": "height", "geotiff": "dem"}
#: Input formats whose reader takes ``units=``.
_UNITS_FORMATS = ("netcdf", "zarr", "geotiff")


def reader_options(
    fmt: str, *, geometry: str | None = None, units: str | None = None
) -> dict[str, Any]:
    """Reader keywords for the CLI's ``--geometry`` / ``--units`` on an input of format ``fmt``;
    ParameterError when the format has no such option."""
    from insar_ae.errors import ParameterError

    kw: dict[str, Any] = {}
    if geometry is not None:
        if fmt not in _GEOMETRY_KW:
            raise ParameterError(
                f"--geometry applies to MintPy, LiCSBAS and GeoTIFF inputs; this "
                f"input is {fmt} (its DEM is the 'height' variable)"
            )
        if not Path(geometry).exists():
            raise ParameterError(f"--geometry {geometry}: no such file")
        kw[_GEOMETRY_KW[fmt]] = geometry
    if units is not None:
        if fmt not in _UNITS_FORMATS:
            raise ParameterError(
                f"--units applies to NetCDF, Zarr and GeoTIFF inputs; this input "
                f"is {fmt}, whose units are fixed by the format (MintPy: UNIT "
                "attribute, LiCSBAS: mm)"
            )
        kw["units"] = units
    return kw


def open_input(path: str | os.PathLike[str], **kw: Any):
    """Read any supported input as a canonical Dataset (``insar_ae.io.open_frame``; ``kw`` go to
    the reader). FormatError when the file does not exist."""
    from insar_ae.errors import FormatError
    from insar_ae.io import open_frame

    p = Path(path)
    if not p.exists():
        raise FormatError(f"input {p} does not exist")
    return open_frame(p, **kw)


def check_outputs(
    path: str | os.PathLike[str],
    *,
    inputs: Sequence[str | os.PathLike[str]] = (),
    overwrite: bool = False,
    format: str | None = None,
) -> str:
    """Check, before any computing, everything a write to ``path`` would do; return the format.

    Unsupported format, missing or read-only folder, an existing output or side file without
    ``overwrite``, and any output that is, contains or is the same file as one of ``inputs``
    raise (ParameterError / OutputExistsError).
    """
    from insar_ae.atomic import check_output
    from insar_ae.io import output_format, output_paths

    fmt = output_format(path, format)
    for i, p in enumerate(output_paths(path, fmt)):
        role = "output" if i == 0 else "side file of the output"
        check_output(p, overwrite=overwrite, inputs=inputs, role=role)
    return fmt


def write_output(
    ds,
    path: str | os.PathLike[str],
    *,
    inputs: Sequence[str | os.PathLike[str]] = (),
    overwrite: bool = False,
    variable: str = "deformation",
) -> Path:
    """Write ``ds`` atomically with ``insar_ae.io.write_frame``; never onto (or over a folder
    holding) one of ``inputs`` or of the files ``ds`` was read from; an existing output only
    with ``overwrite``. Single-cube formats (GeoTIFF, MintPy) get ``ds[variable]``."""
    from insar_ae.atomic import input_paths
    from insar_ae.io import write_frame

    fmt = check_outputs(path, inputs=[*inputs, *input_paths(ds)], overwrite=overwrite)
    kw = {"variable": variable} if fmt in ("mintpy", "geotiff") else {}
    return Path(write_frame(ds, path, format=fmt, overwrite=overwrite, **kw))


# ---------------------------------------------------------------- denoise options
def add_denoise_arguments(p: argparse.ArgumentParser) -> None:
    """One flag per :class:`insar_ae.model.DenoiseOptions` field (``--model``, ``--device``,
    ``--tile``, ``--overlap``, ``--batch-size``, ``--time-stride``, ``--symmetries``), typed,
    defaulted and described from the field and its metadata (no torch import)."""
    import dataclasses

    from insar_ae.model.options import DenoiseOptions

    for f in dataclasses.fields(DenoiseOptions):
        meta = f.metadata
        # a None default ("the weights' own") is described by the field's help itself
        said = [f"default {f.default}"] if f.default is not None else []
        said += [meta["units"]] if meta.get("units") else []
        p.add_argument(
            "--" + f.name.replace("_", "-"),
            dest=f.name,
            type=int if f.type in (int, "int", "int | None") else str,
            default=f.default,
            help=f"{meta['help']} ({', '.join(said)})" if said else meta["help"],
        )


def options_from_args(args: argparse.Namespace) -> Any:
    """The validated :class:`insar_ae.model.DenoiseOptions` of parsed denoise flags
    (ParameterError naming the option when one is out of bounds)."""
    import dataclasses

    from insar_ae.model.options import DenoiseOptions

    return DenoiseOptions(
        **{f.name: getattr(args, f.name) for f in dataclasses.fields(DenoiseOptions)}
    )


# ---------------------------------------------------------------- denoise
def _denoise_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", help="input frame (any format insar_ae.io reads)")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        help="output: .nc/.zarr hold displacement, "
        "deformation and noise (mm); .tif (GeoTIFF stack) and .h5 (MintPy) hold one "
        "cube, --variable (default: the deformation)",
    )
    p.add_argument(
        "--variable",
        default="deformation",
        choices=("deformation", "noise", "displacement"),
        help="cube written to the single-cube formats .tif and .h5 (default deformation)",
    )
    add_denoise_arguments(p)
    p.add_argument(
        "--geometry",
        metavar="FILE",
        default=None,
        help="DEM / geometry file: MintPy geometryGeo.h5 (or geometryRadar.h5), "
        "LiCSBAS hgt, GeoTIFF DEM; default: looked for beside the input",
    )
    p.add_argument(
        "--units",
        choices=("mm", "cm", "m"),
        default=None,
        help="displacement units of a NetCDF/Zarr/GeoTIFF input, overriding what the file says",
    )
    p.add_argument(
        "--drop-dates",
        metavar="DATES",
        default=None,
        help="comma-separated dates (YYYY-MM-DD) to leave out, e.g. dates with no data",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing OUTPUT (never an input, nor a folder holding one)",
    )
    p.add_argument(
        "--block",
        type=int,
        default=None,
        metavar="N",
        help="out of core: denoise in N x N pixel blocks (with the halo the model needs) "
        "and stream them into OUTPUT, which must be a .zarr store; peak memory is "
        "set by N, not by the frame",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _say(message: str) -> None:
    print(f"insar-ae: {message}", file=sys.stderr)


def run_denoise(args: argparse.Namespace) -> int:
    """``insar-ae denoise INPUT -o OUTPUT``: add ``deformation`` and ``noise``, write atomically.

    Everything that can be checked is checked before computing: output format and folder,
    never an input (nor a folder holding one, nor a side file of one), the DEM, dates without
    data, memory; the weights' SHA-256 that will run is printed.
    """
    from insar_ae.atomic import input_paths
    from insar_ae.errors import FormatError, ParameterError
    from insar_ae.io import sniff_format
    from insar_ae.model.weights import load_model
    from insar_ae.preflight import check_height, check_memory, drop_dates, empty_dates

    options = options_from_args(args)
    inp, out = Path(args.input), Path(args.output)
    if not inp.exists():
        raise FormatError(f"input {inp} does not exist")
    if args.block is not None and out.suffix != ".zarr":
        raise ParameterError(
            f"--block streams results to Zarr: OUTPUT must end in .zarr, got {out}"
        )
    check_outputs(out, inputs=[inp], overwrite=args.overwrite)
    fmt_in = sniff_format(inp)
    kw = reader_options(fmt_in, geometry=args.geometry, units=args.units)
    ds = open_input(inp, format=fmt_in, **kw)
    fmt_out = check_outputs(out, inputs=[inp, *input_paths(ds)], overwrite=args.overwrite)
    if args.drop_dates:
        ds = drop_dates(ds, args.drop_dates.split(","))
    check_height(ds, hint="pass --geometry FILE (MintPy geometryGeo.h5, LiCSBAS hgt, GeoTIFF DEM)")
    lazy = any(v.chunks is not None for v in ds.data_vars.values())
    if args.block is None:
        check_memory(ds)
        empty = empty_dates(ds) if not lazy else []
        if empty:
            raise ParameterError(
                f"displacement is all NaN on {len(empty)} date(s) ({', '.join(empty[:5])}"
                f"{', ...' if len(empty) > 5 else ''}); leave them out with --drop-dates "
                f"{','.join(empty)}"
            )
    net = load_model(options.model, device="cpu" if args.block is not None else options.device)
    _say(f"model {options.model}: sha256 {net.weights_sha256} ({net.weights_path})")
    bar = None
    progress = None
    if not args.quiet:
        from tqdm.auto import tqdm

        bar = tqdm(
            total=1.0, desc="denoise", unit="", bar_format="{l_bar}{bar}| {elapsed}<{remaining}"
        )

        def progress(fraction: float, message: str) -> None:
            bar.n = round(fraction, 4)
            bar.set_postfix_str(message, refresh=True)

    if args.block is not None:
        from insar_ae.distributed import denoise_blocks

        # reader options or dropped dates: hand over the opened (lazy) frame, else the path
        data = ds if (kw or args.drop_dates) else inp
        try:
            denoise_blocks(
                data,
                out,
                options,
                block=args.block,
                client=False,
                progress=progress,
                overwrite=args.overwrite,
                format=fmt_in,
            )
        finally:
            if bar is not None:
                bar.close()
        ds.close()
        _say(f"wrote {out} (displacement, deformation, noise; mm)")
        return 0
    from insar_ae.model import denoise

    try:
        result = denoise(ds, options, model=net, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    path = write_output(result, out, inputs=[inp], overwrite=args.overwrite, variable=args.variable)
    what = args.variable if fmt_out in ("mintpy", "geotiff") else "displacement, deformation, noise"
    _say(f"wrote {path} ({what}; mm)")
    ds.close()
    return 0


# ---------------------------------------------------------------- train
def _train_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--out",
        default="runs/default",
        help="run folder (checkpoint, log, weights); an existing checkpoint there is resumed",
    )
    p.add_argument("--steps", type=int, default=2000, help="optimiser steps (default 2000)")
    p.add_argument("--max-minutes", type=float, default=None, help="wall-clock budget")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | mps")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--patch", type=int, default=64, help="training patch size, pixels")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--loss", choices=("l1", "huber", "mse"), default="mse")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--arch",
        choices=("series", "window"),
        default="series",
        help="series (whole series, any length; the default model) or window "
        "(9-date windows, the old model)",
    )
    p.add_argument(
        "--widths",
        type=int,
        nargs=4,
        default=None,
        help="channel widths (default: series 32 48 64 96, window 16 32 48 64)",
    )
    p.add_argument("--n-mix", type=int, default=2, help="window model: TimeMix blocks")
    p.add_argument("--K", type=int, default=6, help="series model: temporal basis degree")
    p.add_argument(
        "--dates",
        type=int,
        nargs=2,
        default=(8, 72),
        metavar=("LO", "HI"),
        help="series model: dates per training batch, drawn in [LO, HI]",
    )
    p.add_argument(
        "--val-dates",
        type=int,
        default=None,
        help="dates of the validation series (default: 24 series, 9 window)",
    )
    p.add_argument(
        "--config",
        metavar="FILE",
        default=None,
        help="read the whole training config from a .json or .yaml file (TrainConfig "
        "fields, e.g. campaign/series-v3.json); the other options are then ignored "
        "except --publish",
    )
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--val-every", type=int, default=200)
    p.add_argument("--n-val", type=int, default=32)
    p.add_argument("--no-amp", action="store_true", help="disable mixed precision on GPU")
    p.add_argument(
        "--val-seed",
        type=int,
        default=None,
        help="seed of the validation set (default 1000003 + --seed)",
    )
    p.add_argument(
        "--init",
        metavar="WEIGHTS",
        default=None,
        help="warm start from weights (registry name or .safetensors path)",
    )
    p.add_argument(
        "--data",
        metavar="JSON",
        default=None,
        help="training data range overrides, e.g. '{\"turb_rms_mm\": [0.5, 25]}'",
    )
    p.add_argument(
        "--publish",
        metavar="NAME",
        default=None,
        help="after training, copy the weights into the package registry as NAME",
    )


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

    if args.config:
        from insar_ae.errors import ParameterError

        try:
            cfg = TrainConfig.from_file(args.config)
        except (OSError, ParameterError) as exc:
            raise ParameterError(f"--config {args.config}: {exc}") from None
    else:
        val_dates = args.val_dates or (24 if args.arch == "series" else 9)
        cfg = TrainConfig(
            out=args.out,
            steps=args.steps,
            max_minutes=args.max_minutes,
            device=args.device,
            batch_size=args.batch_size,
            patch=args.patch,
            lr=args.lr,
            loss=args.loss,
            seed=args.seed,
            arch=args.arch,
            T=val_dates,
            widths=tuple(args.widths) if args.widths else None,
            n_mix=args.n_mix,
            K=args.K,
            dates=tuple(args.dates),
            num_threads=args.threads,
            val_every=args.val_every,
            n_val=args.n_val,
            amp=not args.no_amp,
            init=args.init,
            val_seed=args.val_seed,
            data=_json_arg(args.data, "--data"),
        )
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
        line = (
            f"{name}: {entry['file']} sha256={entry['sha256']} "
            f"samples_seen={meta.get('samples_seen')} val={meta.get('validation')}"
        )
        if args.verify:
            load_model(name)
            line += " [verified]"
        print(line)
    return 0


# ---------------------------------------------------------------- batch (insar_ae.distributed)
def _halo(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--halo must be 'auto' or an integer, got {text!r}"
        ) from None


def add_batch_arguments(p: argparse.ArgumentParser) -> None:
    """Declare the options of ``insar-ae batch`` on ``p`` (the denoise flags from
    :func:`add_denoise_arguments`)."""
    p.add_argument(
        "frames",
        metavar="CATALOG_OR_GLOB",
        help="catalog file (*.yaml), 'catalog' for the default catalog, or a quoted "
        "glob of frame files, e.g. 'data/*.zarr'",
    )
    p.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="output directory: DIR/<frame>.zarr and DIR/status.jsonl",
    )
    p.add_argument(
        "--scheduler",
        default="local",
        metavar="ADDRESS|local",
        help="'local' (default) starts a LocalCluster on this machine; else the "
        "address of a running scheduler, e.g. tcp://10.0.0.5:8786",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="local workers (default: one per GPU, else one per CPU core)",
    )
    p.add_argument("--threads-per-worker", type=int, default=1)
    p.add_argument(
        "--memory-limit",
        default="auto",
        help="per local worker, e.g. 4GiB (default: RAM / workers)",
    )
    p.add_argument(
        "--select",
        default=None,
        metavar="PATTERN",
        help="only frames whose name matches this shell pattern",
    )
    p.add_argument(
        "--block",
        type=int,
        default=512,
        help="block size in pixels (default 512, rounded up to a multiple of "
        "tile - overlap with --halo auto)",
    )
    p.add_argument(
        "--halo",
        type=_halo,
        default="auto",
        help="'auto' (default: results identical to whole-frame denoising) or a width in pixels",
    )
    add_denoise_arguments(p)
    p.add_argument(
        "--retries",
        type=int,
        default=0,
        help="extra attempts of a block task that raised (lost workers are always retried by Dask)",
    )
    p.add_argument("--overwrite", action="store_true", help="redo frames whose output exists")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--status-file", default=None, metavar="FILE", help="status log (default DIR/status.jsonl)"
    )


def run_batch(args: argparse.Namespace) -> int:
    """``insar-ae batch CATALOG_OR_GLOB --out DIR``: :func:`insar_ae.distributed.run_batch` on
    the parsed command line; one summary line, then one line per failed frame. Exit status 0
    when no frame failed, 1 otherwise."""
    from insar_ae.distributed import run_batch as batch_frames
    from insar_ae.distributed.monitor import STATUS_FILE

    memory_limit: Any = args.memory_limit
    if isinstance(memory_limit, str) and memory_limit.isdigit():
        memory_limit = int(memory_limit)
    table = batch_frames(
        args.frames,
        args.out,
        options_from_args(args),
        scheduler=args.scheduler,
        workers=args.workers,
        threads_per_worker=args.threads_per_worker,
        memory_limit=memory_limit,
        block=args.block,
        halo=args.halo,
        retries=args.retries,
        overwrite=args.overwrite,
        select=args.select,
        progress=not args.no_progress,
        status_file=args.status_file,
    )
    counts = table["status"].value_counts().to_dict()
    sys.stdout.write(
        " ".join(f"{k}={v}" for k, v in sorted(counts.items()))
        + f"  (status log: {args.status_file or Path(args.out) / STATUS_FILE})\n"
    )
    for name, row in table[table["status"] == "failed"].iterrows():
        sys.stdout.write(f"FAILED {name}: {row['error']}\n")
    return 1 if counts.get("failed") else 0


COMMANDS: dict[str, Command] = {
    "denoise": Command(
        "denoise a frame: add deformation and noise, write NetCDF",
        _denoise_args,
        "insar_ae.cli:run_denoise",
    ),
    "train": Command(
        "train the model on generated data (resumable)", _train_args, "insar_ae.cli:run_train"
    ),
    "models": Command(
        "list (and verify) the shipped weights", _models_args, "insar_ae.cli:run_models"
    ),
    "batch": Command(
        "denoise many frames on a Dask cluster (status log, restartable)",
        add_batch_arguments,
        "insar_ae.cli:run_batch",
    ),
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


class _Terminated(BaseException):
    """Raised in the main thread by the CLI's SIGTERM handler (runs ``finally`` clean-ups)."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Terminated(signum)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``insar-ae``; returns the exit status.

    Errors from ``insar_ae.errors`` (and OS errors such as a missing or unwritable file) are
    one line on stderr, exit 2; warnings are one line each. Ctrl-C (SIGINT) and SIGTERM remove
    the temporary files of the write in progress and exit 130 / 143 with one line. A SIGINT the
    parent ignores (a background job of a non-interactive shell) stays ignored, as it should.
    """
    import signal
    import warnings

    from insar_ae.errors import InsarAEError

    args = build_parser().parse_args(argv)
    module, func = args._target.split(":")
    prog = f"insar-ae {args.command}"

    def one_line_warning(
        message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None
    ) -> None:
        print(f"{prog}: warning: {message}", file=sys.stderr)

    in_main = threading_is_main()
    old_term = signal.signal(signal.SIGTERM, _on_sigterm) if in_main else None
    old_show = warnings.showwarning
    warnings.showwarning = one_line_warning
    try:
        return int(getattr(importlib.import_module(module), func)(args) or 0)
    except (InsarAEError, OSError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"{prog}: interrupted (SIGINT); temporary files removed, nothing half-written "
            "left (a --block run resumes when rerun)",
            file=sys.stderr,
        )
        return 130
    except _Terminated:
        print(
            f"{prog}: terminated (SIGTERM); temporary files removed, nothing half-written "
            "left (a --block run resumes when rerun)",
            file=sys.stderr,
        )
        return 143
    finally:
        warnings.showwarning = old_show
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)


def threading_is_main() -> bool:
    """True in the main thread (the only one that may install signal handlers)."""
    import threading

    return threading.current_thread() is threading.main_thread()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
