"""Out-of-core and many-frame denoising on Dask (``dask.distributed``).

- :func:`denoise_blocks`: one frame, in spatial blocks with halos, streamed to Zarr; the
  result equals whole-frame :func:`insar_ae.model.denoise` (``halo="auto"``).
- :func:`run_batch`: many frames (a catalog or a glob) on a cluster, with a JSON-lines status
  log and restart of only the frames that failed or did not finish (``insar-ae batch``).
- :class:`DenoiseOptions` (the one set of denoising options, ``insar_ae.model.options``) is
  taken whole by both; :class:`BlockRun` is what every block task receives.
- :func:`make_client`: a LocalCluster (one GPU per worker where CUDA exists) or an existing
  scheduler.

Names are imported lazily (``import insar_ae.distributed`` loads neither dask nor torch).
See docs/scaling.md.
"""

from __future__ import annotations

from insar_ae._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "Block": "insar_ae.distributed.layout",
    "plan_blocks": "insar_ae.distributed.layout",
    "BlockRun": "insar_ae.distributed.task",
    "DenoiseOptions": "insar_ae.model.options",
    "denoise_blocks": "insar_ae.distributed.driver",
    "FrameSpec": "insar_ae.distributed.discover",
    "discover_frames": "insar_ae.distributed.discover",
    "read_status": "insar_ae.distributed.monitor",
    "run_batch": "insar_ae.distributed.driver",
    "make_client": "insar_ae.distributed.cluster",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
