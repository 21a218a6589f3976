"""A webhook receiver on the lab client: what an alerting system's endpoint sees of the proxies' renewal job.

Every POST's JSON body is appended, one per line, to --out, with the sender's address; answers 204.
Bounded: serves until --max-seconds pass.

Usage: python3 webhook.py --port 8099 --out /tmp/webhook.jsonl --max-seconds 900
"""

from __future__ import annotations

import argparse
import http.server
import json
import threading


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--out", required=True)
    parser.add_argument("--max-seconds", type=float, default=900)
    args = parser.parse_args()

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                document = json.loads(body)
            except ValueError:
                document = {"unparsed": body.decode("utf-8", "replace")}
            with open(args.out, "a", encoding="utf-8") as out:
                out.write(json.dumps({"from": self.client_address[0], "path": self.path, "body": document}) + "\n")
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("0.0.0.0", args.port), Receiver)
    threading.Timer(args.max_seconds, server.shutdown).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
