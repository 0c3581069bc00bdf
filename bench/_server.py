"""Serving the dashboard for benchmarks and the browser tests: one place for the command.

``panel serve app/main.py`` bound to 127.0.0.1 on a free port (:func:`serve_command`), the default
frame generated into the frame cache first so that page timings time the page
(:func:`warm_default_frame`), and waiting until the server listens (:func:`wait_listening`).
Used by ``bench/load.py``, ``bench/load_waves.py``, ``bench/app_latency.py``,
``bench/browser_latency.py`` and ``tests/app/conftest.py``.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

__all__ = ["REPO", "free_port", "serve_command", "wait_listening", "warm_default_frame"]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_command(port: int, *extra: str) -> list[str]:
    """The ``panel serve app/main.py`` command on 127.0.0.1:``port`` (run it with ``cwd=REPO``),
    followed by ``extra`` options (``--warm``, ``--static-dirs ...``)."""
    return [
        sys.executable,
        "-m",
        "panel",
        "serve",
        "app/main.py",
        "--address",
        "127.0.0.1",
        "--port",
        str(port),
        f"--allow-websocket-origin=127.0.0.1:{port}",
        *extra,
    ]


def warm_default_frame(env: Mapping[str, str]) -> None:
    """Generate the catalog's default frame into the frame cache (a no-op when cached), in a
    separate process with the server's environment."""
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from insar_ae.catalog import DEFAULT_FRAME, open_catalog_frame;"
            "open_catalog_frame(DEFAULT_FRAME)",
        ],
        env=dict(env),
        check=True,
        cwd=REPO,
    )


def wait_listening(port: int, proc: subprocess.Popen, timeout: float) -> float:
    """Seconds until the server accepts connections on 127.0.0.1:``port`` (it binds once ready;
    no session is opened). Raises RuntimeError if it exits, TimeoutError after ``timeout`` s."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"panel serve exited with code {proc.returncode}")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(1.0)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return time.monotonic() - t0
        time.sleep(0.3)
    raise TimeoutError(f"panel serve did not listen on 127.0.0.1:{port} within {timeout} s")
