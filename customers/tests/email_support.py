"""Helpers for tests that change a customer's email through the API."""

import re

from django.test import TestCase

from messaging.tests.support import mail_sent


def last_emailed_code(to: str | None = None) -> str:
    """The 6-digit code of the last email sent (to ``to``, if given)."""
    sent = [m for m in mail_sent() if to is None or to in m.to]
    return re.search(r"\b(\d{6})\b", sent[-1].body).group(1)


def patch_me(client, body: dict):
    """PATCH /me, running on-commit work (the token cache) even inside a
    test's transaction."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.patch("/api/v1/me", body, format="json")


def ask_email(client, email):
    return patch_me(client, {"email": email})


def verify(client, code):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post("/api/v1/me/email/verify", {"code": code}, format="json")


def verify_email(client, email):
    """Ask for ``email`` and send back the code it was mailed: a verified email."""
    asked = ask_email(client, email)
    assert asked.status_code == 202, asked.json()
    response = verify(client, last_emailed_code(email.strip().lower()))
    assert response.status_code == 200, response.json()
    return response
