"""Calls through the generated client, each answer checked against the spec.

The flow hands ``Harness.call`` a zero-argument function that makes one call
with the generated client (``lambda: draw.sync_detailed(client=..., slug=...)``)
and what it expects. An httpx event hook records the raw exchange, so an
answer is checked even when the generated client cannot parse it. Every
problem is recorded as a ``Mismatch`` and the flow goes on; the report groups
them at the end.
"""

import inspect
import json
import typing
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from contract.spec import Operation, Spec

# Kinds of mismatch, in the order the report lists them.
KINDS = {
    "spec": "the schema is not valid OpenAPI",
    "generator": "the client generator complained",
    "security": "the generated client asks a token where none is needed",
    "status": "undeclared status",
    "header": "undeclared or missing header",
    "body": "body does not match its schema",
    "request": "the generated client sends a body its own schema refuses",
    "refused": "a natural call was refused",
    "answer": "another answer than the documented one",
    "client": "the generated client failed",
    "consistency": "answers disagree with each other",
    "server": "the server logged an error",
}


@dataclass(frozen=True)
class Mismatch:
    kind: str
    where: str
    message: str


@dataclass
class Exchange:
    method: str
    path: str
    request_headers: dict[str, str]
    request_body: bytes
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def error_code(self) -> str | None:
        body = self.json()
        return body.get("code") if isinstance(body, dict) else None


