"""A minimal Bokeh-server client for loopback load tests: one *page load* as a browser does it.

A page load (:func:`page_load`) is

1. ``GET`` of the page (e.g. ``http://127.0.0.1:PORT/main``): the Bokeh server creates the
   session and runs the app script (here: builds the dashboard), and the HTML carries the
   session's token;
2. a websocket to ``/main/ws`` with that token (subprotocols ``bokeh`` + token) and the page's
   ``Origin``, Bokeh's ``ACK``;
3. ``PULL-DOC-REQ`` answered by ``PULL-DOC-REPLY``: the whole document (every model of the page),
   which the browser would render.

The "first-page time" is from the start of the ``GET`` until the document has arrived. No
JavaScript runs, so nothing is drawn and no ``document_ready`` callbacks fire; the server does
all the work of a page load except answering the browser's later events. The websocket stays
open (the session is used) until :meth:`PageLoad.close`.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

__all__ = ["PageLoad", "page_load"]

_TOKEN = re.compile(r'"token"\s*:\s*"([^"]+)"|&quot;token&quot;:\s*&quot;([^&]+)&quot;')


@dataclass
class PageLoad:
    """One page load: timings (s), the document's text, the open websocket."""

    status: int = 0
    html_s: float = float("nan")  # until the HTML arrived
    doc_s: float = float("nan")  # until the document arrived (the first-page time)
    doc_text: str = ""
    error: str = ""
    ws: WebSocketClientConnection | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return not self.error and bool(self.doc_text)

    def close(self) -> None:
        """Close the websocket: the browser tab is gone (the server then ends the session)."""
        if self.ws is not None:
            self.ws.close()
            self.ws = None


async def _read_message(ws: WebSocketClientConnection, timeout: float) -> tuple[dict, str]:
    """One Bokeh message: header, metadata, content frames (+ buffer pairs). (header, content)."""
    import asyncio

    frames = []
    for _ in range(3):
        frame = await asyncio.wait_for(ws.read_message(), timeout)
        if frame is None:
            raise ConnectionError("websocket closed by the server")
        frames.append(frame)
    header = json.loads(frames[0])
    for _ in range(int(header.get("num_buffers", 0) or 0)):
        for _ in range(2):  # buffer header, binary payload
            if await asyncio.wait_for(ws.read_message(), timeout) is None:
                raise ConnectionError("websocket closed by the server")
    return header, frames[2] if isinstance(frames[2], str) else frames[2].decode()


def _frame(msgtype: str) -> list[str]:
    header = {"msgid": uuid.uuid4().hex, "msgtype": msgtype}
    return [json.dumps(header), "{}", "{}"]


async def page_load(
    url: str,
    *,
    timeout: float = 120.0,
    origin: str | None = None,
    headers: dict[str, str] | None = None,
) -> PageLoad:
    """Load ``url`` as a browser would (see the module docstring); never raises.

    ``origin`` is sent as the websocket's Origin header (default: the page's own origin, as a
    browser does); ``headers`` go with the ``GET``."""
    out = PageLoad()
    t0 = time.perf_counter()
    parts = urlsplit(url)
    try:
        client = AsyncHTTPClient()
        response = await client.fetch(
            HTTPRequest(url, request_timeout=timeout, headers=headers or {}), raise_error=False
        )
        out.status = response.code
        out.html_s = time.perf_counter() - t0
        if response.code != 200:
            out.error = f"HTTP {response.code}"
            return out
        html = response.body.decode()
        match = _TOKEN.search(html)
        if match is None:
            out.error = "no session token in the page"
            return out
        token = match.group(1) or match.group(2)
        ws_url = f"ws://{parts.netloc}{parts.path.rstrip('/')}/ws"
        request = HTTPRequest(
            ws_url,
            request_timeout=timeout,
            headers={"Origin": origin or f"{parts.scheme}://{parts.netloc}"},
        )
        ws = await websocket_connect(
            request, subprotocols=["bokeh", token], max_message_size=1 << 30
        )
        out.ws = ws
        header, _ = await _read_message(ws, timeout)
        if header.get("msgtype") != "ACK":
            out.error = f"expected ACK, got {header.get('msgtype')}"
            return out
        for frame in _frame("PULL-DOC-REQ"):
            await ws.write_message(frame)
        while True:
            header, content = await _read_message(ws, timeout)
            if header.get("msgtype") == "PULL-DOC-REPLY":
                break
        out.doc_text = content
        out.doc_s = time.perf_counter() - t0
    except Exception as err:  # counted as a failed load, with the reason
        out.error = f"{type(err).__name__}: {err}"
        out.close()
    return out


def doc_json(load: PageLoad) -> dict[str, Any]:
    """The pulled document as JSON (``{"doc": {"roots": ..., "title": ...}}``)."""
    return json.loads(load.doc_text)
