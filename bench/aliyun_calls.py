"""What one CAS API call costs certdesk: the real SDK, signed, over loopback HTTP to the stand-in.

Measures status() (one GetInstanceDetail), purchases() (one ListInstances page) and a whole
submit() (ListContact, CreateContact, GetInstanceDetail, UpdateInstance, ApplyCertificate).
The stand-in answers in microseconds, so the figures are certdesk's and the SDK's own cost:
the floor under every poll. Run:

    .venv/bin/python bench/aliyun_calls.py [--calls 300]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# The test helpers build the stand-in and the backend. The repository root goes first so the
# tests' own bot/ folder (a namespace package) never shadows the real bot package.
ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from support.aliyun import backend, standin, submission  # noqa: E402

from bot.crypto.csr import make_csr  # noqa: E402
from bot.crypto.keys import generate_key  # noqa: E402


def timed(fn: Callable[[], object], n: int) -> list[float]:
    """Seconds for each of ``n`` calls of ``fn``."""
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def report(name: str, samples: list[float]) -> None:
    """Print median and p95 in milliseconds."""
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    print(f"{name:<12} n={len(samples):<4} median {statistics.median(samples) * 1000:6.2f} ms"
          f"   p95 {p95 * 1000:6.2f} ms")  # fmt: skip


def main() -> None:
    """Run the measurements and print them."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    n = parser.parse_args().calls
    with tempfile.TemporaryDirectory() as tmp, standin(Path(tmp)) as cas:
        for i in range(n + 20):
            cas.add_instance(f"cas_dv-cn-{i}", "DV", full_domains=1)
        ca = backend(cas)
        csr = make_csr(generate_key("p256"), ["example.com"])
        refs = iter(range(n + 20))

        def submit() -> None:
            i = next(refs)
            ca.submit(
                submission(
                    order_ref=f"CD-{i}",
                    purchase_ref=f"cas_dv-cn-{i}",
                    domains=("example.com",),
                    csr_pem=csr,
                )
            )

        report("submit", timed(submit, n))
        report("status", timed(lambda: ca.status("cas_dv-cn-0"), n))
        report("purchases", timed(ca.purchases, max(1, n // 10)))


if __name__ == "__main__":
    main()
