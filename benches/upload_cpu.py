#!/usr/bin/env python3
"""Server CPU per upload of the standalone fake, from schedstat (issue 14's CPU figure).

Starts `EXE clevertap --listen 127.0.0.1:PORT --account-id A --passcode P -q
--max-concurrency 1000 [$EXTRA]`, warms it up with the perf kit's loadgen, then REPEAT times
(default 3) runs `loadgen --concurrency C --requests N --body BODY` and prints the change of
the sum of `/proc/PID/task/*/schedstat` (the server's CPU time, ns) divided by the requests.
With PERF=FILE, one more run is recorded with `perf record -g` into FILE.

    benches/upload_cpu.py EXE [N [C [BODY]]]
    # BODY: `loadgen gen-body --records 1000 > /tmp/u1000.body` (the default path)
    # LOADGEN: the kit's loadgen (default /tmp/qc-perf-target/release/loadgen, built by
    # ../shared/perf/run_peers.sh)
"""
import glob, json, os, socket, subprocess, sys, time

EXE = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
C = int(sys.argv[3]) if len(sys.argv) > 3 else 1
BODY = sys.argv[4] if len(sys.argv) > 4 else "/tmp/u1000.body"
REPEAT = int(os.environ.get("REPEAT", "3"))
LOADGEN = os.environ.get("LOADGEN", "/tmp/qc-perf-target/release/loadgen")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_ns(pid):
    total = 0
    for path in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            total += int(open(path).read().split()[0])
        except OSError:
            pass  # a thread that ended meanwhile
    return total


def main():
    port = free_port()
    extra = os.environ.get("EXTRA", "").split()
    server = subprocess.Popen([EXE, "clevertap", "--listen", f"127.0.0.1:{port}", "--account-id", "A",
                               "--passcode", "P", "-q", "--max-concurrency", "1000", *extra],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        url = f"http://127.0.0.1:{port}/1/upload"

        def load(n):
            out = subprocess.run([LOADGEN, "--url", url, "--concurrency", str(C), "--requests", str(n),
                                  "--duration-secs", "600", "--body", BODY,
                                  "--header", "X-CleverTap-Account-Id: A", "--header", "X-CleverTap-Passcode: P"],
                                 capture_output=True, text=True, check=True)
            return json.loads(out.stdout.strip().splitlines()[-1])

        load(max(200, N // 10))
        per_request = []
        for _ in range(REPEAT):
            before = cpu_ns(server.pid)
            result = load(N)
            per_request.append((cpu_ns(server.pid) - before) / 1000 / result["requests"])
            print(f"c={C}: {result['requests']} requests, {result['rps']:.0f}/s, server CPU "
                  f"{per_request[-1]:.1f} us/request, non-2xx {result['non_2xx']}, "
                  f"load {os.getloadavg()[0]:.2f}", flush=True)
        if os.environ.get("PERF"):
            record = subprocess.Popen(["perf", "record", "-g", "-F", "2000", "-o", os.environ["PERF"],
                                       "-p", str(server.pid)], stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            load(N)
            record.send_signal(2)
            record.wait()
        rss = [line for line in open(f"/proc/{server.pid}/status") if line.startswith("VmRSS")][0].split()[1]
        print(f"best {min(per_request):.1f} us/request; RSS {int(rss) // 1024} MiB")
    finally:
        server.terminate()
        server.wait()


main()
