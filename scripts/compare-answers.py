#!/usr/bin/env python3
"""Compares the fake CleverTap's answers of two `qc-harness` binaries, byte for byte.

Starts `EXE clevertap --listen 127.0.0.1:PORT --account-id A --passcode P -q
--max-concurrency 1000` for each binary in turn, POSTs every file of CORPUS (sorted by name)
to `/1/upload`, and compares the status and the body of each answer. Exit code 0 when every
answer is identical, 1 otherwise (the differing files are listed).

    scripts/compare-answers.py OLD_EXE NEW_EXE CORPUS_DIR
    # a corpus of 2,000 generated bodies:
    # QC_STREAM_CORPUS=/tmp/corpus cargo test --lib write_a_corpus -- --ignored
"""
import http.client
import os
import socket
import subprocess
import sys
import time
from collections import Counter


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, deadline=10.0):
    start = time.monotonic()
    while time.monotonic() - start < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    sys.exit(f"the fake on port {port} did not start within {deadline} s")


def answers(exe, corpus, files):
    port = free_port()
    fake = subprocess.Popen(
        [exe, "clevertap", "--listen", f"127.0.0.1:{port}", "--account-id", "A", "--passcode", "P",
         "-q", "--max-concurrency", "1000"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port)
        out = []
        for name in files:
            with open(os.path.join(corpus, name), "rb") as f:
                body = f.read()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("POST", "/1/upload", body, {
                "X-CleverTap-Account-Id": "A", "X-CleverTap-Passcode": "P",
                "Content-Type": "application/json"})
            answer = conn.getresponse()
            out.append((answer.status, answer.read()))
            conn.close()
        return out
    finally:
        fake.terminate()
        fake.wait()


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    old, new, corpus = sys.argv[1:]
    files = sorted(os.listdir(corpus))
    if not files:
        sys.exit(f"{corpus}: no files")
    a, b = answers(old, corpus, files), answers(new, corpus, files)
    differing = [name for name, x, y in zip(files, a, b) if x != y]
    statuses = Counter(status for status, _ in a)
    print(f"{len(files)} bodies; statuses {dict(sorted(statuses.items()))}; differing: {len(differing)}")
    for name in differing[:20]:
        print(f"  {name}")
    sys.exit(1 if differing else 0)


if __name__ == "__main__":
    main()
