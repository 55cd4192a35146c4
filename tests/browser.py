"""Headless Chromium for the map tests: launch, DevTools protocol, screenshots.

The tests drive Debian's ``chromium`` over the DevTools protocol with a tiny websocket
client from the standard library (no extra dependency): they record JavaScript dialogs
(``alert`` …), console errors, uncaught exceptions and every network request, open popups
and tooltips, and read the DOM. ``chromium_path()`` finds ``/usr/bin/chromium``; when it is
absent the ``chromium`` fixture skips with the command that installs it (``.ci/run`` installs
it as root; no test installs anything).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from sysdeps import install_hint

__all__ = ["chromium_path", "Browser", "screenshot", "CHROMIUM_FLAGS"]

CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
    "--disable-extensions", "--hide-scrollbars", "--mute-audio", "--disable-dev-shm-usage",
)


def chromium_path() -> tuple[str | None, str]:
    """(path to chromium or None, reason when None: how to install it)."""

    def found() -> str | None:
        for cand in ("/usr/bin/chromium", shutil.which("chromium") or "", shutil.which("chromium-browser") or ""):
            if cand and os.access(cand, os.X_OK):
                return cand
        return None

    if (path := found()) is not None:
        return path, ""
    return None, f"chromium is not installed ({install_hint()})"


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of a headless Chromium, or skip."""
    path, reason = chromium_path()
    if path is None:
        pytest.skip(reason)
    return path


