"""Where other areas follow the registry, set from their ``AppConfig.ready()``.

``household_changed``: callbacks given the ids of households whose make-up changed, called in
the transaction of the change: a household registered or moved to another village, a member
moved in or out, a category granted or ended, an import. Outreach enrols such a household in
the campaigns still running and refreshes its must-visit rule.
"""

from collections.abc import Callable, Iterable

household_changed: list[Callable[[list[int]], None]] = []


def changed(household_ids: Iterable[int | None]) -> None:
    ids = sorted({pk for pk in household_ids if pk})
    if ids:
        for hook in household_changed:
            hook(ids)
