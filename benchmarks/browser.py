"""Headless Chromium (Debian's ``chromium`` package) for the page tests and the report benchmark.

Chromium is kept off every network: its resolver answers nothing, a proxy on a closed
loopback port takes anything else, and background services (updates, sync, metrics) are off.
So a page that needed anything from outside would show it missing, and nothing leaves the
machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

FLAGS = (
    "--headless",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-breakpad",
    "--no-pings",
    "--metrics-recording-only",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
)


def chromium() -> str | None:
    """The browser's path, or None when it is not installed."""
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    binary = chromium()
    if binary is None:
        raise FileNotFoundError("chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="kopnet-chromium-") as profile:
        argv = [binary, *FLAGS, f"--user-data-dir={profile}", *args]
        if os.geteuid() == 0:
            argv.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        env = {**os.environ, "HOME": profile}
        return subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, check=False, env=env
        )


def dump_dom(page: Path, *, timeout: float = 120) -> str:
    """The DOM after the page loaded (what the browser made of the file)."""
    proc = _run(["--dump-dom", page.resolve().as_uri()], timeout)
    if proc.returncode != 0 or not proc.stdout:
        raise RuntimeError(f"chromium failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc.stdout


def screenshot(page: Path, png: Path, *, size: str = "1280,1600", timeout: float = 120) -> Path:
    """A PNG of the page as the browser draws it."""
    proc = _run([f"--screenshot={png}", f"--window-size={size}", page.resolve().as_uri()], timeout)
    if proc.returncode != 0 or not png.is_file():
        raise RuntimeError(f"chromium screenshot failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return png


def timed_dump(page: Path) -> tuple[float, int]:
    """Seconds to start the browser, load and lay out ``page`` and dump it; DOM size."""
    start = time.perf_counter()
    dom = dump_dom(page)
    return time.perf_counter() - start, len(dom)
