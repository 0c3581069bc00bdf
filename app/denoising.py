"""Denoising of a dashboard session: device, model and time-stride choice, off-thread runs,
results cached per (frame, model, time stride) in the session and, server-wide, on disk
(:mod:`app.results`, keyed by the frame's content, the model's SHA-256 and the options), so a
reload or a second user gets a result at once.

:class:`DenoiseSession` is the ``denoising`` part of :class:`app.state.DashboardState` (its
``owner``, the frame part; no panel import): it owns the denoising choices and the run's
progress, resets them itself when the owner loads a frame (:meth:`DenoiseSession.new_frame`),
and hands the result of the frame shown to the owner (``owner.denoised``)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import param
import xarray as xr
from param.parameterized import batch_call_watchers

from app.frames import KEEP
from app.jobs import DenoiseJob, JobsBusy
from app.results import ResultCache, default_cache, frame_fingerprint, model_sha256
from insar_ae.model.options import DenoiseOptions

if TYPE_CHECKING:
    from app.state import DashboardState

__all__ = ["DenoiseSession"]

_CACHE_SIZE = 4  # denoised results kept per session
#: Time-window strides offered (dates between the starts of successive 9-date windows).
TIME_STRIDES = {"every window (best)": 1, "every 2nd window": 2, "every 4th window (fastest)": 4}


class DenoiseSession(param.Parameterized):
    """Denoising of one session: ``state.denoising``.

    Reads the owner's ``frame`` and ``dataset``; writes its own parameters, the owner's
    ``denoised`` (the result of the frame shown, or None) and ``notice``."""

    model_name = param.Selector(default="default", objects=["default"], doc="Shipped model.")
    device = param.Selector(default="cpu", objects=["cpu"], doc="Torch device for denoising.")
    time_stride = param.Selector(
        default=1,
        objects=list(TIME_STRIDES.values()),
        doc="Dates between successive 9-date windows: 1 = best, 4 = about "
        "4x faster. Default 1 on a GPU, 4 on a CPU.",
    )
    denoise_status = param.Selector(
        default="idle", objects=["idle", "running", "done", "cancelled", "error"]
    )
    denoise_fraction = param.Number(default=0.0, bounds=(0.0, 1.0))
    denoise_message = param.String(default="")
    denoise_eta_s = param.Number(default=None, allow_None=True)
    denoise_error = param.String(default="")

    def __init__(self, owner: DashboardState, **params: Any) -> None:
        super().__init__(**params)
        self.owner = owner
        self._cache: OrderedDict[tuple[str, str, int], xr.Dataset] = OrderedDict()
        self._job: DenoiseJob | None = None
        self._fingerprints: dict[str, str] = {}
        self._disk: ResultCache | None = default_cache()
        self._init_models()

    def new_frame(self, ds: xr.Dataset) -> xr.Dataset | None:
        """The owner loads ``ds`` (its ``frame`` already names it): the status says whether a
        result of it is kept; returns that result, or None (called inside the owner's
        frame-load batch, which sets ``owner.denoised`` to it)."""
        cached = self._cache_get(ds)
        with param.parameterized.batch_call_watchers(self):
            self.denoise_status = "done" if cached is not None else "idle"
            self.denoise_fraction = 1.0 if cached is not None else 0.0
            self.denoise_message = "cached result" if cached is not None else ""
            self.denoise_error = ""
        return cached

    def release(self) -> None:
        """The session ended: cancel its run and forget its results (the disk cache stays)."""
        self.cancel_denoise()
        self._job = None
        self._cache.clear()
        self._fingerprints.clear()

    def _init_models(self) -> None:
        from insar_ae.model import available_devices, read_registry

        devices = list(available_devices()) or ["cpu"]
        self.param.device.objects = devices
        self.device = devices[0]
        self.time_stride = 1 if self.device != "cpu" else 4
        models = list(read_registry()) or ["default"]
        self.param.model_name.objects = models
        self.model_name = "default" if "default" in models else models[0]

    @property
    def options(self) -> DenoiseOptions:
        """The :class:`insar_ae.model.DenoiseOptions` of the session's choices (model, device,
        time stride; tiling at its defaults)."""
        return DenoiseOptions(
            model=self.model_name, device=self.device, time_stride=int(self.time_stride)
        )

    @property
    def _key(self) -> tuple[str, str, int]:
        """What a denoised result depends on: frame, model and time stride."""
        return _result_key(self.owner.frame, self.options)

    def _disk_key(self, ds: xr.Dataset | None = None) -> str:
        """Key of the current (frame content, model SHA-256, options) in the on-disk cache;
        ``ds``: the frame's data when it is not ``owner.dataset`` yet (while loading)."""
        frame = self.owner.frame
        if frame not in self._fingerprints:
            self._fingerprints[frame] = frame_fingerprint(self.owner.dataset if ds is None else ds)
        window = self.model_kind == "window"
        options = {  # the same keys as before DenoiseOptions: cached results stay valid
            "time_stride": self.options.time_stride if window else None,
            "kind": self.model_kind,
        }
        return ResultCache.key(
            self._fingerprints[frame],
            model_sha256(self.model_name) or self.model_name,
            options,
        )

    def _cache_get(self, ds: xr.Dataset | None = None) -> xr.Dataset | None:
        """The session's result for (frame, model, stride), else the server-wide one on disk
        (``ds``: the frame's data when it is not ``owner.dataset`` yet)."""
        key = self._key
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        ds = self.owner.dataset if ds is None else ds
        if self._disk is not None and ds is not None:
            found = self._disk.get(self._disk_key(ds), ds)
            if found is not None:
                self._remember(key, found)
                return found
        return None

    def _remember(self, key: tuple[str, str, int], result: xr.Dataset) -> None:
        self._cache[key] = result
        while len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)

    @param.depends("model_name", "time_stride", watch=True)
    def _model_changed(self) -> None:
        self.owner.denoised = self._cache_get()

    @property
    def model_kind(self) -> str:
        """ "window" (9-date windows: the time stride applies) or "series" (whole series at
        once: no stride), from the weights registry (nothing is loaded)."""
        from insar_ae.model import read_registry

        try:
            entry = read_registry().get(self.model_name, {})
        except Exception:  # a broken registry is reported when denoising starts
            entry = {}
        return str((entry.get("config") or {}).get("kind", "window"))

    @property
    def is_cached(self) -> bool:
        return self._key in self._cache or (
            self._disk is not None
            and self.owner.dataset is not None
            and self._disk.path(self._disk_key()).exists()
        )

    def start_denoise(self) -> DenoiseJob | None:
        """Denoise the current frame off the UI thread; instant when (frame, model, stride) is cached.

        Returns the running job (poll it with :meth:`poll_denoise`), or None on a cache hit and
        when the server already runs as many jobs as it may (:func:`app.jobs.max_jobs`): then
        nothing starts, the status stays as it was and ``denoise_message`` and ``notice`` say
        that the server is busy.
        """
        if self._job is not None and not self._job.finished:
            return self._job
        cached = self._cache_get()
        owner = self.owner
        if cached is not None:  # the owner's watchers first (new data), then this part's
            with batch_call_watchers(self), batch_call_watchers(owner):
                owner.denoised = cached
                self.denoise_status, self.denoise_fraction = "done", 1.0
                self.denoise_message, self.denoise_error = "cached result", ""
            return None
        job = DenoiseJob(owner.dataset, self.options, frame=owner.frame)
        job.cache_key = self._disk_key() if self._disk is not None else None  # type: ignore[attr-defined]
        try:
            job.start()
        except JobsBusy as busy:
            with batch_call_watchers(self), batch_call_watchers(owner):
                self.denoise_message = str(busy)
                owner.notice = str(busy)  # shown to the user as a warning
            return None
        self._job = job
        self.denoise_error = ""
        self.poll_denoise()  # a very short run may already have ended here: still return it
        return job

    def cancel_denoise(self) -> None:
        """Ask the running job to stop (at its next tile batch)."""
        if self._job is not None:
            self._job.cancel()

    def poll_denoise(self) -> bool:
        """Copy the job's progress into params (session thread); True once it has ended.

        A job started on another frame reports as "(frame) ..." and, once done, leaves the
        status of the frame shown as it is (its result waits in the cache)."""
        job = self._job
        if job is None:
            return True
        info = job.describe()
        job_key = _result_key(job.frame, job.options)
        other = job_key != self._key
        with param.parameterized.batch_call_watchers(self):
            self.denoise_fraction = info["fraction"]
            self.denoise_message = f"({job.frame}) {info['message']}" if other else info["message"]
            self.denoise_eta_s = info["eta_s"]
            self.denoise_error = info["error"]
            self.denoise_status = info["status"]
        if not job.finished:
            return False
        self._job = None
        if job.status == "done" and job.result is not None:
            result = job.result[[v for v in KEEP if v in job.result]]
            self._remember(job_key, result)
            disk_key = getattr(job, "cache_key", None)
            if self._disk is not None and disk_key:  # written off the UI thread (compression)
                threading.Thread(
                    target=self._disk.put,
                    args=(disk_key, result),
                    daemon=True,
                    name="insar-ae-cache-put",
                ).start()
            if not other:
                self.owner.denoised = result
        if other:
            with param.parameterized.batch_call_watchers(self):
                shown = self.owner.denoised is not None
                self.denoise_status = "done" if shown else "idle"
                self.denoise_fraction = 1.0 if shown else 0.0
                self.denoise_message = f"{job.frame}: {job.status} (kept for when you go back)"
        return True

    @property
    def job(self) -> DenoiseJob | None:
        return self._job


def _result_key(frame: str, options: DenoiseOptions) -> tuple[str, str, int]:
    """The session cache's key: frame, model and time stride (the options the page varies)."""
    return (frame, options.model, options.time_stride)
