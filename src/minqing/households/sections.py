"""Sections that other apps add to the household page (visits, cases, payments ...).

An app registers a function in its ``AppConfig.ready()``::

    from minqing.households.sections import register_section
    register_section(order=20, build=household_visits_section)

``build(user, household)`` returns a :class:`Section` (a template and its context), or None
to show nothing; it is called after the reader's access to the household was checked, and
must itself respect what the reader may see (masking, sensitive categories).
"""

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Section:
    template: str
    context: dict = field(default_factory=dict)


_SECTIONS: list[tuple[int, Callable]] = []


def register_section(*, order: int, build: Callable) -> None:
    if all(existing is not build for _, existing in _SECTIONS):
        _SECTIONS.append((order, build))
        _SECTIONS.sort(key=lambda entry: entry[0])


def sections_for(user, household, *, can_write: bool) -> list[Section]:
    sections = []
    for _, build in _SECTIONS:
        section = build(user, household)
        if section is not None:
            section.context.setdefault("household", household)
            section.context.setdefault("can_write", can_write)
            sections.append(section)
    return sections
