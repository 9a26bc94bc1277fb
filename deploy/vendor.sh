#!/bin/sh
# Vendor the dashboard's chart library (uPlot) from its npm package into the static files, so the
# product needs neither npm nor a CDN at install or run time. Run by `make vendor`; the files it
# writes are committed. To upgrade: change VERSION, set INTEGRITY to the output of
# `npm view uplot@<version> dist.integrity`, run `make vendor`, and update the recorded hashes in
# tests/unit/test_vendored_assets.py (docs/dashboard.md).
set -eu

PACKAGE=uplot
VERSION=1.6.32
INTEGRITY=sha512-KIMVnG68zvu5XXUbC4LQEPnhwOxBuLyW1AHtpm6IKTXImkbLgkMy+jabjLgSLMasNuGGzQm/ep3tOkyTxpiQIw==

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATIC="$ROOT/interfaces/http/static"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

cd "$WORK"
TARBALL=$(npm pack --silent "$PACKAGE@$VERSION")
# npm's integrity is "sha512-" and the base64 of the tarball's SHA-512: compare it ourselves,
# whatever npm's cache did.
ACTUAL="sha512-$(openssl dgst -sha512 -binary "$TARBALL" | base64 | tr -d '\n')"
if [ "$ACTUAL" != "$INTEGRITY" ]; then
  echo "vendor: $TARBALL has integrity $ACTUAL, expected $INTEGRITY: not vendored" >&2
  exit 1
fi
tar -xzf "$TARBALL"
cp package/dist/uPlot.iife.min.js "$STATIC/vendor.uplot.min.js"
cp package/dist/uPlot.min.css "$STATIC/vendor.uplot.min.css"
# MIT: its notice travels with the copy.
cp package/LICENSE "$STATIC/vendor.uplot.min.LICENSE.txt"
echo "vendor: $PACKAGE@$VERSION ($INTEGRITY) -> interfaces/http/static/vendor.uplot.min.{js,css,LICENSE.txt}"
sha256sum "$STATIC/vendor.uplot.min.js" "$STATIC/vendor.uplot.min.css"
