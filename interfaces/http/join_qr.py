"""QR codes drawn as SVG by the ``qrcode`` package (pure Python: no imaging library): a site's
join page, and an appointment's check-in code for the kiosk's scanner. Error correction M, so a
printed code survives a crease or a smudge; a white ground, so a code shown on a dark page still
has the light quiet zone a scanner needs."""

from __future__ import annotations

import io

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from qrcode.image.svg import SvgPathFillImage


def qr_matrix(text: str) -> list[list[bool]]:
    """The modules of ``text``'s QR code, quiet zone included (``True`` is dark)."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4)
    code.add_data(text)
    code.make(fit=True)
    return code.get_matrix()


def qr_svg(text: str) -> bytes:
    """An SVG document of ``text``'s QR code, one path on a white ground, scalable to any
    print size."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4, image_factory=SvgPathFillImage)
    code.add_data(text)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image().save(buffer)
    return buffer.getvalue()
