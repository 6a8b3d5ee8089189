#!/usr/bin/env python3
"""How long uploads stall while the journal is read (issue 14: at most 50 ms).

Starts `qc-harness clevertap -q` (the binary given as the first argument), keeps one
keep-alive client uploading 1000-record batches for the whole run, and meanwhile reads the
journal: first nothing (baseline), then every page (`?since=&limit=100`), then the whole
journal at once. Prints the median, 99th-percentile and worst upload latency of each phase,
the reads made, the slowest read, and the load average when each phase started and ended
(on a shared machine the phase without reads shows what the machine itself adds).

    scripts/journal-read-stall.py target/release/qc-harness [SECONDS_PER_PHASE]
"""
import http.client, json, os, socket, subprocess, sys, threading, time

EXE = sys.argv[1]
PHASE = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
HEADERS = {"X-CleverTap-Account-Id": "A", "X-CleverTap-Passcode": "P", "Content-Type": "application/json"}


def body(records=1000):
    one = {"type": "event", "identity": "user-{}", "evtName": "subscription_renewed",
           "evtData": {"product_id": "premium_monthly", "price": 9.99, "currency": "USD",
                       "transaction_id": "1000000123456789", "platform": "iOS"}}
    items = []
    for i in range(records):
        record = dict(one, identity=f"user-{i}")
        items.append(record)
    return json.dumps({"d": items}).encode()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    port = free_port()
    fake = subprocess.Popen([EXE, "clevertap", "--listen", f"127.0.0.1:{port}", "--account-id", "A",
                             "--passcode", "P", "-q", "--max-concurrency", "1000"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    payload = body()
    phase = ["baseline"]
    latencies = {}
    stop = threading.Event()

    def uploader():
        conn = http.client.HTTPConnection("127.0.0.1", port)
        while not stop.is_set():
            started = time.perf_counter()
            conn.request("POST", "/1/upload", payload, HEADERS)
            answer = conn.getresponse()
            answer.read()
            assert answer.status == 200, answer.status
            latencies.setdefault(phase[0], []).append(time.perf_counter() - started)

    def read(path):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        conn.request("GET", path)
        answer = conn.getresponse()
        data = answer.read()
        return answer.getheader("x-qc-next-since"), len(data)

    thread = threading.Thread(target=uploader)
    thread.start()
    reads = {"paged": [0, 0, 0.0], "whole": [0, 0, 0.0]}
    loads = {}
    for name in ["baseline", "paged", "whole"]:
        phase[0] = name
        start_load = os.getloadavg()[0]
        end = time.time() + PHASE
        while time.time() < end:
            if name == "baseline":
                time.sleep(0.05)
            elif name == "paged":
                since = "0"
                while time.time() < end:
                    began = time.perf_counter()
                    nxt, size = read(f"/__harness/requests?since={since}&limit=100&records=true")
                    reads["paged"][0] += 1
                    reads["paged"][1] += size
                    reads["paged"][2] = max(reads["paged"][2], time.perf_counter() - began)
                    if nxt == since:
                        break
                    since = nxt
            else:
                began = time.perf_counter()
                _, size = read("/__harness/requests")
                reads["whole"][0] += 1
                reads["whole"][1] += size
                reads["whole"][2] = max(reads["whole"][2], time.perf_counter() - began)
        loads[name] = f"{start_load:.1f} to {os.getloadavg()[0]:.1f}"
    stop.set()
    thread.join()
    status = {l.split(":")[0]: l.split()[1] for l in open(f"/proc/{fake.pid}/status") if l.startswith("Vm")}
    rss, peak = int(status["VmRSS"]) // 1024, int(status["VmHWM"]) // 1024
    fake.terminate()
    fake.wait()
    print("| phase | uploads | p50 ms | p99 ms | worst ms | journal reads | slowest read | load average |")
    print("|---|--:|--:|--:|--:|---|--:|---|")
    for name in ["baseline", "paged", "whole"]:
        values = sorted(latencies.get(name, [0]))
        p = lambda q: values[min(len(values) - 1, int(q * len(values)))] * 1000
        count, size, slowest = reads.get(name, [0, 0, 0.0])
        what, slow = ("none", "-") if name == "baseline" else (f"{count}, {size / 1e6:.0f} MB", f"{slowest * 1000:.0f} ms")
        print(f"| {name} | {len(values)} | {p(0.5):.1f} | {p(0.99):.1f} | {values[-1] * 1000:.1f} | {what} | {slow} | {loads[name]} |")
    print(f"RSS at the end: {rss} MiB, peak {peak} MiB")


main()
