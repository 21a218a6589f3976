"""Probe addresses and ports from the lab client every 100 ms, and record every answer.

Each round opens a TCP connection to every target at once and waits at most one interval for them:
an accepted connection is an answer (whatever the app says after it); a refused one (RST) is
counted apart, since it means the host's firewall let the probe in although nothing listens; no
reply (dropped) is what a closed port must give. Bounded: until the stop file appears or
--max-seconds pass.

Usage: python3 probe.py --targets 198.51.100.14:8000,198.51.100.11:8000 --stop /tmp/stop --out /tmp/probe.json
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import selectors
import socket
import time


def probe_round(targets: list[tuple[str, int]], timeout: float) -> dict[str, str]:
    """One connection attempt per target, all at once: 'answered', 'refused' or 'silent'."""
    selector = selectors.DefaultSelector()
    outcome: dict[str, str] = {}
    for address, port in targets:
        name = f"{address}:{port}"
        sock = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        code = sock.connect_ex((address, port))
        if code == 0:
            outcome[name] = "answered"
            sock.close()
        elif code in (errno.EINPROGRESS, errno.EWOULDBLOCK):
            selector.register(sock, selectors.EVENT_WRITE, name)
        else:
            outcome[name] = "refused" if code == errno.ECONNREFUSED else "silent"
            sock.close()
    deadline = time.monotonic() + timeout
    while selector.get_map() and (left := deadline - time.monotonic()) > 0:
        for key, _events in selector.select(left):
            sock = key.fileobj
            code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            outcome[key.data] = "answered" if code == 0 else "refused" if code == errno.ECONNREFUSED else "silent"
            selector.unregister(sock)
            sock.close()
    for key in list(selector.get_map().values()):
        outcome[key.data] = "silent"
        selector.unregister(key.fileobj)
        key.fileobj.close()
    selector.close()
    return outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", required=True, help="address:port,... (IPv6 as [address]:port)")
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--max-seconds", type=int, default=900)
    parser.add_argument("--stop", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    targets = []
    for target in args.targets.split(","):
        address, port = target.rsplit(":", 1)
        targets.append((address.strip("[]"), int(port)))
    counts = {f"{address}:{port}": {"answered": 0, "refused": 0, "silent": 0} for address, port in targets}
    answers: list[dict] = []
    started = time.time()
    rounds = 0
    while not os.path.exists(args.stop) and time.time() - started < args.max_seconds:
        round_start = time.monotonic()
        for name, result in probe_round(targets, args.interval * 0.9).items():
            counts[name][result] += 1
            if result == "answered" and len(answers) < 100:
                answers.append({"target": name, "at": round(time.time() - started, 2)})
        rounds += 1
        time.sleep(max(0.0, args.interval - (time.monotonic() - round_start)))
        # Written each round, so a reader sees the record so far even if this process is killed.
        if rounds % 10 == 0:
            _write(args.out, started, rounds, counts, answers, done=False)
    _write(args.out, started, rounds, counts, answers, done=True)


def _write(path: str, started: float, rounds: int, counts: dict, answers: list, *, done: bool) -> None:
    record = {"seconds": round(time.time() - started, 1), "rounds": rounds, "counts": counts, "answers": answers, "done": done}
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        json.dump(record, handle)
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    main()
