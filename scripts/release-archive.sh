#!/usr/bin/env bash
# Makes the release archive dist/qc-harness-<version>-<target>.tar.gz and its .sha256 file.
#
#   scripts/release-archive.sh                                  # this machine's target
#   scripts/release-archive.sh --target aarch64-unknown-linux-gnu
#
# The archive holds one folder, qc-harness-<version>-<target>/, with the binary, README.md
# and the docs/ folder. cargo-binstall finds it through [package.metadata.binstall] in Cargo.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
target=""
if [ "${1:-}" = "--target" ]; then target=${2:?--target needs a value}; fi
[ -n "$target" ] || target=$(rustc -vV | sed -n 's/^host: //p')
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
cargo build --release --locked --target "$target"
name="qc-harness-$version-$target"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/$name"
exe=qc-harness
case "$target" in *windows*) exe=qc-harness.exe ;; esac
cp "target/$target/release/$exe" README.md "$stage/$name/"
cp -R docs "$stage/$name/docs"
mkdir -p dist
tar -C "$stage" -czf "dist/$name.tar.gz" "$name"
(cd dist && sha256sum "$name.tar.gz" > "$name.tar.gz.sha256" 2>/dev/null \
  || shasum -a 256 "$name.tar.gz" > "$name.tar.gz.sha256")
ls -l "dist/$name.tar.gz" "dist/$name.tar.gz.sha256"
