"""The demo county's later steps: each area (outreach, cases, relief) registers one from its
``AppConfig.ready()``::

    register_step(order=20, build=build_demo_visits)

``build(*, seed)`` runs after the household roll, must be deterministic and idempotent like
the rest of the demo (a rerun changes nothing), and returns one line for the console.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    order: int
    build: Callable[..., str]


STEPS: list[Step] = []


def register_step(*, order: int, build: Callable[..., str]) -> None:
    if all(step.build is not build for step in STEPS):
        STEPS.append(Step(order, build))
        STEPS.sort(key=lambda step: step.order)
