"""``python -m bench [NAME ...] [--json] [--pg [URL]] [--list]``: run minqing's benchmarks.

Prints a table per benchmark and a final summary line each. A missed target prints MISSED but
the exit code stays 0 (benchmarks report, they don't assert); only a benchmark that crashes
makes it 1.
"""

import argparse
import datetime as dt
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

from bench import Result, best_of, discover, select
from bench._support import ROOT, bench_tmpdir, fmt_int, fmt_mb

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/minqing_bench"


def _git_commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def environment() -> dict[str, str]:
    try:
        import django

        django_version = django.get_version()
    except ImportError:
        django_version = "missing"
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": _git_commit(),
        "python": platform.python_version(),
        "django": django_version,
        "sqlite": sqlite3.sqlite_version,
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        "tmpdir": bench_tmpdir() or tempfile.gettempdir(),
    }


def print_result(result: Result, description: str) -> None:
    print(f"\n== {result.name}: {description}")
    print(f"workload: {result.workload}")
    header = ("", "rows", "seconds", "cpu s", "rows/s", "peak RSS", "RSS at start")
    lines = [
        (
            f.label,
            fmt_int(f.rows),
            "-" if f.seconds is None else f"{f.seconds:.2f}",
            "-" if f.cpu_seconds is None else f"{f.cpu_seconds:.2f}",
            "-" if f.rows_per_s is None else f"{f.rows_per_s:,.0f}",
            fmt_mb(f.peak_rss),
            fmt_mb(f.start_rss),
        )
        for f in result.figures
    ]
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]

    def show(row: tuple[str, ...]) -> str:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        return "  " + "  ".join(cells)

    print(show(header))
    print("  " + "  ".join("-" * w for w in widths))
    for figure, row in zip(result.figures, lines, strict=True):
        print(show(row) + (f"  {figure.note}" if figure.note else ""))
    if result.met is not None:
        verdict = "OK" if result.met else "MISSED  <<<<<<<<<<"
        print(f"target: {result.target_label}: {result.ours.seconds:.2f} s -> {verdict}")
    if result.ratio is not None:
        a, b = result.ours.seconds, result.baseline.seconds
        if result.invert_ratio:
            a, b = b, a
        print(f"ratio {result.ratio_label}: {result.ratio:.2f}x ({a:.2f} s / {b:.2f} s)")
    for note in result.notes:
        print(f"note: {note}")


def write_json(
    out_dir: Path, env: dict[str, str], results: list[Result], errors: dict[str, str]
) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = out_dir / f"{stamp}.json"
    payload = {
        "environment": env,
        "results": [r.as_json() for r in results],
        "errors": errors,
    }
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run (default all)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument(
        "--json", action="store_true", help="also write the results to var/bench/<timestamp>.json"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=int(os.environ.get("BENCH_REPEAT", "1")),
        metavar="N",
        help="run each benchmark N times and keep each line's fastest (env BENCH_REPEAT)",
    )
    parser.add_argument(
        "--pg",
        nargs="?",
        const=os.environ.get("BENCH_PG_URL") or DEFAULT_PG_URL,
        metavar="URL",
        help="also run on PostgreSQL, in a scratch database created and dropped here "
        f"(default {DEFAULT_PG_URL}; the env BENCH_PG_URL does the same)",
    )
    parser.add_argument(
        "--households",
        type=int,
        metavar="N",
        help="households in the generated roll of the households.* benchmarks "
        "(default 230000, 涿州市's size; env BENCH_HOUSEHOLDS)",
    )
    args = parser.parse_args(argv)
    if args.households:
        os.environ["BENCH_HOUSEHOLDS"] = str(args.households)

    registry = discover()
    if args.list:
        for name, module in registry.items():
            print(f"{name:24} {module.DESCRIPTION}")
        return 0
    chosen = select(registry, args.names)
    if args.pg:
        os.environ["BENCH_PG_URL"] = args.pg
    # Read before a benchmark sets Django up (which points MINQING_VAR_DIR at a scratch dir).
    json_dir = Path(os.environ.get("MINQING_VAR_DIR") or ROOT / "var") / "bench"

    env = environment()
    print("minqing benchmarks  " + "  ".join(f"{k}={v}" for k, v in env.items()))
    results: list[Result] = []
    errors: dict[str, str] = {}
    for module in chosen:
        try:
            runs = []
            for i in range(max(args.repeat, 1)):
                print(f"\n... running {module.NAME} ({i + 1}/{max(args.repeat, 1)})", flush=True)
                runs.append(module.run())
            result = best_of(runs)
        except Exception:  # report it and go on with the others
            errors[module.NAME] = traceback.format_exc()
            print(f"\n== {module.NAME}: ERROR\n{errors[module.NAME]}", file=sys.stderr)
            continue
        result.environment = env
        results.append(result)
        print_result(result, module.DESCRIPTION)

    print()
    for result in results:
        print(result.summary())
    for name in errors:
        print(f"{name}: ERROR (see above)")
    if args.json:
        print(f"results written to {write_json(json_dir, env, results, errors)}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
