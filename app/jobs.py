"""Denoising off the UI thread: one :class:`DenoiseJob` per run (no panel import).

The worker thread only writes plain attributes of the job (floats and strings are assigned
atomically under the GIL); the browser session *polls* the job from its own event loop and
copies what it finds into param values, so no param event or Bokeh model is ever touched from
the worker thread.

At most :func:`max_jobs` runs (``$INSAR_AE_MAX_JOBS``, default 2) go on at a time in one server
process, whatever the number of sessions: each run holds a model, a frame-sized result and the
CPU cores, so a third one would only slow the first two down and grow the server. A start
beyond the cap raises :class:`JobsBusy` (the session shows a "busy" message).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import xarray as xr

from app.settings import positive_int_env
from insar_ae.errors import ParameterError
from insar_ae.model.options import DenoiseOptions

__all__ = ["MAX_JOBS_ENV", "DenoiseJob", "JobsBusy", "max_jobs", "running_jobs"]

log = logging.getLogger(__name__)

#: Environment variable: the most denoising runs one server process does at a time.
MAX_JOBS_ENV = "INSAR_AE_MAX_JOBS"
DEFAULT_MAX_JOBS = 2
_lock = threading.Lock()
_running: set[DenoiseJob] = set()


class JobsBusy(RuntimeError):
    """Raised by :meth:`DenoiseJob.start` when :func:`max_jobs` runs are already going on."""


def max_jobs() -> int:
    """The cap on concurrent denoising runs: ``$INSAR_AE_MAX_JOBS`` (default 2, at least 1)."""
    return positive_int_env(MAX_JOBS_ENV, DEFAULT_MAX_JOBS)


def running_jobs() -> int:
    """Denoising runs going on in this process right now (all sessions)."""
    with _lock:
        return len(_running)


class DenoiseJob:
    """Run ``insar_ae.model.denoise`` on a daemon thread with progress and cancellation.

    Parameters
    ----------
    ds
        Canonical dataset to denoise (displacement in mm, positive toward the satellite).
    options
        :class:`insar_ae.model.DenoiseOptions` of the run: ``model`` a shipped model's name
        (``insar_ae.model.load_model``), ``device`` one of
        ``insar_ae.model.available_devices()``, ``time_stride`` the dates between the starts of
        successive 9-date windows (1 = every window, best; larger = proportionally faster).
    frame
        Catalog entry the dataset came from (bookkeeping for the result cache).
    """

    def __init__(self, ds: xr.Dataset, options: DenoiseOptions, *, frame: str = "") -> None:
        if not isinstance(options, DenoiseOptions):
            raise ParameterError(f"options must be a DenoiseOptions, got {type(options).__name__}")
        self.ds = ds
        self.frame = frame
        self.options = options
        self.fraction = 0.0
        self.message = "queued"
        self.status = "idle"  # idle | running | done | cancelled | error
        self.error: str = ""
        self.result: xr.Dataset | None = None
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self._progress_at: float | None = None
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None

    # -- control (session thread) -------------------------------------------------------
    def start(self) -> DenoiseJob:
        """Start the worker thread (returns self); :class:`JobsBusy` when :func:`max_jobs`
        runs are going on already (the job is then not started and stays "idle")."""
        with _lock:
            if len(_running) >= max_jobs():
                raise JobsBusy(
                    f"The server is busy: {len(_running)} denoising runs are going on, the "
                    f"most it does at a time (set by {MAX_JOBS_ENV}). Try again when one "
                    "has finished."
                )
            _running.add(self)
        self.status = "running"
        self.message = "loading model"
        self.started_at = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="insar_ae-denoise", daemon=True)
        try:
            self._thread.start()
        except BaseException:
            with _lock:
                _running.discard(self)
            raise
        return self

    def cancel(self) -> None:
        """Ask the worker to stop at its next progress point (``denoise`` raises Cancelled)."""
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run ends (tests and scripts only); return True if it ended."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.finished

    @property
    def finished(self) -> bool:
        return self.status in {"done", "cancelled", "error"}

    @property
    def elapsed_s(self) -> float:
        if self.started_at is None:
            return 0.0
        end = self.finished_at if self.finished_at is not None else time.monotonic()
        return end - self.started_at

    @property
    def eta_s(self) -> float | None:
        """Seconds left, extrapolated linearly from the progress so far (None before any)."""
        f = self.fraction
        if self.status != "running" or f <= 0.0 or self._progress_at is None:
            return None
        spent = self._progress_at - (self.started_at or self._progress_at)
        return max(spent * (1.0 - f) / f - (time.monotonic() - self._progress_at), 0.0)

    # -- worker thread --------------------------------------------------------------------
    def _on_progress(self, fraction: float, message: str) -> None:
        self.fraction = min(max(float(fraction), 0.0), 1.0)
        self.message = str(message)
        self._progress_at = time.monotonic()

    def _run(self) -> None:
        from insar_ae.model import Cancelled, denoise, load_model

        try:
            model = load_model(self.options.model, device=self.options.device)
            self.message = "denoising"
            result = denoise(
                self.ds, self.options, model=model, progress=self._on_progress, cancel=self._cancel
            )
        except Cancelled:
            self.message = "cancelled"
            self.status = "cancelled"
        except Exception as exc:  # shown in the page, never a dead page
            log.exception("denoising failed")
            self.error = f"{type(exc).__name__}: {exc}"
            self.message = "failed"
            self.status = "error"
        else:
            self.result = result
            self.fraction = 1.0
            self.message = "done"
            self.status = "done"
        finally:
            self.finished_at = time.monotonic()
            self.ds = None  # the job no longer holds the frame (its session may be gone)
            with _lock:
                _running.discard(self)

    def describe(self) -> dict[str, Any]:
        """Snapshot of the job for display (status, fraction, message, eta_s, elapsed_s, error)."""
        return {
            "status": self.status,
            "fraction": self.fraction,
            "message": self.message,
            "eta_s": self.eta_s,
            "elapsed_s": self.elapsed_s,
            "error": self.error,
        }
