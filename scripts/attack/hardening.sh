#!/usr/bin/env bash
# Reproduces the hardening defects of issue 12 against one qc-harness binary:
#   scripts/attack/hardening.sh BINARY   (about 2 minutes; needs python3 and curl)
# Prints one line per defect: "<defect>: DEFECT PRESENT|fixed (details)".
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
Q=$(realpath "${1:?usage: hardening.sh PATH-TO-qc-harness}"); W=$(mktemp -d); cd "$W"
say() { printf '%-58s %s\n' "$1" "$2"; }
rawsend() { python3 - "$1" "$2" <<'PY'
import socket,sys
s=socket.create_connection(("127.0.0.1",int(sys.argv[1])));s.settimeout(2)
s.sendall(sys.argv[2].encode().decode('unicode_escape').encode('latin1'));s.shutdown(socket.SHUT_WR)
try: s.recv(256)
except Exception: pass
PY
}
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

# 1. flag values that panicked (exit 101)
for args in "run --timeout 1e20" "run --startup-timeout 1e20" "prop --relay-lines cat --cases 1 --line-timeout 1e20" \
            "clevertap --latency 1e30s" "clevertap --fault 1=delay:1e30s" "send trial_started.ios --retry --time-scale 1e-300 --to http://127.0.0.1:9 --token t"; do
  timeout 20 $Q $args >out 2>err; rc=$?
  if [ $rc = 101 ] || grep -q panicked err; then say "flag: $args" "DEFECT PRESENT (exit $rc, panic)"; else say "flag: $args" "fixed (exit $rc: $(grep -v '^$' err | head -1 | cut -c1-70))"; fi
done

# 2. huge latency accepted then every upload panics
P=$(port); $Q clevertap --listen 127.0.0.1:$P --latency 1e19s >fo 2>fe & pid=$!; sleep 1
code=$(curl -s -o /dev/null -w '%{http_code}' -m 3 -XPOST 127.0.0.1:$P/1/upload -H 'X-CleverTap-Account-Id: TEST-ACC-000' -H 'X-CleverTap-Passcode: TEST-PASSCODE' -d '{"d":[]}'); kill $pid 2>/dev/null; wait $pid 2>/dev/null
if grep -q panicked fe; then say "clevertap --latency 1e19s then upload" "DEFECT PRESENT (panic, http $code)"; else say "clevertap --latency 1e19s then upload" "fixed (http $code, $(head -c 70 fe | tr '\n' ' '))"; fi

# 3. a panic per odd request (cut-off body, bad chunked, bad absolute URL)
P=$(port); $Q clevertap --listen 127.0.0.1:$P -q >fo 2>fe & pid=$!; sleep 1
rawsend $P 'POST /1/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"d":['
rawsend $P 'POST /1/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nnot hex\r\n'
rawsend $P 'POST http://[::1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n'
sleep 0.5; kill $pid; wait $pid 2>/dev/null
n=$(grep -c panicked fe); if [ "$n" != 0 ]; then say "odd requests to the fake" "DEFECT PRESENT ($n panics on stderr)"; else say "odd requests to the fake" "fixed (no panic on stderr)"; fi

# 4. run --clevertap-listen 0.0.0.0 warns
timeout 120 $Q run --clevertap-listen 0.0.0.0:0 --checks none --no-snapshots --variants default >ro 2>re
if grep -qi "warn\|network\|expos" re ro; then say "run --clevertap-listen 0.0.0.0 warns" "fixed"; else say "run --clevertap-listen 0.0.0.0 warns" "DEFECT PRESENT (no warning)"; fi

# 5. secrets in reports: a relay that prints the passcode and token
cat > leak.sh <<'SH'
echo "passcode=$CLEVERTAP_PASSCODE token=$QONVERSION_WEBHOOK_TOKEN"; exec python3 -m http.server $PORT --bind 127.0.0.1
SH
timeout 300 $Q run --relay-cmd "sh leak.sh" --checks none --no-snapshots --variants default --json r.json --junit r.xml -vv >so 2>se
n=$(cat so se r.json r.xml 2>/dev/null | grep -c "TEST-PASSCODE\|qc-harness-test-token")
if [ "$n" != 0 ]; then say "secrets in human/JSON/JUnit/-vv output" "DEFECT PRESENT ($n lines carry a secret)"; else say "secrets in human/JSON/JUnit/-vv output" "fixed (0 lines)"; fi

