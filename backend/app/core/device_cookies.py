"""Device cookies, after OWASP's "Slow Down Online Guessing Attacks with Device Cookies".

A browser (or any client that keeps cookies) that signed in to an account gets a cookie holding a
random nonce and a signature over the account and that nonce. At a later login for the same account
a valid cookie marks the attempt as coming from a known device: its failures are counted and locked
out per device, not with the account's unknown clients (services/login_limits.py). So whoever locks
an account out by guessing cannot lock out the devices its owner already signed in from.

The signing key is derived from JWT_SECRET (rotating it turns every device back into an unknown one).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

DEVICE_COOKIE = "taskpilot_device"
DEVICE_COOKIE_PATH = "/api/auth"  # only the login and signup routes ever read it
DEVICE_COOKIE_LIFETIME = timedelta(days=180)  # a device unused for half a year is unknown again
NONCE_BYTES = 16
_KEY_LABEL = b"taskpilot device cookie v1"


class DeviceCookies:
    def __init__(self, secret: str) -> None:
        # Dev without JWT_SECRET: a per-process key, like the tokens (cookies die with the process).
        secret_bytes = secret.encode() if secret else secrets.token_bytes(32)
        self._key = hmac.new(secret_bytes, _KEY_LABEL, hashlib.sha256).digest()

    def _signature(self, account: str, nonce: str) -> str:
        return hmac.new(self._key, f"{account}\x00{nonce}".encode(), hashlib.sha256).hexdigest()

    def issue(self, account: str) -> str:
        """A new cookie value for this account (`account` is login_limits.account_key of the email)."""
        nonce = secrets.token_urlsafe(NONCE_BYTES)
        return f"{nonce}.{self._signature(account, nonce)}"

    def device(self, cookie: str | None, account: str) -> str | None:
        """The device's nonce when `cookie` is a valid device cookie for this account, else None."""
        if not cookie or len(cookie) > 200:
            return None
        nonce, _, signature = cookie.partition(".")
        expected = self._signature(account, nonce).encode()
        if not nonce or not hmac.compare_digest(signature.encode("utf-8", "replace"), expected):
            return None
        return nonce
