"""Arguments of ``insar-ae batch`` (argparse only: cheap to import from ``insar_ae.cli``)."""

from __future__ import annotations

import argparse

__all__ = ["add_batch_arguments", "build_parser"]


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
    """Declare the options of ``insar-ae batch`` on ``p``."""
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
    p.add_argument("--model", default="default", help="weights name or .safetensors path")
    p.add_argument(
        "--device",
        default="auto",
        help="auto (one GPU per worker where CUDA exists, else CPU), cpu, cuda",
    )
    p.add_argument("--tile", type=int, default=128, help="tile size in pixels (default 128)")
    p.add_argument("--overlap", type=int, default=32, help="tile overlap in pixels (default 32)")
    p.add_argument("--batch-size", type=int, default=8, help="tiles per forward pass")
    p.add_argument(
        "--time-stride",
        type=int,
        default=1,
        help="window models only (e.g. --model window-v2): step between successive 9-date windows (1 = best, 8 = fastest); the default series model reads every date at once and ignores it",
    )
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


def build_parser() -> argparse.ArgumentParser:
    """A stand-alone parser for ``insar-ae batch`` (used by ``batch.main``)."""
    p = argparse.ArgumentParser(
        prog="insar-ae batch",
        description="Denoise many frames on a Dask cluster into DIR/<frame>.zarr with a status "
        "log DIR/status.jsonl; rerun the same command to redo only the frames that "
        "failed or did not finish.",
    )
    add_batch_arguments(p)
    return p
