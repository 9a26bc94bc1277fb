"""The chart library the dashboard ships (uPlot, vendored by ``make vendor`` from its npm
package): the committed files are the ones recorded here, of the version the script pins."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "interfaces" / "http" / "static"
SCRIPT = ROOT / "deploy" / "vendor.sh"

# sha256 of each file as `make vendor` copied it out of uplot-1.6.32.tgz (whose sha512 the
# script checks): change them only together with the script's VERSION and INTEGRITY.
RECORDED = {
    "vendor.uplot.min.js": "19c8d4c6ad88929a79f4ae49d6f7161566dfd0ba3d15cc495e974f787eb78f1f",
    "vendor.uplot.min.css": "df630c6a8d6f8eeaff264b50f73ce5b114f646ffd9a0bb74f049b0a00135fa04",
}


def _pinned_version() -> str:
    match = re.search(r"^VERSION=(\S+)$", SCRIPT.read_text(), re.MULTILINE)
    assert match, "deploy/vendor.sh pins no VERSION"
    return match.group(1)


def test_the_vendored_chart_files_are_the_recorded_ones():
    for name, digest in RECORDED.items():
        assert hashlib.sha256((STATIC / name).read_bytes()).hexdigest() == digest, name


def test_the_vendored_script_names_the_pinned_version_in_its_header():
    header = (STATIC / "vendor.uplot.min.js").read_text(encoding="utf-8")[:200]
    assert header.startswith("/*! https://github.com/leeoniya/uPlot")
    assert f"(v{_pinned_version()})" in header


def test_the_licence_notice_travels_with_the_copy():
    notice = (STATIC / "vendor.uplot.min.LICENSE.txt").read_text(encoding="utf-8")
    assert notice.startswith("The MIT License") and "Leon Sorokin" in notice


def test_the_vendor_script_checks_a_pinned_sha512():
    text = SCRIPT.read_text()
    assert re.search(r"^INTEGRITY=sha512-[A-Za-z0-9+/]{86}==$", text, re.MULTILINE)
    assert 'npm pack --silent "$PACKAGE@$VERSION"' in text
