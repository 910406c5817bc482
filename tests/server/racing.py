"""Racing requests: every call sent at once, each from its own thread and connection."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from typing import Any

import httpx

# (bearer token, path, JSON body or None): one POST of a race.
Call = tuple[str, str, dict[str, Any] | None]
# (path, status, problem code or None): what one call got back.
Answer = tuple[str, int, str | None]


def race_posts(
    url: str,
    calls: Sequence[Call],
    *,
    headers: dict[str, str] | None = None,
    timeout: float = 60,
) -> list[Answer]:
    """POST every call at once (a barrier is the start line), each with `headers` too; the
    answers in call order."""
    barrier = threading.Barrier(len(calls), timeout=timeout)
    answers: list[Answer | None] = [None] * len(calls)

    def run(n: int) -> None:
        token, path, body = calls[n]
        with httpx.Client(
            base_url=url,
            headers={"Authorization": f"Bearer {token}", **(headers or {})},
            timeout=timeout,
        ) as http:
            http.get("/healthz")  # connected before the start line
            barrier.wait()
            response = http.post(path, json=body)
            code = response.json().get("code") if response.status_code >= 400 else None
            answers[n] = (path, response.status_code, code)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(2 * timeout)
    assert None not in answers, answers
    return [answer for answer in answers if answer is not None]


def tally(answers: Sequence[Answer]) -> Counter[tuple[int, str | None]]:
    """How many calls got each (status, problem code)."""
    return Counter((status, code) for _, status, code in answers)
