"""Instructions per visit posted, counted by valgrind: a figure the machine's speed does not move.

    .venv/bin/python -m bench._instructions [--pg URL] [--households 5000] [--posts 300]

On this 2-core machine the same timed run moves by ±30% from one minute to the next, which
hides a 10% change in the code. This tool counts instructions instead. It loads the outreach
workload (bench/outreach.py, ``--households``) into a scratch PostgreSQL database, then runs
two child processes under ``valgrind --tool=callgrind``. Each one posts visits through
Django's WSGI handler, called directly, as four cadres in turn: the first posts 20 visits, the
second 20 + ``--posts``. The difference, divided by ``--posts``, is the instructions of one
request: middleware, django-ninja, the service and psycopg, without the start-up. It counts
this Python process only, not the kernel and not PostgreSQL, and repeats to within about 1%.
Needs Debian's valgrind (``apt-get install -y valgrind``); about two minutes.
"""

import argparse
import datetime
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid

WARM_UP = 20


def _child(spec: dict, posts: int) -> None:
    from bench._support import use_database

    use_database(spec["url"])
    from minqing.wsgi import application

    start = datetime.datetime.fromisoformat(spec["start"] + "T08:00:00+08:00")
    for n in range(posts):
        entry = spec["plan"][n % len(spec["plan"])]
        body = json.dumps(
            {
                "client_id": f"count-{uuid.uuid4().hex}",
                "campaign_id": spec["campaign"],
                "household_id": entry["household"],
                "visited_at": (start + datetime.timedelta(minutes=11 * n)).isoformat(),
                "aspects": ["生活"],
                "found": "基准测试",
            },
            ensure_ascii=False,
        ).encode()
        status: list[str] = []
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/api/outreach/visits",
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_AUTHORIZATION": f"Bearer {entry['token']}",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
        }
        response = application(environ, lambda s, _headers, status=status: status.append(s))
        content = b"".join(response)
        response.close()
        if not status[0].startswith("201"):
            raise SystemExit(f"visit {n}: {status[0]} {content[:300]!r}")


def _count(spec_path: str, posts: int) -> int:
    out = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-m",
            "bench._instructions",
            "--child",
            spec_path,
            "--posts",
            str(posts),
        ],
        capture_output=True,
        text=True,
    )
    found = re.search(r"Collected : (\d+)", out.stderr)
    if out.returncode or not found:
        raise SystemExit(f"valgrind run failed:\n{out.stderr[-3000:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pg", default="postgresql://postgres@127.0.0.1:5432/minqing_bench_instructions"
    )
    parser.add_argument("--households", type=int, default=5000)
    parser.add_argument("--posts", type=int, default=300)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        with open(args.child) as handle:
            _child(json.load(handle), args.posts)
        return
    if not shutil.which("valgrind"):
        raise SystemExit("需要 valgrind：apt-get install -y valgrind")

    from bench import outreach
    from bench._support import ROOT, close_database, fresh_postgres, migrate, use_database

    os.chdir(ROOT)
    with fresh_postgres(args.pg) as url:
        use_database(url)
        migrate()
        info = outreach._load(args.households)
        spec = {
            "url": f"{url}?conn_max_age=600",
            "campaign": info["campaign"],
            "plan": outreach._post_plan(info, 4),
            # Eleven minutes apart, as the load tool posts: one village at a time.
            "start": (datetime.date.today() - datetime.timedelta(days=60)).isoformat(),
        }
        close_database()
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            json.dump(spec, handle)
        spec_path = handle.name
        try:
            short = _count(spec_path, WARM_UP)
            long = _count(spec_path, WARM_UP + args.posts)
        finally:
            os.unlink(spec_path)
    per = (long - short) / args.posts
    print(
        f"workload: {info['households']:,} households, {info['visits']:,} visits loaded; "
        f"POST /api/outreach/visits in-process, 4 cadres, {args.posts} posts after {WARM_UP}"
    )
    print(f"instructions per visit posted: {per / 1e6:.2f} M ({short:,} and {long:,} in all)")


if __name__ == "__main__":
    main()
