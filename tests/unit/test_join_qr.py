"""The join page's QR code: an SVG whose dark modules are exactly the QR code of the URL."""

from __future__ import annotations

import re

from interfaces.http.join_qr import qr_matrix, qr_svg

SQUARE = re.compile(r"M(\d+(?:\.\d+)?),(\d+(?:\.\d+)?)H")
URL = "https://queue.example.com/join/demo-bank/0b1e7f0e-51d5-4a3b-9b85-3f0d7e1c2a44"


def dark_modules(svg: bytes) -> set[tuple[int, int]]:
    """The (row, column) of every square the SVG path draws."""
    [path] = re.findall(rb'<path[^>]* d="([^"]+)"', svg)
    return {(int(float(y)), int(float(x))) for x, y in SQUARE.findall(path.decode())}


def test_the_svg_draws_the_qr_code_of_the_url_and_nothing_else():
    svg = qr_svg(URL)
    expected = {
        (row, column)
        for row, modules in enumerate(qr_matrix(URL))
        for column, dark in enumerate(modules)
        if dark
    }
    assert svg.startswith(b"<?xml") and b"<svg" in svg
    assert dark_modules(svg) == expected
    assert dark_modules(svg) != dark_modules(qr_svg(URL + "0"))


def test_the_code_keeps_a_quiet_zone_of_four_modules():
    matrix = qr_matrix(URL)
    border = [*matrix[:4], *matrix[-4:], *(row[:4] + row[-4:] for row in matrix)]
    assert not any(any(row) for row in border)
