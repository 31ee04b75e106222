"""The end-to-end flow: what a checkout and an app do, through the generated client only.

Each mode has its module (sign-in, lucky draw, voucher pool, claim, rush); each
makes its calls with the generated functions and models of ``couponsite_client``
(imported only once it has been generated) and states what it expects. A
section that cannot go on (a value it needs was refused) stops with a note, and
the others still run, so one run lists every mismatch.
"""

import importlib
import json
import re
import time
import traceback
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import httpx
from couponsite_client import AuthenticatedClient, Client

from contract.harness import Harness

T = TypeVar("T")
TIMEOUT = httpx.Timeout(30.0)
# How long a text or mail sent by the server's task worker is waited for: the
# one worker may be busy with other tasks (a webhook delivery's timeout) first.
WORKER_WAIT = 45


class Stop(Exception):
    """A section cannot go on; the reason is reported, the next section runs."""


@dataclass
class Flow:
    h: Harness
    base_url: str
    staff_token: str
    sms_dir: Path
    mail_log: Path | None = None
    # Staff tokens of two more users (``staff_token``'s is the seeded superuser):
    # one in the Support role (customers.block_customer), one in no role (what
    # a staff user without the permission is refused).
    support_token: str | None = None
    no_role_token: str | None = None
    customers: dict[str, AuthenticatedClient] = field(default_factory=dict)
    # When each customer signed in (time.time()), for waits on the resend gap.
    signed_in_at: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    clients: dict[str, AuthenticatedClient] = field(default_factory=dict)

    @cached_property
    def anon(self) -> Client:
        return Client(
            base_url=self.base_url,
            httpx_args=self.h.recorder.httpx_args,
            timeout=TIMEOUT,
        )

    def client(self, token: str) -> AuthenticatedClient:
        if token not in self.clients:
            self.clients[token] = AuthenticatedClient(
                base_url=self.base_url,
                token=token,
                httpx_args=self.h.recorder.httpx_args,
                timeout=TIMEOUT,
            )
        return self.clients[token]

    @property
    def staff(self) -> AuthenticatedClient:
        return self.client(self.staff_token)

    @property
    def support(self) -> AuthenticatedClient:
        if self.support_token is None:
            raise Stop("no staff token of the Support role (--support-token)")
        return self.client(self.support_token)

    @property
    def no_role(self) -> AuthenticatedClient:
        if self.no_role_token is None:
            raise Stop("no staff token of a user in no role (--no-role-token)")
        return self.client(self.no_role_token)

    def customer(self, name: str) -> AuthenticatedClient:
        if name not in self.customers:
            raise Stop(f"{name} could not sign in")
        return self.customers[name]

    def body(self, function: Callable, data: dict) -> Any:
        """The generated model for ``function``'s body that takes ``data`` (JSON
        form), whichever of the declared body types it is (one model, or a oneOf
        of several); None if none takes it as it is."""
        annotation = typing.get_type_hints(function)["body"]
        for model in typing.get_args(annotation) or (annotation,):
            if not hasattr(model, "from_dict"):
                continue
            try:
                instance = model.from_dict(data)
            except (KeyError, TypeError, ValueError):
                continue
            if not instance.additional_properties:
                return instance
        return None

    def part(self, name: str, function: Callable, *args: Any) -> None:
        """Run a part of a section; if it stops, note it and let the section go on."""
        try:
            function(self, *args)
        except Stop as stop:
            self.notes.append(f"{name}: stopped early: {stop}")

    def need(self, value: T | None, what: str) -> T:
        if value is None:
            raise Stop(f"no {what}")
        return value

    def function(self, method: str, path: str) -> Callable:
        """The generated ``sync_detailed`` of an operation of the schema."""
        operation = self.h.spec.operation(method, path)
        if operation is None:
            raise Stop(f"the schema has no {method.upper()} {path}")
        tag = operation.data.get("tags", ["default"])[0]
        module = importlib.import_module(f"couponsite_client.api.{tag}.{operation.id}")
        return module.sync_detailed

    def _mails_to(self, email: str) -> list[str]:
        """The bodies of the mails to ``email`` the server printed so far
        (Django's console mail backend, into ``mail_log``), oldest first."""
        return [
            message.split("\n\n", 1)[-1]
            for message in self.mail_log.read_text().split("-" * 79)
            if f"To: {email}" in message
        ]

    def mails_to(self, email: str) -> int:
        """How many mails to ``email`` were printed so far (for ``mail_code``)."""
        return 0 if self.mail_log is None else len(self._mails_to(email))

    def mail_code(self, email: str, *, seen: int = 0) -> str | None:
        """The 6-digit code in the newest mail with one to ``email`` among those
        after the first ``seen`` (the server's task worker sends them: waited
        for). Other mail to the address, such as a voucher's code, which the
        worker may send after it, is passed over."""
        if self.mail_log is None:
            return None
        deadline = time.monotonic() + WORKER_WAIT
        while time.monotonic() < deadline:
            codes = [
                found.group(1)
                for body in self._mails_to(email)[seen:]
                if (found := re.search(r"\b(\d{6})\b", body))
            ]
            if codes:
                return codes[-1]
            time.sleep(0.1)
        return None

    def sms_code(self, phone: str, after: float) -> str | None:
        """The code in the newest text to ``phone`` written after ``after``."""
        deadline = time.monotonic() + WORKER_WAIT  # sent by the server's task worker
        while time.monotonic() < deadline:
            newest = None
            for path in sorted(self.sms_dir.glob("*.json")):
                if path.stat().st_mtime < after:
                    continue
                message = json.loads(path.read_text())
                if message["to"] == phone:
                    newest = message
            if newest is not None:
                digits = [w.strip(".") for w in newest["body"].split()]
                return next((w for w in digits if w.isdigit() and len(w) == 6), None)
            time.sleep(0.1)
        return None


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def run(
    h: Harness,
    *,
    base_url: str,
    staff_token: str,
    sms_dir: Path,
    mail_log: Path | None = None,
    support_token: str | None = None,
    no_role_token: str | None = None,
) -> list[str]:
    """Every section in order; the notes of sections that stopped early."""
    flow = Flow(
        h=h,
        base_url=base_url,
        staff_token=staff_token,
        sms_dir=sms_dir,
        mail_log=mail_log,
        support_token=support_token,
        no_role_token=no_role_token,
    )
    sections = [
        ("sign-in", "signin"),
        ("lucky draw", "draw"),
        ("a draw's seeds, verification and simulation", "draw_checks"),
        ("staff block a customer", "block"),
        ("voucher pool", "pool"),
        ("the integration guide's example", "guide"),
        ("claim and hold", "claim"),
        ("flash-sale rush", "rush"),
        ("a customer's export", "export"),
        ("a customer's erasure", "erasure"),
    ]
    for name, module in sections:
        started = time.monotonic()
        try:
            # Imported here: a generated client whose names changed breaks one
            # section, not the run.
            importlib.import_module(f"contract.flow.{module}").run(flow)
        except Stop as stop:
            flow.notes.append(f"{name}: stopped early: {stop}")
        except Exception:
            flow.notes.append(
                f"{name}: the flow itself failed (harness bug or a changed "
                f"generated client):\n{traceback.format_exc()}"
            )
        print(f"contract: {name} done in {time.monotonic() - started:.1f} s")
    return flow.notes
