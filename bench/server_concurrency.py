"""Concurrent clients spending quota: throughput, p99 latency, and overspends (must be 0).

    python bench/server_concurrency.py [--backend sqlite|postgresql] [--workers 4]
                                       [--clients 32] [--pool 600]

Each client creates licenses (1 LPU each) as fast as it can until the pool is exhausted. The
baseline is one client doing the same in the same run; throughput is printed as a ratio to it.
Overspends are counted from the answers and checked against the server's own totals.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import threading
import time
from dataclasses import dataclass, field

import httpx
from portal_process import Portal, machine_description, running_portal

SENSOR = "ouster-os1-64"


@dataclass
class Outcome:
    created: int = 0
    refused: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0


def spend_until_refused(portal: Portal, clients: int, attempts_per_client: int) -> Outcome:
    outcome = Outcome()
    lock = threading.Lock()
    names = itertools.count(1)
    # One sign-in shared by every client: the portal rate-limits sign-ins, and a burst of 32 at
    # once would measure that limit instead of quota spending. A failed thread breaks the
    # barrier (timeout) instead of leaving the others waiting.
    with httpx.Client(base_url=portal.base_url, timeout=60) as http:
        headers = portal.login(http)
    start = threading.Barrier(clients + 1, timeout=60)

    def client() -> None:
        with httpx.Client(base_url=portal.base_url, timeout=60) as http:
            start.wait()
            for _ in range(attempts_per_client):
                with lock:
                    name = f"lic-{next(names)}"
                body = {"name": name, "sensor_models": [SENSOR], "sensor_count": 1}
                began = time.perf_counter()
                answer = http.post("/v1/licenses", json=body, headers=headers)
                took = time.perf_counter() - began
                with lock:
                    outcome.latencies.append(took)
                    if answer.status_code == 201:
                        outcome.created += 1
                    elif answer.json().get("code") == "quota_exceeded":
                        outcome.refused += 1
                    else:
                        outcome.errors += 1
                if answer.status_code != 201:
                    return

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    outcome.elapsed = time.perf_counter() - began
    return outcome


def server_totals(portal: Portal) -> tuple[int, int]:
    with httpx.Client(base_url=portal.base_url) as http:
        me = http.get("/v1/me", headers=portal.login(http)).json()
    return int(me["pool"]["lpu_used"]), int(me["pool"]["lpu_total"])


def run(backend: str, workers: int, clients: int, pool: int) -> tuple[Outcome, int, int]:
    with running_portal(backend, workers=workers, lpu=pool, sensors=pool) as portal:
        outcome = spend_until_refused(portal, clients, attempts_per_client=pool)
        used, total = server_totals(portal)
    return outcome, used, total


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) >= 2 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--pool", type=int, default=600)
    args = parser.parse_args()

    baseline, _, _ = run(args.backend, args.workers, 1, args.pool // 4)
    loaded, used, total = run(args.backend, args.workers, args.clients, args.pool)
    overspent = max(0, loaded.created - args.pool) + max(0, used - total)
    base_rate = baseline.created / baseline.elapsed
    rate = loaded.created / loaded.elapsed

    print(f"machine: {machine_description()}")
    print(f"backend: {args.backend}, {args.workers} server workers, pool {args.pool} LPU")
    print(
        f"baseline 1 client:  {base_rate:7.1f} licenses/s, "
        f"p99 {p99(baseline.latencies) * 1000:7.1f} ms"
    )
    print(
        f"{args.clients} clients:        {rate:7.1f} licenses/s, "
        f"p99 {p99(loaded.latencies) * 1000:7.1f} ms, created {loaded.created}, "
        f"refused {loaded.refused}, other errors {loaded.errors}"
    )
    print(f"ratio: throughput {rate / base_rate:.2f}x the single-client baseline")
    print(f"server totals: lpu_used {used} of {total}; overspends: {overspent} (must be 0)")


if __name__ == "__main__":
    main()
