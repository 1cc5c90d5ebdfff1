"""What the simulated CA's CRL costs: recording revocations, signing a CRL, serving a cached one.

A fresh CRL is signed after each revocation and at most hourly otherwise; every other fetch is
served from memory. Prints per-step medians for CRLs of growing size. Run:

    .venv/bin/python bench/crl_signing.py [--sizes 0,1000,10000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.ca.simulated.authority import Authority


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def run(size: int, *, repeats: int) -> None:
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        authority = Authority(Path(tmp) / "ca", now=now, public_url="https://certdesk.example.com")
        started = time.perf_counter()
        for serial in range(1, size + 1):
            authority.revoke(serial, at=now, reason=4)
        per_revoke = (time.perf_counter() - started) / size if size else 0.0

        signing: list[float] = []
        for i in range(repeats):
            later = now + timedelta(hours=2 * (i + 1))  # past the refresh: signs anew
            started = time.perf_counter()
            der = authority.crl_der("issuing", now=later)
            signing.append(time.perf_counter() - started)
        cached: list[float] = []
        for _ in range(repeats * 20):
            started = time.perf_counter()
            authority.crl_der("issuing", now=later)
            cached.append(time.perf_counter() - started)
        print(
            f"{size:>7} revoked: record {per_revoke * 1e6:7.1f} µs each, "
            f"sign {median_ms(signing):8.2f} ms, cached {median_ms(cached) * 1000:6.1f} µs, "
            f"CRL {len(der) / 1024:8.1f} KiB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="0,100,1000,10000")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    for size in (int(s) for s in args.sizes.split(",")):
        run(size, repeats=args.repeats)


if __name__ == "__main__":
    main()
