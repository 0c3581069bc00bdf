"""Denoising of a dashboard session: device, model and time-stride choice, off-thread runs,
results cached per (frame, model, time stride). A param mixin of :class:`app.state.DashboardState` (no panel import)."""

from __future__ import annotations

from collections import OrderedDict

import param
import xarray as xr

from app.frames import KEEP
from app.jobs import DenoiseJob

__all__ = ["DenoiseSession"]

_CACHE_SIZE = 4  # denoised results kept per session
#: Time-window strides offered (dates between the starts of successive 9-date windows).
TIME_STRIDES = {"every window (best)": 1, "every 2nd window": 2, "every 4th window (fastest)": 4}


class DenoiseSession(param.Parameterized):
    """Denoising state; expects ``frame``, ``dataset`` and ``denoised`` from DashboardState."""

    model_name = param.Selector(default="default", objects=["default"], doc="Shipped model.")
    device = param.Selector(default="cpu", objects=["cpu"], doc="Torch device for denoising.")
    time_stride = param.Selector(default=1, objects=list(TIME_STRIDES.values()),
                                 doc="Dates between successive 9-date windows: 1 = best, 4 = about "
                                     "4x faster. Default 1 on a GPU, 4 on a CPU.")
    denoise_status = param.Selector(default="idle",
                                    objects=["idle", "running", "done", "cancelled", "error"])
    denoise_fraction = param.Number(default=0.0, bounds=(0.0, 1.0))
    denoise_message = param.String(default="")
    denoise_eta_s = param.Number(default=None, allow_None=True)
    denoise_error = param.String(default="")

    def _init_denoising(self) -> None:
        self._cache: OrderedDict[tuple[str, str, int], xr.Dataset] = OrderedDict()
        self._job: DenoiseJob | None = None
        self._init_models()

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
    def _key(self) -> tuple[str, str, int]:
        """What a denoised result depends on: frame, model and time stride."""
        return (self.frame, self.model_name, int(self.time_stride))

    def _cache_get(self) -> xr.Dataset | None:
        key = self._key
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        return None

    @param.depends("model_name", "time_stride", watch=True)
    def _model_changed(self) -> None:
        self.denoised = self._cache_get()

    @property
    def is_cached(self) -> bool:
        return self._key in self._cache

    def start_denoise(self) -> DenoiseJob | None:
        """Denoise the current frame off the UI thread; instant when (frame, model, stride) is cached.

        Returns the running job (poll it with :meth:`poll_denoise`), or None on a cache hit.
        """
        if self._job is not None and not self._job.finished:
            return self._job
        cached = self._cache_get()
        if cached is not None:
            with param.parameterized.batch_call_watchers(self):
                self.denoised = cached
                self.denoise_status, self.denoise_fraction = "done", 1.0
                self.denoise_message, self.denoise_error = "cached result", ""
            return None
        self._job = DenoiseJob(self.dataset, model_name=self.model_name, device=self.device,
                               frame=self.frame, time_stride=int(self.time_stride))
        self.denoise_error = ""
        self._job.start()
        self.poll_denoise()
        return self._job

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
        job_key = (job.frame, job.model_name, job.time_stride)
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
            self._cache[job_key] = result
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
            if not other:
                self.denoised = result
        if other:
            with param.parameterized.batch_call_watchers(self):
                self.denoise_status = "done" if self.denoised is not None else "idle"
                self.denoise_fraction = 1.0 if self.denoised is not None else 0.0
                self.denoise_message = f"{job.frame}: {job.status} (kept for when you go back)"
        return True

    @property
    def job(self) -> DenoiseJob | None:
        return self._job
