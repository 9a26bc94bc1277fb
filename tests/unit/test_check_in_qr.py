"""The text of an appointment's QR code: ``SQ1:`` and the booking code, nothing else, in the
QR alphanumeric set so the longest code fits the smallest symbol."""

from __future__ import annotations

from uuid import uuid4

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from qrcode.util import MODE_ALPHA_NUM, QRData

from application.public_booking import check_in_payload
from domain.schedule import booking_code


def test_the_payload_is_the_booking_code_after_the_sq1_prefix():
    assert check_in_payload("DEP-K7QMX") == "SQ1:DEP-K7QMX"


def test_every_payload_is_alphanumeric_and_fits_a_version_1_symbol():
    for sequence in range(50):
        payload = check_in_payload(booking_code(uuid4(), "ABC", sequence))  # longest prefix
        assert QRData(payload).mode == MODE_ALPHA_NUM, payload
        code = qrcode.QRCode(error_correction=ERROR_CORRECT_M)
        code.add_data(payload)
        code.make(fit=True)
        assert code.version == 1, payload
