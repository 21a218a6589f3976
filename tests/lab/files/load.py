"""Bounded HTTPS load from the lab client: count every response while something changes.

Each worker keeps one HTTPS connection (SNI = the site's name, verified against the lab's CA) to
one of the proxies, and sends GET requests one after another until the stop file appears, the
time is up or the request budget is spent (back to back, or paced by --interval). A request that fails because a kept-alive connection
was closed before any byte of the response came back is sent again once on a new connection, as
browsers and HTTP libraries do for idempotent requests (RFC 9112, 9.3.1); these are counted as
`retried`. Anything else that is not the expected status is a failure. With --fallback, a worker that
cannot connect to its proxy (refused, unreachable, timed out: nothing sent yet) tries the next one, as a
browser does with the addresses a name resolves to; these are counted as `fell back`. Every request's
start time and duration are kept for the latency percentiles and the slow requests of the summary.

Usage: python3 load.py --proxies 198.51.100.10,198.51.100.13 --name polls.djangoops.test
           --ca /lab/pki/pebble-production-root.pem --path /polls/ --stop /tmp/stop --out /tmp/load.json
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import os
import socket
import ssl
import threading
import time


class Worker(threading.Thread):
    def __init__(self, args: argparse.Namespace, proxies: list[str], budget: threading.Semaphore, deadline: float) -> None:
        super().__init__(daemon=True)
        self.args, self.budget, self.deadline = args, budget, deadline
        # The proxy in use first; the others only with --fallback, in turn.
        self.proxies = proxies if args.fallback else proxies[:1]
        self.proxy = proxies[0]
        self.timings: list[tuple[float, float, str, str]] = []  # start, seconds, served by (or the failure), proxy
        self.failure_times: list[float] = []  # when each failed request ended (its error or status came back)
        self.context = ssl.create_default_context(cafile=args.ca)
        self.counts: collections.Counter = collections.Counter()
        self.failures: list[str] = []
        self.connection: http.client.HTTPSConnection | None = None
        self.used = False  # whether the current connection has carried a request already

    def _connect(self) -> http.client.HTTPSConnection:
        start = self.proxies.index(self.proxy)
        for attempt, proxy in enumerate(self.proxies[start:] + self.proxies[:start]):
            try:
                sock = socket.create_connection((proxy, 443), timeout=self.args.connect_timeout)
            except OSError:
                if attempt == len(self.proxies) - 1:
                    raise
                self.counts["fell back"] += 1
                continue
            self.proxy = proxy  # kept while it answers
            break
        sock.settimeout(self.args.timeout)
        connection = http.client.HTTPSConnection(self.proxy, 443, timeout=self.args.timeout, context=self.context)
        # Connect to the proxy's address but present the site's name, as a browser resolving it would.
        connection.sock = self.context.wrap_socket(sock, server_hostname=self.args.name)
        self.used = False
        return connection

    def _request(self) -> http.client.HTTPResponse:
        if self.connection is None:
            self.connection = self._connect()
        self.connection.request("GET", self.args.path, headers={"Host": self.args.name})
        response = self.connection.getresponse()
        response.read()
        self.used = True
        return response

    def run(self) -> None:
        next_start = time.monotonic()
        while time.monotonic() < self.deadline and not os.path.exists(self.args.stop):
            if not self.budget.acquire(blocking=False):
                return
            # Paced (--interval): the lab's 2 cores also run the playbook the load watches.
            time.sleep(max(0.0, next_start - time.monotonic()))
            next_start = time.monotonic() + self.args.interval
            started, began = time.time(), time.monotonic()
            try:
                try:
                    response = self._request()
                except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as error:
                    if not self.used:
                        raise
                    # The server closed a kept-alive connection (a reload retires old workers).
                    self.counts["retried"] += 1
                    self.connection.close()
                    self.connection = None
                    response = self._request()
                status = response.status
                self.counts["requests"] += 1
                self.counts["status %d" % status] += 1
                self.counts["served by %s" % response.getheader("X-Served-By", "-")] += 1
                self.counts["version %s" % response.getheader("X-App-Version", "-")] += 1
                outcome = response.getheader("X-Served-By", "-")
                if status != self.args.expect:
                    self.counts["failed"] += 1
                    self.failure_times.append(time.time())
                    self.failures.append("%.3f %s HTTP %d" % (time.time(), self.proxy, status))
                    outcome = "HTTP %d" % status
                self.timings.append((started, time.monotonic() - began, outcome, self.proxy))
                if response.getheader("Connection", "").lower() == "close":
                    self.connection.close()
                    self.connection = None
            except (OSError, http.client.HTTPException) as error:
                self.counts["requests"] += 1
                self.counts["failed"] += 1
                self.failure_times.append(time.time())
                self.failures.append("%.3f %s %s: %s" % (time.time(), self.proxy, type(error).__name__, error))
                self.timings.append((started, time.monotonic() - began, type(error).__name__, self.proxy))
                if self.connection is not None:
                    self.connection.close()
                self.connection = None


def percentile(ordered: list[float], share: float) -> float:
    """The nearest-rank percentile of sorted values (0 for none)."""
    if not ordered:
        return 0.0
    return ordered[max(0, min(len(ordered), -(-int(share * 1000) * len(ordered) // 1000)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proxies", required=True, help="comma-separated proxy addresses")
    parser.add_argument("--name", required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--path", default="/")
    parser.add_argument("--expect", type=int, default=200)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--interval", type=float, default=0.0,
                        help="each worker starts at most one request per this many seconds (0: back to back)")
    parser.add_argument("--max-seconds", type=float, default=300)
    parser.add_argument("--max-requests", type=int, default=200000)
    parser.add_argument("--connect-timeout", type=float, default=10, help="seconds to connect to a proxy")
    parser.add_argument("--timeout", type=float, default=10, help="seconds a request may wait for its answer")
    parser.add_argument("--fallback", action="store_true",
                        help="on a failed connection, try the other proxies in turn (the addresses of one name)")
    parser.add_argument("--slow", type=float, default=1.0, help="requests longer than this many seconds are listed")
    parser.add_argument("--stop", required=True, help="stop once this file exists")
    parser.add_argument("--out", required=True, help="JSON summary written here at the end")
    args = parser.parse_args()

    proxies = args.proxies.split(",")
    budget = threading.Semaphore(args.max_requests)
    started = time.time()
    deadline = time.monotonic() + args.max_seconds
    # Worker i starts on proxy i (modulo), then falls back to the next ones.
    workers = [Worker(args, proxies[i % len(proxies):] + proxies[:i % len(proxies)], budget, deadline)
               for i in range(args.workers)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    total: collections.Counter = collections.Counter()
    for worker in workers:
        total.update(worker.counts)
    timings = sorted(timing for worker in workers for timing in worker.timings)
    durations = sorted(seconds for _start, seconds, _outcome, _proxy in timings)
    summary = {
        "started": started, "seconds": round(time.time() - started, 1), "counts": dict(sorted(total.items())),
        "failures": sorted(failure for worker in workers for failure in worker.failures)[:50],
        "failure_times": sorted(when for worker in workers for when in worker.failure_times),
        "latency": {name: round(percentile(durations, share), 3) for name, share in
                    (("p50", 0.50), ("p90", 0.90), ("p99", 0.99), ("max", 1.0))},
        # Start time, seconds, served by (or what failed), proxy.
        "slow": [[round(start, 3), round(seconds, 3), outcome, proxy]
                 for start, seconds, outcome, proxy in timings if seconds > args.slow][:1000],
    }
    with open(args.out + ".tmp", "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=1)
    os.replace(args.out + ".tmp", args.out)


if __name__ == "__main__":
    main()
