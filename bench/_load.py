"""A small HTTP load tool for loopback: ``python -m bench._load`` reads a JSON spec on stdin
({port, seconds, warmup, campaign, start, clients: [{token, household}], cpu: {pgid,
database}}), runs one keep-alive connection per client, each posting one visit after another
to /api/outreach/visits, and prints {requests, ok, errors, seconds, p50, p99} as JSON for the
requests after the warm-up (default 3 s, not counted). Plain asyncio sockets: no library
between the measurement and the wire.

Closed loop by default: each client sends its next request when the last one is answered, so
the server runs flat out and the latency includes the queue (mean = clients / rate). With
``rate`` (requests/s over all clients) the loop is open, as wrk2 does it: client i sends its
k-th request at start + (i + k * clients) / rate, and the latency counts from that scheduled
time, not from when the request went out; a server that falls behind is charged the wait of
every request it delayed (no coordinated omission).

With ``cpu`` (Linux), it also prints the CPU seconds spent over the same window by the server
(the processes of group ``pgid``: gunicorn and its workers), by the PostgreSQL backends
connected to ``database``, and by itself: on a machine shared with other work, CPU per request
is the figure that does not depend on the load."""

import asyncio
import datetime
import json
import os
import sys
import time
import uuid
from pathlib import Path


async def client(spec, entry, index, stop_at, latencies, counts, warm_until):
    reader = writer = None
    start = datetime.datetime.fromisoformat(spec["start"] + "T08:00:00+08:00")
    n = 0
    batch = spec.get("batch", 1)
    connection = "keep-alive" if spec.get("keep_alive", True) else "close"
    rate = spec.get("rate")
    interval = len(spec["clients"]) / rate if rate else 0.0
    scheduled = spec["began"] + index / rate if rate else 0.0
    try:
        while time.perf_counter() < stop_at:
            if rate:
                if scheduled >= stop_at:
                    break
                await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
            # Eleven minutes apart: one cadre, one village at a time, never an impossible trip.
            entries = []
            for _ in range(batch):
                entries.append(
                    {
                        "client_id": f"load-{index}-{uuid.uuid4().hex}",
                        "campaign_id": spec["campaign"],
                        "household_id": entry["household"],
                        "visited_at": (start + datetime.timedelta(minutes=11 * n)).isoformat(),
                        "aspects": ["生活"],
                        "found": "基准测试",
                    }
                )
                n += 1
            payload_in = {"visits": entries} if batch > 1 else entries[0]
            body = json.dumps(payload_in, ensure_ascii=False).encode()
            path = "/api/outreach/visits/batch" if batch > 1 else "/api/outreach/visits"
            head = (
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {entry['token']}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: {connection}\r\n\r\n"
            ).encode()
            t = scheduled if rate else time.perf_counter()
            scheduled += interval
            if writer is None:  # the first request, or the server closed the last connection
                reader, writer = await asyncio.open_connection("127.0.0.1", spec["port"])
            writer.write(head + body)
            await writer.drain()
            status_line = await reader.readline()
            length, close = 0, False
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
                elif name.lower() == "connection":
                    close = value.strip().lower() == "close"
            payload = await reader.readexactly(length) if length else b""
            status = int(status_line.split()[1]) if status_line else 0
            if close:
                writer.close()
                reader = writer = None
            if t < warm_until:  # warming up: workers load the app, caches fill
                continue
            latencies.append(time.perf_counter() - t)
            counts["requests"] += 1
            counts["per_client"][index] += 1
            created = json.loads(payload).get("created", 1) if batch > 1 and status == 200 else 1
            if status in (200, 201) and created == batch:
                counts["ok"] += batch
            else:
                counts["errors"] += 1
                if counts["errors"] <= 3:
                    print(status_line, payload[:300], file=sys.stderr)
            if not status_line:
                break
    finally:
        if writer is not None:
            writer.close()


def server_cpu(cpu: dict) -> tuple[float, float]:
    """CPU seconds so far of the server's process group and of the database's backends."""
    tick = os.sysconf("SC_CLK_TCK")
    server = database = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # ended meanwhile
            continue
        seconds = (int(fields[11]) + int(fields[12])) / tick
        if int(fields[2]) == cpu["pgid"]:
            server += seconds
        elif (
            cpu.get("database")
            and command.startswith("postgres: ")
            and (f" {cpu['database']} " in command)
        ):
            database += seconds
    return server, database


async def main():
    spec = json.loads(sys.stdin.read())
    latencies, counts = [], {"requests": 0, "ok": 0, "errors": 0}
    counts["per_client"] = [0] * len(spec["clients"])
    spec["began"] = time.perf_counter()
    warm_until = spec["began"] + spec.get("warmup", 3)
    stop_at = warm_until + spec["seconds"]
    cpu = spec.get("cpu") if Path("/proc/self/stat").exists() else None
    marks = {}

    async def mark_after_warmup():
        await asyncio.sleep(max(0.0, warm_until - time.perf_counter()))
        marks["start"] = (*server_cpu(cpu), time.process_time())

    await asyncio.gather(
        *(
            client(spec, e, i, stop_at, latencies, counts, warm_until)
            for i, e in enumerate(spec["clients"])
        ),
        *([mark_after_warmup()] if cpu else []),
    )
    # Open loop: the requests counted are those scheduled in the window, whatever their wait.
    elapsed = spec["seconds"] if spec.get("rate") else time.perf_counter() - warm_until
    if cpu:
        end = (*server_cpu(cpu), time.process_time())
        names = ("server", "database", "load")
        counts["cpu"] = {n: b - a for n, a, b in zip(names, marks["start"], end, strict=True)}
    latencies.sort()

    def p(q):
        return (
            latencies[min(len(latencies) - 1, round(q * (len(latencies) - 1)))] if latencies else 0
        )

    print(json.dumps({**counts, "seconds": elapsed, "p50": p(0.5), "p99": p(0.99)}))


if __name__ == "__main__":
    asyncio.run(main())