# 6. a daemonizing relay escapes
cat > daemon.sh <<'SH'
(setsid sh -c 'exec sleep 3131' &) ; exec python3 -m http.server $PORT --bind 127.0.0.1
SH
timeout 300 $Q run --relay-cmd "sh daemon.sh" --checks none --no-snapshots --variants default >/dev/null 2>&1
sleep 0.5; n=$(pgrep -fc "sleep 3131"); pkill -f "sleep 3131"
if [ "$n" != 0 ]; then say "daemonizing relay (setsid) escapes" "DEFECT PRESENT ($n left)"; else say "daemonizing relay (setsid) escapes" "fixed (0 left)"; fi

# 7. SIGTERM / SIGHUP to run leaves relays and folders; report complete
for sig in TERM HUP; do
  mkdir -p t$sig; ( cd t$sig; TMPDIR=$PWD $Q run --no-snapshots --json r.json >/dev/null 2>&1 & echo $! > pid; wait ) & sleep 2.5
  kill -$sig $(cat t$sig/pid); sleep 3
  left=$(pgrep -fc "reference-relay"); folders=$(ls -d t$sig/qc-harness-relay-* 2>/dev/null | wc -l)
  ok=$(python3 -c "import json,sys;d=json.load(open('t$sig/r.json'));print('complete' + (' interrupted' if d.get('interrupted') else ''))" 2>/dev/null || echo "truncated/missing")
  if [ "$left" != 0 ] || [ "$folders" != 0 ]; then say "SIG$sig to run" "DEFECT PRESENT ($left relays, $folders folders, report $ok)"; else say "SIG$sig to run" "fixed (0 relays, 0 folders, report $ok)"; fi
  pkill -f reference-relay
done

# 8. a symlink planted as .snap.new is written through
echo original > outside.txt
mkdir -p snap; timeout 120 $Q run --variants default --checks none --snapshots snap --accept >/dev/null 2>&1
f=$(ls snap/*.snap 2>/dev/null | head -1)
if [ -n "$f" ]; then rm -f "$f"; ln -s "$W/outside.txt" "$f.new"; timeout 120 $Q run --variants default --checks none --snapshots snap >/dev/null 2>&1; fi
if [ "$(cat outside.txt)" != original ]; then say "symlink .snap.new written through" "DEFECT PRESENT (outside file overwritten)"; else say "symlink .snap.new written through" "fixed or not reproduced (outside file intact; snapshot file: ${f:-none})"; fi
# 8b. a corrupt snapshot is an input error (exit 2, naming the file), and no case leaves the totals
if [ -n "$f" ]; then
  g=$(ls snap/*.snap | head -1); echo "not an insta snapshot" > "$g"
  timeout 120 $Q run --variants default --checks none --snapshots snap --json c.json >co 2>ce; rc=$?
  cases=$(python3 -c "import json;print(len(json.load(open('c.json'))['cases']))" 2>/dev/null || echo "?")
  all=$(ls snap/*.snap | wc -l)
  if [ $rc = 2 ] && grep -q "$(basename "$g")" co ce && [ "$cases" -ge "$all" ]; then say "corrupt snapshot" "fixed (exit 2, names the file, $cases cases in the report)"; else say "corrupt snapshot" "DEFECT PRESENT (exit $rc, $cases cases in the report for $all snapshots)"; fi
fi

# 8c. an early Ctrl-C exits 130
# (job control on, so that the background run does not start with SIGINT ignored)
set -m; $Q run --no-snapshots >/dev/null 2>&1 & ipid=$!; sleep 0.3; kill -INT $ipid; wait $ipid; rc=$?; set +m
if [ "$rc" = 130 ]; then say "early Ctrl-C" "fixed (exit 130)"; else say "early Ctrl-C" "DEFECT PRESENT (exit $rc)"; fi

# 9-13. the fake's front: readiness, header timeout, body limit, connection cap, out of descriptors
python3 "$HERE/front.py" "$Q"
cd /; rm -rf "$W"
