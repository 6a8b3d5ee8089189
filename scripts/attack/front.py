"""The fake's front (issue 12) against one `qc-harness` binary: front.py BINARY (about 25 s).

Prints one line per defect: "<defect>  DEFECT PRESENT|fixed (details)".
"""
import os, resource, socket, subprocess, sys, time

Q = sys.argv[1]
HEAD = ("POST /1/upload HTTP/1.1\r\nHost: x\r\nX-CleverTap-Account-Id: TEST-ACC-000\r\n"
        "X-CleverTap-Passcode: TEST-PASSCODE\r\nContent-Type: application/json\r\n")
BODY = b'{"d":[{"identity":"u1","type":"event","evtName":"e","evtData":{}}]}'
UPLOAD = (HEAD + f"Content-Length: {len(BODY)}\r\n\r\n").encode() + BODY


def say(defect, verdict):
    print(f"{defect:<58} {verdict}", flush=True)


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


def start(port, nofile=None):
    def limit():
        if nofile:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
    return subprocess.Popen([Q, "clevertap", "--listen", f"127.0.0.1:{port}", "-q"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, preexec_fn=limit)


def connect(port, deadline=10.0):
    end = time.time() + deadline
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=2)
        except OSError:
            if time.time() > end:
                raise
            time.sleep(0.0005)


def answer(sock, wait=2.0):
    sock.settimeout(wait); data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = next((int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")), 0)
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        return head.split(b"\r\n")[0].decode(errors="replace"), rest
    except OSError:
        return None, b""


def stop(proc):
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill(); proc.wait()


# 9. readiness: the first request to a fresh fake gets the fake's answer, never wiremock's bare 404.
bare = 0; odd = []
for _ in range(50):
    port = free_port(); proc = start(port)
    s = connect(port); s.sendall(UPLOAD); status, body = answer(s, 5); s.close(); stop(proc)
    if status is None or " 200 " not in status:
        bare += 1; odd.append(f"{status} {body[:20]!r}")
say("first upload to a fresh fake (50 starts)",
    f"DEFECT PRESENT ({bare}/50 not answered 200: {odd[:2]})" if bare else "fixed (50/50 answered 200)")

# 10. header timeout: a client that never finishes its headers is cut off (10 s).
port = free_port(); proc = start(port); s = connect(port); s.sendall(HEAD.encode())
t0 = time.time(); s.settimeout(15)
try:
    closed = s.recv(1024) is not None
except OSError:
    closed = False
held = time.time() - t0; s.close(); stop(proc)
say("partial headers (slowloris)", f"fixed (cut off after {held:.1f} s)" if held < 14 else f"DEFECT PRESENT (held {held:.0f} s)")

# 11. body limit: a 300 MB Content-Length gets 413 before the body is sent.
port = free_port(); proc = start(port); s = connect(port)
s.sendall((HEAD + "Content-Length: 300000000\r\n\r\n").encode()); status, _ = answer(s, 5); s.close(); stop(proc)
say("300 MB Content-Length", f"fixed ({status})" if status and " 413 " in status else f"DEFECT PRESENT (answer in 5 s: {status})")

# 12. connection cap (1024 by default): the 1025th keep-alive connection waits.
resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
port = free_port(); proc = start(port, nofile=4096); held_open = []
for _ in range(1024):
    s = connect(port); s.sendall(UPLOAD); status, _ = answer(s, 5); held_open.append(s)
extra = connect(port); extra.sendall(UPLOAD); status, _ = answer(extra, 1.5)
served_beside = status is not None and " 200 " in status
for s in held_open:
    s.close()
status2, _ = answer(extra, 5) if not served_beside else (status, b"")
extra.close(); stop(proc)
say("1025th connection beside 1024 open ones",
    "DEFECT PRESENT (served: no cap)" if served_beside else f"fixed (waited; served once others closed: {status2})")

# 13. out of descriptors: the fake recovers once connections close (never dies silently).
port = free_port(); proc = start(port, nofile=64); socks = []
for _ in range(100):
    try:
        socks.append(connect(port, 1))
    except OSError:
        break
time.sleep(1)
for s in socks:
    s.close()
time.sleep(0.5)
try:
    s = connect(port, 2); s.sendall(UPLOAD); status, _ = answer(s, 3); s.close()
except OSError as e:
    status = f"refused ({e.__class__.__name__})"
alive = proc.poll() is None; stop(proc); err = proc.stderr.read().decode(errors="replace")
ok = status is not None and " 200 " in status
say("ulimit -n 64, 100 connections, then an upload",
    f"fixed ({status})" if ok else f"DEFECT PRESENT (upload: {status}; process alive: {alive}; stderr lines: {len(err.splitlines())})")
