"""minqing's benchmarks: ``python -m bench [NAME ...]`` (``./dev.sh bench``); see README.md.

A benchmark is a module in this package (not starting with ``_``) that defines

    NAME = "regions.load"             # what the runner prints and matches on the command line
    DESCRIPTION = "one line"          # shown by ``python -m bench --list``
    def run() -> Result: ...

or, for several benchmarks in one module, ``BENCHMARKS = [SimpleNamespace(NAME=..., DESCRIPTION=...,
run=...), ...]`` (bench/households.py).

``run()`` measures, and returns a :class:`Result`: the workload, the figures it timed (ours
and the peer or bare-SQL baseline timed in the same process run), and the target. Benchmarks
report; they never assert. A missed target is printed as MISSED and the exit code stays 0.
"""

import importlib
import pkgutil
from dataclasses import asdict, dataclass, field, replace
from types import ModuleType, SimpleNamespace

__all__ = ["Figure", "Result", "best_of", "discover", "select"]


@dataclass
class Figure:
    """One timed thing: a line of the table."""

    label: str
    seconds: float | None = None  # wall time
    cpu_seconds: float | None = None  # this process's CPU time, where measured
    rows: int | None = None  # rows handled, for rows/s
    peak_rss: int | None = None  # bytes, the high-water mark while it ran
    start_rss: int | None = None  # bytes, resident when it started
    note: str = ""

    @property
    def rows_per_s(self) -> float | None:
        if self.seconds and self.rows:
            return self.rows / self.seconds
        return None


@dataclass
class Result:
    name: str
    workload: str  # "665,271 rows"
    ours: Figure  # the figure the target and the ratio are about
    target_seconds: float | None = None
    target_label: str = ""  # "< 15 s on SQLite"
    baseline: Figure | None = None  # the peer or bare-SQL baseline, same process run
    baseline_name: str = ""  # "bare executemany"
    figures: list[Figure] = field(default_factory=list)  # every line of the table, in order
    notes: list[str] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)
    # The ratio as "the baseline is N times slower" (a peer library) instead of ours / baseline.
    invert_ratio: bool = False

    @property
    def met(self) -> bool | None:
        if self.target_seconds is None or self.ours.seconds is None:
            return None
        return self.ours.seconds < self.target_seconds

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or not self.baseline.seconds or not self.ours.seconds:
            return None
        if self.invert_ratio:
            return self.baseline.seconds / self.ours.seconds
        return self.ours.seconds / self.baseline.seconds

    @property
    def ratio_label(self) -> str:
        baseline = self.baseline_name or (self.baseline.label if self.baseline else "")
        return f"{baseline} / ours" if self.invert_ratio else f"ours / {baseline}"

    def summary(self) -> str:
        """``regions.load: 665,271 rows in 8.4 s (target < 15 s: OK); bare executemany 3.1 s;
        ratio 2.7x``"""
        line = f"{self.name}: {self.workload} in {self.ours.seconds:.1f} s"
        if self.met is not None:
            line += f" (target {self.target_label or f'< {self.target_seconds:g} s'}: "
            line += "OK)" if self.met else "MISSED)"
        if self.baseline is not None and self.baseline.seconds is not None:
            line += f"; {self.baseline_name or self.baseline.label} {self.baseline.seconds:.1f} s"
        if self.ratio is not None:
            line += f"; {self.ratio_label} {self.ratio:.1f}x"
        return line

    def as_json(self) -> dict:
        data = asdict(self)
        data.update(met=self.met, ratio=self.ratio, summary=self.summary())
        for figure, raw in zip(self.figures, data["figures"], strict=True):
            raw["rows_per_s"] = figure.rows_per_s
        return data


def best_of(results: list[Result]) -> Result:
    """One result from repeated runs of a benchmark: each line of the table is its fastest
    run (wall time), the one least disturbed by other work on the machine. Memory figures
    stay those of the first run, before earlier runs left the heap grown."""
    first = results[0]
    if len(results) == 1:
        return first
    figures = []
    for i, figure in enumerate(first.figures):
        same = [r.figures[i] for r in results if len(r.figures) > i]
        same = [f for f in same if f.label == figure.label and f.seconds is not None]
        best = min(same, key=lambda f: f.seconds) if same else figure
        figures.append(replace(best, peak_rss=figure.peak_rss, start_rss=figure.start_rss))

    def pick(wanted: Figure | None) -> Figure | None:
        if wanted is None:
            return None
        return next((f for f in figures if f.label == wanted.label), wanted)

    notes = [f"best of {len(results)} runs for each line (wall time); memory of the first run"]
    for result in results:
        notes += [n for n in result.notes if n not in notes]
    return Result(
        name=first.name,
        workload=first.workload,
        ours=pick(first.ours),
        target_seconds=first.target_seconds,
        target_label=first.target_label,
        baseline=pick(first.baseline),
        baseline_name=first.baseline_name,
        figures=figures,
        notes=notes,
        invert_ratio=first.invert_ratio,
    )


def discover() -> dict[str, ModuleType]:
    """{NAME: benchmark} for every benchmark in this package, sorted by NAME: a module with
    ``NAME`` and ``run``, or each entry of a module's ``BENCHMARKS`` list (objects with
    ``NAME``, ``DESCRIPTION`` and ``run``), which the module's name selects together."""
    found = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if callable(getattr(module, "run", None)) and getattr(module, "NAME", None):
            found[module.NAME] = module
        for entry in getattr(module, "BENCHMARKS", ()):
            found[entry.NAME] = SimpleNamespace(
                NAME=entry.NAME,
                DESCRIPTION=entry.DESCRIPTION,
                run=entry.run,
                __name__=module.__name__,
            )
    return dict(sorted(found.items()))


def select(registry: dict[str, ModuleType], wanted: list[str]) -> list[ModuleType]:
    """The benchmarks the command line names: a full NAME (``regions.load``), its module
    (``regions``) or a prefix of NAME up to a dot. No names: all of them."""
    if not wanted:
        return list(registry.values())
    chosen: list[ModuleType] = []
    for word in wanted:
        matches = [
            module
            for name, module in registry.items()
            if word in (name, module.__name__.rpartition(".")[2]) or name.startswith(word + ".")
        ]
        if not matches:
            known = ", ".join(registry) or "none"
            raise SystemExit(f"bench: no benchmark called {word!r} (known: {known})")
        chosen.extend(m for m in matches if m not in chosen)
    return chosen
