"""Headless Chromium over the DevTools protocol: open a page, wait until it has rendered, read
its console and its DOM, take a screenshot. No browser-automation package: Debian's ``chromium``
and the ``websockets`` client the project already installs.

Chromium runs with a fresh profile and no network but loopback: the pages are served from
``127.0.0.1`` by a thread of this process, so anything a page would load from outside fails and
shows as a console error.
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")  # fmt: skip

# What the page reports once every cell has run: error boxes, charts with their marks, tables.
INSPECT = """(() => {
  const main = document.querySelector("#observablehq-main");
  const running = document.querySelectorAll(".observablehq--running, .observablehq--loading").length;
  const errors = [...document.querySelectorAll(".observablehq--error")].map((e) => e.textContent.trim());
  const charts = [...document.querySelectorAll("[data-chart]")].map((svg) => ({
    label: svg.getAttribute("data-chart"),
    rows: Number(svg.getAttribute("data-rows")),
    marks: [...svg.querySelectorAll("g[aria-label]")]
      .filter((g) => !/axis|tick|grid|rule|text|frame/.test(g.getAttribute("aria-label")))
      .reduce((n, g) => n + g.childElementCount, 0)
  }));
  const tables = [...document.querySelectorAll("[data-table]")].map((t) => ({
    label: t.getAttribute("data-table"), rows: Number(t.getAttribute("data-rows") || 0),
    cells: [...t.querySelectorAll("tbody tr")].map((tr) => Object.fromEntries(
      [...tr.querySelectorAll("td")].map((td) => [td.getAttribute("data-key"),
        {text: td.textContent, value: JSON.parse(td.getAttribute("data-value"))}])))
  }));
  const kpis = Object.fromEntries([...document.querySelectorAll("[data-kpi]")].map((k) =>
    [k.getAttribute("data-kpi"), k.querySelector(".big").getAttribute("data-value")]));
  const hot = document.querySelector(".hot-lead-count");
  return {ready: Boolean(main) && running === 0 && document.readyState === "complete",
          title: document.title, errors, charts, tables, kpis,
          hot_lead_count: hot ? hot.getAttribute("data-value") : null,
          text: main ? main.innerText : ""};
})()"""


class BrowserMissing(RuntimeError):
    pass


def chromium_binary() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise BrowserMissing("chromium is not installed (Debian: apt-get install -y chromium)")


@dataclass
class PageReport:
    url: str
    console_errors: list[str] = field(default_factory=list)
    console_warnings: list[str] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    screenshot: Path | None = None


class StaticServer:
    """Serve a folder on 127.0.0.1 (a free port) in a daemon thread."""

    def __init__(self, folder: Path):
        handler = functools.partial(_QuietHandler, directory=str(folder))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.httpd.server_address[1]
        # serve_forever polls for shutdown every 0.5 s by default: the test would wait that long at the end
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01},
                                       daemon=True)  # fmt: skip

    def __enter__(self) -> StaticServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class Chromium:
    """One headless Chromium with a fresh profile, driven over its DevTools websocket."""

    def __init__(self, width: int = 1280, height: int = 900, start_seconds: float = 60.0):
        self.width, self.height, self.start_seconds = width, height, start_seconds
        self.profile = Path(tempfile.mkdtemp(prefix="dashboard-chromium-"))
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Chromium:
        self.process = subprocess.Popen(
            [chromium_binary(), *FLAGS, f"--user-data-dir={self.profile}", "--remote-debugging-port=0",
             f"--window-size={self.width},{self.height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + self.start_seconds
        while not port_file.exists() or not port_file.read_text().strip():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise BrowserMissing(f"chromium did not start (exit code {self.process.poll()})")
            time.sleep(0.1)
        self.port = int(port_file.read_text().split()[0])
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.profile, ignore_errors=True)

    def _target(self) -> str:
        import urllib.request

        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/json/new?about:blank", method="PUT")
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read())["webSocketDebuggerUrl"]

    def render(
        self, url: str, screenshot: Path | None = None, wait_seconds: float = 90.0, full_page: bool = True
    ) -> PageReport:
        """Open ``url`` in a new tab, wait until every cell ran (or ``wait_seconds``), report."""
        from websockets.sync.client import connect

        report = PageReport(url=url)
        with connect(self._target(), max_size=64 * 2**20, open_timeout=30) as ws:
            counter = iter(range(1, 10**9))

            def call(method: str, **params: Any) -> dict:
                ident = next(counter)
                ws.send(json.dumps({"id": ident, "method": method, "params": params}))
                while True:
                    message = json.loads(ws.recv(timeout=60))
                    if message.get("id") == ident:
                        if "error" in message:
                            raise RuntimeError(f"{method}: {message['error']}")
                        return message.get("result", {})
                    _collect(message, report)

            call("Runtime.enable")
            call("Log.enable")
            call("Page.enable")
            call("Emulation.setDeviceMetricsOverride", width=self.width, height=self.height, deviceScaleFactor=1,
                 mobile=False)  # fmt: skip
            call("Page.navigate", url=url)
            deadline = time.monotonic() + wait_seconds
            while True:
                state = call("Runtime.evaluate", expression=INSPECT, returnByValue=True)["result"].get("value") or {}
                if state.get("ready") or time.monotonic() > deadline:
                    break
                time.sleep(0.25)
            # a last look at the console: late errors of cells that just finished
            settle = time.monotonic() + 1.0
            while time.monotonic() < settle:
                try:
                    _collect(json.loads(ws.recv(timeout=0.2)), report)
                except TimeoutError:
                    pass
            report.state = call("Runtime.evaluate", expression=INSPECT, returnByValue=True)["result"].get("value") or {}
            if screenshot is not None:
                shot = call("Page.captureScreenshot", format="png", captureBeyondViewport=full_page)
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                screenshot.write_bytes(base64.b64decode(shot["data"]))
                report.screenshot = screenshot
        return report


def _collect(message: dict, report: PageReport) -> None:
    method, params = message.get("method"), message.get("params", {})
    if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert", "warning"):
        texts = [str(arg.get("value", arg.get("description", ""))) for arg in params.get("args", [])]
        found = report.console_warnings if params["type"] == "warning" else report.console_errors
        found.append("console." + params["type"] + ": " + " ".join(texts))
    elif method == "Runtime.exceptionThrown":
        details = params.get("exceptionDetails", {})
        report.console_errors.append(
            "exception: " + str(details.get("exception", {}).get("description") or details.get("text"))
        )
    elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
        entry = params["entry"]
        report.console_errors.append(f"log: {entry.get('text')} {entry.get('url', '')}".strip())