class Recorder:
    """httpx event hooks keeping the last exchange (request and answer, raw)."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []

    def on_response(self, response: httpx.Response) -> None:
        response.read()
        request = response.request
        self.exchanges.append(
            Exchange(
                method=request.method,
                path=request.url.path,
                request_headers=dict(request.headers),
                request_body=request.content,
                status=response.status_code,
                headers=dict(response.headers),
                body=response.content,
            )
        )

    @property
    def httpx_args(self) -> dict:
        return {"event_hooks": {"response": [self.on_response]}}


@dataclass
class Report:
    calls: int = 0
    seen: set[tuple[str, int]] = field(default_factory=set)
    found: dict[Mismatch, list[str]] = field(default_factory=lambda: defaultdict(list))

    def add(self, kind: str, where: str, message: str, step: str) -> None:
        assert kind in KINDS, kind
        self.found[Mismatch(kind, where, message)].append(step)

    def render(self) -> str:
        lines = []
        for kind, title in KINDS.items():
            group = [(m, steps) for m, steps in self.found.items() if m.kind == kind]
            if not group:
                continue
            lines.append(f"[{kind}] {title}:")
            for mismatch, steps in sorted(group, key=lambda item: item[0].where):
                unique = list(dict.fromkeys(steps))
                shown = "; ".join(unique[:3]) + ("; …" if len(unique) > 3 else "")
                seen = f"{len(steps)} call{'s' if len(steps) > 1 else ''}"
                lines.append(f"  {mismatch.where}: {mismatch.message}")
                lines.append(f"      ({seen}: {shown})")
        return "\n".join(lines)


def _expected(expect: int, code: str | None) -> str:
    return f"{expect} {code}" if code else str(expect)


# A rule about answers that the schema cannot say: takes a parsed JSON body,
# yields (field, problem); reported once per field with the calls that broke it.
AnswerRule = Callable[[Any], Iterable[tuple[str, str]]]


class Harness:
    def __init__(
        self,
        spec: Spec,
        report: Report,
        recorder: Recorder,
        rules: Iterable[AnswerRule] = (),
    ):
        self.spec = spec
        self.report = report
        self.recorder = recorder
        self.rules = list(rules)

    def call[T](
        self,
        step: str,
        send: Callable[[], Any],
        *,
        expect: int,
        code: str | None = None,
        natural: bool = True,
        want: type[T] | None = None,
    ) -> T | None:
        """Make one call; check it; the parsed answer if it is a ``want``.

        ``natural``: the request is what the generated client builds from valid
        input, so its body must match the declared request schema, and a refusal
        of an expected success is a *refused natural call*.
        """
        self.recorder.exchanges.clear()
        parsed: Any = None
        failure: Exception | None = None
        try:
            parsed = send().parsed
        except Exception as exc:  # the generated client choked on the answer
            failure = exc
        if not self.recorder.exchanges:
            self.report.add("client", step, f"no request was made: {failure!r}", step)
            return None
        # Every exchange is checked; the expectation is about the last one.
        checked = [
            self._check(step, exchange, natural) for exchange in self.recorder.exchanges
        ]
        operation, exchange = checked[-1], self.recorder.exchanges[-1]
        if operation is None:
            return None
        if failure is not None:
            where = f"{operation.label} → {exchange.status}"
            self.report.add("client", where, f"parsing raised {failure!r}", step)
        self._check_expectation(step, operation, exchange, expect, code, natural)
        if want is not None and isinstance(parsed, want):
            return parsed
        return None

    def check_exchange(
        self, step: str, exchange: Exchange, *, expect: int, code: str | None = None
    ) -> None:
        """Check an exchange recorded elsewhere (another thread's call)."""
        operation = self._check(step, exchange, natural=True)
        if operation is not None:
            self._check_expectation(step, operation, exchange, expect, code, True)

    def _check(self, step: str, exchange: Exchange, natural: bool) -> Operation | None:
        """One exchange against the spec; its operation, if the spec has it."""
        self.report.calls += 1
        operation = self.spec.operation(exchange.method, exchange.path)
        if operation is None:
            self.report.add(
                "status",
                f"{exchange.method} {exchange.path}",
                "no such operation in the schema",
                step,
            )
            return None
        self.report.seen.add((operation.label, exchange.status))
        where = f"{operation.label} → {exchange.status}"
        self._check_request(step, operation, exchange, natural)
        for kind, problems in self.spec.response_errors(
            operation, exchange.status, exchange.headers, exchange.body
        ).items():
            for problem in problems:
                self.report.add(kind, where, problem, step)
        body = exchange.json()
        for rule in self.rules:
            for name, problem in rule(body):
                self.report.add("answer", name, problem, f"{operation.label} ({step})")
        return operation

    def _check_request(
        self, step: str, operation: Operation, exchange: Exchange, natural: bool
    ) -> None:
        if not natural or not exchange.request_body:
            return
        content_type = exchange.request_headers.get("content-type", "")
        try:
            body = json.loads(exchange.request_body)
        except ValueError:
            return
        sent = json.dumps(body)
        sent = sent if len(sent) <= 200 else sent[:197] + "..."
        for problem in self.spec.request_errors(operation, content_type, body):
            self.report.add("request", operation.label, problem, f"{step}, sent {sent}")

    def _check_expectation(
        self,
        step: str,
        operation: Operation,
        exchange: Exchange,
        expect: int,
        code: str | None,
        natural: bool,
    ) -> None:
        got_code = exchange.error_code if exchange.status >= 400 else None
        if exchange.status == expect and (code is None or got_code == code):
            return
        got = f"{exchange.status} {got_code or ''}".strip()
        detail = exchange.json()
        detail = detail if exchange.status >= 400 else ""
        kind = "refused" if natural and expect < 400 <= exchange.status else "answer"
        self.report.add(
            kind,
            f"{operation.label}",
            f"expected {_expected(expect, code)}, got {got} {detail}".rstrip(),
            step,
        )

    def same(self, step: str, what: str, left: Any, right: Any) -> None:
        """Two answers that must agree."""
        if left != right:
            self.report.add("consistency", what, f"{left!r} != {right!r}", step)

    def accepts_anonymous(self, step: str, function: Callable, client_class) -> None:
        """The generated function must take a plain ``Client`` (no token)."""
        annotation = inspect.signature(function).parameters["client"].annotation
        if isinstance(annotation, str):
            annotation = typing.get_type_hints(function).get("client", annotation)
        options = typing.get_args(annotation) or (annotation,)
        if client_class not in options:
            name = function.__module__.rsplit(".", 1)[-1]
            operation = next(
                (op for op in self.spec.operations() if op.id == name), None
            )
            security = operation.data.get("security") if operation else "?"
            self.report.add(
                "security",
                name,
                f"generated as `client: {getattr(annotation, '__name__', annotation)}`"
                f" (a token required) from security: {security}; anyone may call it",
                step,
            )
