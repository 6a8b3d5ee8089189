#!/usr/bin/env python3
"""A minimal relay stand-in for the driver tests.

Listens on 127.0.0.1:$PORT; GET /ready answers 200, any other GET 404, any POST 200.
Options:
  --ignore-term     ignore SIGTERM (so do the children it starts: SIG_IGN survives exec)
  --children N      start N `sleep 300` processes in the same process group
  --env-out FILE    write {"env": {...contract variables...}, "argv": [...]} to FILE
  --print-lines N   print N lines on stdout before listening
"""
import argparse
import http.server
import json
import os
import signal
import subprocess
import sys

CONTRACT = ["PORT", "CLEVERTAP_API_URL", "CLEVERTAP_ACCOUNT_ID", "CLEVERTAP_PASSCODE",
            "CLEVERTAP_REGION", "QONVERSION_WEBHOOK_TOKEN", "RELAY_SETTINGS"]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/ready" else 404)
        self.end_headers()

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        self.rfile.read(length)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ignore-term", action="store_true")
    parser.add_argument("--children", type=int, default=0)
    parser.add_argument("--env-out")
    parser.add_argument("--print-lines", type=int, default=0)
    args, rest = parser.parse_known_args()
    if args.ignore_term:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for _ in range(args.children):
        subprocess.Popen(["sleep", "300"])
    if args.env_out:
        with open(args.env_out, "w") as out:
            json.dump({"env": {k: os.environ.get(k) for k in CONTRACT}, "argv": rest}, out)
    for i in range(args.print_lines):
        print(f"line {i}")
    print("listen.py: ready", file=sys.stderr, flush=True)
    sys.stdout.flush()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler)
    server.serve_forever()


if __name__ == "__main__":
    main()
