"""The signature on every delivery (Stripe's scheme): ``Couponsite-Signature:
t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed by the secret>``."""

import hashlib
import hmac

SIGNATURE_HEADER = "Couponsite-Signature"
EVENT_ID_HEADER = "Couponsite-Event-Id"
EVENT_TYPE_HEADER = "Couponsite-Event-Type"


def signature(*, secret: str, timestamp: int, body: bytes) -> str:
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(*, secret: str, timestamp: int, body: bytes) -> str:
    return (
        f"t={timestamp},v1={signature(secret=secret, timestamp=timestamp, body=body)}"
    )
