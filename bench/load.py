"""Load generation for the benches: wrk when installed, else keep-alive threads in Python.

wrk is in Debian and Ubuntu: `apt-get install -y wrk`. Without it the Python generator runs
(it shares the CPU with the server, so its figures are lower; the ratios still compare).
"""

from __future__ import annotations

import http.client
import re
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Result:
    """Throughput and latency of one load run."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # timeouts, socket errors, non-2xx

    def line(self) -> str:
        """One row of figures."""
        errors = f"  errors {self.errors}" if self.errors else ""
        return (
            f"{self.rps:9.0f} req/s  p50 {self.p50_ms:8.1f} ms  p99 {self.p99_ms:8.1f} ms"
            f"  ({self.requests} requests){errors}"
        )


@dataclass(frozen=True)
class Request:
    """One HTTP request to replay: method, path, headers and body."""

    path: str
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    method: str = "POST"


def tool() -> str:
    """Which generator runs: "wrk" or "python"."""
    return "wrk" if shutil.which("wrk") else "python"


def run(
    port: int, request: Request, *, seconds: float, connections: int = 16, threads: int = 2
) -> Result:
    """Replay ``request`` against 127.0.0.1:``port`` for ``seconds`` with keep-alive."""
    if tool() == "wrk":
        return _wrk(port, request, seconds=seconds, connections=connections, threads=threads)
    return _python(port, request, seconds=seconds, connections=connections)


def _lua(request: Request) -> str:
    def quote(text: str) -> str:
        return "[==[" + text + "]==]"

    lines = [f"wrk.method = {quote(request.method)}", f"wrk.body = {quote(request.body.decode())}"]
    lines += [f"wrk.headers[ {quote(k)} ] = {quote(v)}" for k, v in request.headers]
    return "\n".join(lines) + "\n"


def _wrk(port: int, request: Request, *, seconds: float, connections: int, threads: int) -> Result:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "request.lua"
        script.write_text(_lua(request))
        out = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
            + ["--latency", "--timeout", "5s", "-s", str(script)]
            + [f"http://127.0.0.1:{port}{request.path}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    percentiles = {
        m.group(1): _ms(m.group(2), m.group(3))
        for m in re.finditer(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    }
    total = re.search(r"(\d+) requests in", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return Result(
        rps=float(rps.group(1)) if rps else 0.0,
        p50_ms=percentiles.get("50", float("nan")),
        p99_ms=percentiles.get("99", float("nan")),
        requests=int(total.group(1)) if total else 0,
        errors=errors + (int(non2xx.group(1)) if non2xx else 0),
    )


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _python(port: int, request: Request, *, seconds: float, connections: int) -> Result:
    samples: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        mine: list[float] = []
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            try:
                conn.request(request.method, request.path, request.body, dict(request.headers))
                response = conn.getresponse()
                response.read()
                ok = 200 <= response.status < 300
            except OSError:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                ok = False
            if ok:
                mine.append(time.perf_counter() - start)
            else:
                with lock:
                    errors[0] += 1
        conn.close()
        with lock:
            samples.extend(mine)

    workers = [threading.Thread(target=client) for _ in range(connections)]
    begun = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - begun
    ordered = sorted(samples) or [float("nan")]
    return Result(
        rps=len(samples) / elapsed,
        p50_ms=ordered[len(ordered) // 2] * 1000,
        p99_ms=ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
        requests=len(samples),
        errors=errors[0],
    )


def single(port: int, request: Request, *, count: int, max_seconds: float = 20.0) -> Result:
    """Up to ``count`` requests one after another on one connection (no queueing)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    samples, errors = [], 0
    begun = time.perf_counter()
    for _ in range(count):
        start = time.perf_counter()
        try:
            conn.request(request.method, request.path, request.body, dict(request.headers))
            response = conn.getresponse()
            response.read()
            ok = 200 <= response.status < 300
        except OSError:  # a timeout: the figure is "errors", not a crash
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            ok = False
        if ok:
            samples.append(time.perf_counter() - start)
        else:
            errors += 1
        if time.perf_counter() - begun > max_seconds:
            break
    elapsed = time.perf_counter() - begun
    conn.close()
    ordered = sorted(samples) or [float("nan")]
    return Result(
        rps=len(samples) / elapsed,
        p50_ms=ordered[len(ordered) // 2] * 1000,
        p99_ms=ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
        requests=len(samples),
        errors=errors,
    )
