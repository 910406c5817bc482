"""Bulk creation of N licenses in one request against N single creations (target: ≥ 20×).

    python bench/server_bulk.py [--backend sqlite|postgresql] [--copies 1000] [--rounds 3]

Both sides run in the same process against the same server; the ratio is what counts.
"""

from __future__ import annotations

import argparse
import statistics
import time

import httpx
from portal_process import machine_description, running_portal

SENSOR = "ouster-os1-64"


def single_creations(http: httpx.Client, headers: dict[str, str], prefix: str, n: int) -> float:
    started = time.perf_counter()
    for index in range(1, n + 1):
        body = {"name": f"{prefix}_{index}", "sensor_models": [SENSOR], "sensor_count": 1}
        http.post("/v1/licenses", json=body, headers=headers).raise_for_status()
    return time.perf_counter() - started


def bulk_creation(http: httpx.Client, headers: dict[str, str], prefix: str, n: int) -> float:
    body = {
        "template": {"name": prefix, "sensor_models": [SENSOR], "sensor_count": 1},
        "copies": n,
    }
    started = time.perf_counter()
    answer = http.post("/v1/licenses/bulk", json=body, headers=headers, timeout=120)
    answer.raise_for_status()
    elapsed = time.perf_counter() - started
    assert len(answer.json()["items"]) == n
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--copies", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    n, rounds = args.copies, args.rounds
    quota = n * rounds * 2

    singles, bulks = [], []
    with (
        running_portal(args.backend, lpu=quota, sensors=quota) as portal,
        httpx.Client(base_url=portal.base_url, timeout=30) as http,
    ):
        headers = portal.login(http)
        for round_ in range(rounds):
            singles.append(single_creations(http, headers, f"single-r{round_}", n))
            bulks.append(bulk_creation(http, headers, f"bulk-r{round_}", n))

    single, bulk = statistics.median(singles), statistics.median(bulks)
    print(f"machine: {machine_description()}")
    print(f"backend: {args.backend}, {n} licenses, median of {rounds} rounds")
    print(f"baseline  {n} single POST /v1/licenses: {single:8.3f} s ({n / single:7.0f}/s)")
    print(f"bulk      1 POST /v1/licenses/bulk:     {bulk:8.3f} s ({n / bulk:7.0f}/s)")
    print(f"ratio: bulk is {single / bulk:.1f}x faster than single creations (target >= 20x)")


if __name__ == "__main__":
    main()
