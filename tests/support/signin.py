"""Sign-in as the hardening tests need it: an authenticator app set up for an account, the code
it shows now, and the words of the per-account wait after failed passwords."""

from __future__ import annotations

import time

from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)

from marketplace.models import User

WAIT_EN = "Too many failed sign-in attempts for this account. Wait"
WAIT_FR = "Trop de tentatives d\u2019ouverture de session ont échoué pour ce compte. Attendez"


def with_totp(user: User) -> str:
    """Set up an authenticator app for `user`; its secret."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def current_code(secret: str) -> str:
    """The code the authenticator app with `secret` shows now."""
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))