class _WebSocket:
    """Just enough RFC 6455 for the DevTools protocol (text frames, client masking)."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        m = re.match(r"ws://([^/:]+):(\d+)(/.*)", url)
        if not m:
            raise ValueError(f"not a ws:// URL: {url}")
        host, port, path = m.group(1), int(m.group(2)), m.group(3)
        self.sock = socket.create_connection((host, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        req = (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
        self.sock.sendall(req.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("websocket handshake: connection closed")
            head += chunk
        head, _, self._buf = head.partition(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"websocket handshake failed: {head[:200]!r}")

    def _read(self, n: int) -> bytes:
        while len(self._buf) < n:
            chunk = self.sock.recv(max(65536, n - len(self._buf)))
            if not chunk:
                raise ConnectionError("websocket closed")
            self._buf += chunk
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def send(self, text: str) -> None:
        payload = text.encode("utf-8")
        n = len(payload)
        head = bytes([0x81])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if n < 4096 else _mask_fast(payload, mask)
        self.sock.sendall(head + mask + body)

    def recv(self) -> str:
        parts = []
        while True:
            b0, b1 = self._read(2)
            opcode, fin = b0 & 0x0F, b0 & 0x80
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else None
            data = self._read(n)
            if mask:
                data = _mask_fast(data, mask)
            if opcode == 0x9:  # ping
                continue
            if opcode == 0x8:
                raise ConnectionError("websocket closed by the browser")
            parts.append(data)
            if fin:
                return b"".join(parts).decode("utf-8")

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def _mask_fast(data: bytes, mask: bytes) -> bytes:
    import numpy as np

    arr = np.frombuffer(data, dtype=np.uint8)
    m = np.resize(np.frombuffer(mask, dtype=np.uint8), arr.size)
    return (arr ^ m).tobytes()


class Browser:
    """A headless Chromium with one page, driven over the DevTools protocol.

    Attributes (filled while the page runs)
    ----------------------------------------
    dialogs : list of str
        Messages of JavaScript dialogs (alert, confirm, prompt) — each is dismissed.
    errors : list of str
        Console errors, uncaught exceptions and error log entries.
    requests : list of str
        URLs of every network request the page made.
    """

    def __init__(self, chromium: str, *, width: int = 1280, height: int = 900) -> None:
        self.profile = tempfile.mkdtemp(prefix="sinkplan-chromium-")
        self.proc = subprocess.Popen(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", "--remote-debugging-port=0",
             f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.events: list[dict[str, Any]] = []
        self._id = 0
        self.ws = None
        try:
            port = self._devtools_port()
            page = self._page_ws(port)
            self.ws = _WebSocket(page)
            for domain in ("Page", "Runtime", "Log", "Network"):
                self.call(f"{domain}.enable")
        except BaseException:
            self.close()
            raise

    def _devtools_port(self, timeout: float = 30.0) -> int:
        deadline = time.time() + timeout
        assert self.proc.stderr is not None
        while time.time() < deadline:
            line = self.proc.stderr.readline()
            if not line and self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.proc.returncode}")
            m = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
            if m:
                return int(m.group(1))
        raise TimeoutError("chromium did not report its DevTools port")

    def _page_ws(self, port: int) -> str:
        for _ in range(100):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
                targets = json.load(r)
            pages = [t for t in targets if t.get("type") == "page"]
            if pages:
                return pages[0]["webSocketDebuggerUrl"]
            time.sleep(0.05)
        raise RuntimeError("no page target in chromium")

    # -- protocol --------------------------------------------------------------------------
    def _event(self, msg: dict[str, Any]) -> None:
        method, p = msg.get("method"), msg.get("params", {})
        if method == "Page.javascriptDialogOpening":
            self.dialogs.append(p.get("message", ""))
            self.send("Page.handleJavaScriptDialog", {"accept": False})
        elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            self.errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            self.errors.append(d.get("exception", {}).get("description") or d.get("text", "exception"))
        elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            self.errors.append(p["entry"].get("text", ""))
        elif method == "Network.requestWillBeSent":
            self.requests.append(p.get("request", {}).get("url", ""))
        self.events.append(msg)

    def send(self, method: str, params: dict[str, Any] | None = None) -> int:
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params or {}}))
        return self._id

    def call(self, method: str, params: dict[str, Any] | None = None, timeout: float = 60.0) -> dict[str, Any]:
        """Send a command and return its result (events seen meanwhile are recorded)."""
        mid = self.send(method, params)
        deadline = time.time() + timeout
        while time.time() < deadline:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == mid:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self._event(msg)
        raise TimeoutError(method)

    def evaluate(self, expression: str, *, timeout: float = 60.0) -> Any:
        """Value of a JavaScript expression (promises awaited)."""
        r = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True},
                      timeout=timeout)
        if "exceptionDetails" in r:
            raise RuntimeError(f"evaluate failed: {r['exceptionDetails']}")
        return r.get("result", {}).get("value")

    def open(self, path: str | Path, *, ready: str = "document.body && document.body.dataset.sinkplanReady === '1'",
             timeout: float = 30.0) -> float:
        """Open a local file and wait until ``ready`` is true; returns seconds taken."""
        url = Path(path).resolve().as_uri()
        t0 = time.perf_counter()
        self.call("Page.navigate", {"url": url})
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.evaluate(f"!!({ready})"):
                return time.perf_counter() - t0
            time.sleep(0.02)
        raise TimeoutError(f"{path}: page not ready after {timeout} s; errors: {self.errors}")

    def settle(self, seconds: float = 0.3) -> None:
        """Let the page run a little (timers, late errors) while recording events."""
        self.evaluate(f"new Promise(r => setTimeout(r, {int(seconds * 1000)}))")

    def screenshot(self, path: str | Path) -> Path:
        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        Path(path).write_bytes(base64.b64decode(data))
        return Path(path)

    def close(self) -> None:
        if self.ws is not None:
            self.ws.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def screenshot(chromium: str, html: str | Path, png: str | Path, *, width: int = 1280, height: int = 900,
               budget_ms: int = 3000) -> Path:
    """``chromium --headless --screenshot``: render a page to a PNG file."""
    profile = tempfile.mkdtemp(prefix="sinkplan-chromium-")
    try:
        subprocess.run(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={Path(png).resolve()}",
             f"--window-size={width},{height}", f"--virtual-time-budget={budget_ms}", Path(html).resolve().as_uri()],
            check=True, capture_output=True, timeout=120,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return Path(png)
