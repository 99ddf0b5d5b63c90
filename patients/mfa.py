"""The staff second factor: a TOTP authenticator and one-use recovery codes (django-otp).

The QR code is drawn here as SVG (qrcode), never fetched from an outside service.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django_otp import match_token
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from qrcode import QRCode
from qrcode.image.svg import SvgPathImage

from .models import RECOVERY_CODE_HASHER, RecoveryCode, RecoveryDevice, User

TOTP_DEVICE_NAME = "authenticator"
RECOVERY_DEVICE_NAME = "recovery codes"


def totp_device_pending(*, user: User) -> TOTPDevice:
    """The user's unconfirmed authenticator, created if she has none yet."""
    device, _created = TOTPDevice.objects.get_or_create(
        user=user, name=TOTP_DEVICE_NAME, confirmed=False
    )
    return device


def has_confirmed_device(user: User) -> bool:
    return bool(TOTPDevice.objects.filter(user=user, confirmed=True).exists())


def qr_svg(text: str) -> str:
    """An SVG QR code of ``text`` (the otpauth:// URL), to be shown inline."""
    qr = QRCode(box_size=8, border=2, image_factory=SvgPathImage)
    qr.add_data(text)
    qr.make(fit=True)
    return str(qr.make_image().to_string(encoding="unicode"))


@transaction.atomic
def totp_device_confirm(*, device: TOTPDevice, token: str) -> list[str] | None:
    """Confirm the authenticator with a first code; return fresh recovery codes, or None."""
    if not device.verify_token(token.strip().replace(" ", "")):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=device.user, confirmed=False).delete()
    return recovery_codes_renew(user=device.user)


@transaction.atomic
def recovery_codes_renew(*, user: User) -> list[str]:
    """Replace the user's recovery codes with new one-use codes, returned to be shown to her
    once; only their hashes are stored."""
    device, _created = RecoveryDevice.objects.get_or_create(
        user=user, name=RECOVERY_DEVICE_NAME, defaults={"confirmed": True}
    )
    device.codes.all().delete()
    codes = [StaticToken.random_token() for _ in range(settings.AIMSS_RECOVERY_CODES)]
    RecoveryCode.objects.bulk_create(
        [
            RecoveryCode(device=device, code_hash=make_password(c, hasher=RECOVERY_CODE_HASHER))
            for c in codes
        ]
    )
    return codes


def second_factor_match(*, user: User, token: str) -> object | None:
    """The confirmed device that accepts ``token`` (a recovery code is used up), if any."""
    device: object | None = match_token(user, token.strip().replace(" ", ""))
    return device
