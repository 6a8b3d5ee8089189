#!/usr/bin/env bash
# Builds the `qc-harness` wheel (the binary inside, maturin `bin` bindings) into dist/.
#
#   scripts/build-wheel.sh                      # for this machine
#   scripts/build-wheel.sh --target aarch64-unknown-linux-gnu   # extra flags go to `maturin build`
#   QC_WHEEL_PROFILE=dev scripts/build-wheel.sh                  # another Cargo profile (default: release)
#
# `.ci/run` builds its test wheel with QC_WHEEL_PROFILE=dev: the same packaging around an
# unoptimized binary, in 53 s instead of 155 s (docs/testing.md). Wheels for users are release.
#
# Needs a Rust toolchain and python3; installs maturin into .venv-build/ when it is not on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
maturin=$(command -v maturin || true)
if [ -z "$maturin" ]; then
  [ -x .venv-build/bin/maturin ] || {
    python3 -m venv .venv-build
    .venv-build/bin/pip install --quiet "maturin>=1.5,<2"
  }
  maturin=.venv-build/bin/maturin
fi
# --compatibility linux: the wheel is tagged for this machine's glibc (no manylinux repair, which
# needs patchelf); CI recipes build manylinux wheels with maturin-action instead.
extra=()
[ "$(uname -s)" = Linux ] && extra+=(--compatibility linux)
profile=(--release)
[ -z "${QC_WHEEL_PROFILE:-}" ] || profile=(--profile "$QC_WHEEL_PROFILE")
"$maturin" build "${profile[@]}" --locked --out dist "${extra[@]}" "$@"
ls -l dist/*.whl
