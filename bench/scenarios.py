"""What ``make bench`` measures. Each scenario prepares its data, then yields requests.

Later features add their endpoints here; the two ceilings always run first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Request = tuple[str, str, bytes | None, dict[str, str]]


@dataclass
class Prepared:
    request: Callable[[int, int], Request]
    extra: Callable[[], dict[str, Any]] = dict


@dataclass
class Scenario:
    name: str
    description: str
    prepare: Callable[[int, int], Prepared]
    setup: Callable[[dict[str, str]], None] = lambda env: None
    ok_statuses: tuple[int, ...] = (200,)
    ceiling: bool = False
    notes: dict[str, Any] = field(default_factory=dict)


def _fixed(method: str, path: str) -> Callable[[int, int], Prepared]:
    def prepare(port: int, clients: int) -> Prepared:
        return Prepared(request=lambda i, n: (method, path, None, {}))

    return prepare


SCENARIOS: list[Scenario] = [
    Scenario(
        name="ceiling_text",
        description="bare Django view returning a short text",
        prepare=_fixed("GET", "/bench/text/"),
        ceiling=True,
    ),
    Scenario(
        name="ceiling_insert",
        description="bare Django view inserting one row",
        prepare=_fixed("POST", "/bench/insert/"),
        ok_statuses=(201,),
        ceiling=True,
    ),
]
