#!/usr/bin/env bash
# End-to-end test of the Python route: build the wheel, install it into a fresh virtualenv,
# and run the harness from a directory outside the clone. Called by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf dist/*.whl
start=$(date +%s)
scripts/build-wheel.sh >/dev/null
wheel=$(ls dist/qc_harness-*.whl | head -n1)
echo "wheel: $wheel ($(du -k "$wheel" | cut -f1) KiB, ${QC_WHEEL_PROFILE:-release} profile, built in $(( $(date +%s) - start )) s)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --no-index "$wheel"
cd "$work"   # outside the clone: no fixtures/, no snapshots/
export PATH="$work/venv/bin:$PATH"
[ "$(command -v qc-harness)" = "$work/venv/bin/qc-harness" ] || { echo "qc-harness is not on PATH from the venv" >&2; exit 1; }
qc-harness --version
qc-harness fixtures | head -n 3
out=$(qc-harness run --variants default --checks auth 2>&1) || { echo "$out" >&2; echo "wheel test: the run failed" >&2; exit 1; }
last=$(printf '%s\n' "$out" | tail -n1)
echo "$last"
case "$last" in *" passed, 0 failed"*) ;; *) echo "wheel test: unexpected last line" >&2; exit 1 ;; esac
[ ! -e snapshots ] || { echo "wheel test: the run created ./snapshots outside a snapshot store" >&2; ls snapshots | head >&2; }
echo "wheel test: ok"
