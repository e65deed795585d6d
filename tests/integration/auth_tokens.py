"""HS256 JSON Web Tokens for the auth plugin tests, signed here with the standard
library's hmac (independently of libjwt, which sluice verifies them with)."""

import base64
import hashlib
import hmac
import json
import time


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256(claims, secret, header=None):
    """A compact JWS of `claims` signed with HMAC-SHA256 under `secret`."""
    head = header or {"alg": "HS256", "typ": "JWT"}
    signing_input = (b64url(json.dumps(head).encode()) + "." +
                     b64url(json.dumps(claims).encode()))
    sig = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(sig)


def in_seconds(n):
    """An exp claim n seconds from now."""
    return int(time.time()) + n
