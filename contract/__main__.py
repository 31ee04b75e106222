"""Run the API contract check.

    python -m contract                    # its own server (scripts/contract does this)
    python -m contract --base-url URL --staff-token TOKEN --sms-dir DIR
                      [--support-token TOKEN --no-role-token TOKEN]
                                          # against a server you run (SMS_BACKEND=file,
                                          # and a task worker: it sends the codes)

``--staff-token``: a superuser's (campaigns, releases, vouchers, simulations);
``--support-token``: a staff user's in the Support role, who blocks and unblocks
a customer; ``--no-role-token``: a staff user's in no role, refused the block.
(Without the last two, the parts that need them stop with a note.)

1. fetches the live schema (``/api/schema/``) and validates it with
   openapi-spec-validator;
2. generates a Python client from it with openapi-python-client into a
   temporary directory (``contract/openapi-python-client.yaml``; no hooks);
3. drives all four modes and their common refusals through the generated
   functions only (``contract/flow/``), checking every answer against the
   schema: declared status, declared headers, body matching its schema with
   formats checked, and the documented answer for each call.

Every mismatch is collected; the report lists them all, grouped, and the exit
status is 1 if there is any. The whole run is bounded (``CONTRACT_TIMEOUT``,
300 s by default).
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from contract.harness import Harness, Recorder, Report
from contract.rules import RULES
from contract.server import contract_server
from contract.spec import Spec, spec_errors
from couponsite.roles import SUPPORT

HERE = Path(__file__).resolve().parent
GENERATOR_CONFIG = HERE / "openapi-python-client.yaml"
PACKAGE = "couponsite_client"


class OutOfTime(BaseException):
    """Raised by the alarm; a BaseException so that no section's handler eats it."""


def fetch_schema(base_url: str) -> bytes:
    response = httpx.get(
        f"{base_url}/api/schema/", params={"format": "json"}, timeout=30
    )
    response.raise_for_status()
    return response.content


def _generate(schema_file: Path, config: Path, package: Path) -> tuple[int, str]:
    generator = Path(sys.executable).with_name("openapi-python-client")
    done = subprocess.run(
        [
            str(generator),
            "generate",
            "--path",
            str(schema_file),
            "--config",
            str(config),
            "--meta",
            "none",
            "--output-path",
            str(package),
        ],
        capture_output=True,
        text=True,
    )
    return done.returncode, (done.stdout + done.stderr).strip()


def generate_client(schema_file: Path, into: Path, report: Report) -> bool:
    """openapi-python-client, as an integrator runs it; its warnings are mismatches.

    If it fails only because enum values collide as Python names, that is
    reported, and the client is generated again with ``literal_enums`` (the
    generator's own advice) so that the flow can still find everything else.
    """
    package = into / PACKAGE
    status, output = _generate(schema_file, GENERATOR_CONFIG, package)
    complaints = [
        line
        for line in output.splitlines()
        if line.strip() and line != f"Generating {package}"
    ]
    if status != 0:
        # The generator's traceback is drawn in a box; its message is below it.
        message = " ".join(line for line in complaints if line[0] not in "│╭╰")
        report.add(
            "generator", "openapi-python-client", message or "failed", "generate"
        )
        if "literal_enums" not in message:
            return False
        config = into / "literal-enums.yaml"
        config.write_text(GENERATOR_CONFIG.read_text() + "literal_enums: true\n")
        status, output = _generate(schema_file, config, package)
        print("contract: client generated again with literal_enums: true to go on")
        return status == 0
    if complaints:
        report.add(
            "generator", "openapi-python-client", "\n    ".join(complaints), "generate"
        )
    return True


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base-url", help="a running server (default: start one)")
    parser.add_argument("--staff-token")
    parser.add_argument(
        "--support-token", help="a staff user's in the Support role (block, unblock)"
    )
    parser.add_argument("--no-role-token", help="a staff user's in no role")
    parser.add_argument("--sms-dir", type=Path, help="the server's SMS_FILE_PATH")
    parser.add_argument(
        "--mail-log",
        type=Path,
        help="the file the server's console mail backend prints into (its log)",
    )
    args = parser.parse_args()

    budget = int(os.environ.get("CONTRACT_TIMEOUT", "300"))

    def out_of_time(*_):
        raise OutOfTime(f"the contract run took longer than {budget} s")

    signal.signal(signal.SIGALRM, out_of_time)
    signal.alarm(budget)
    started = time.monotonic()
    try:
        if args.base_url:
            if not (args.staff_token and args.sms_dir):
                parser.error("--base-url needs --staff-token and --sms-dir")
            return check(
                args.base_url,
                args.staff_token,
                args.sms_dir,
                args.mail_log,
                started,
                support_token=args.support_token,
                no_role_token=args.no_role_token,
            )
        with contract_server() as server:
            try:
                staff_token = server.manage("issue_token", "--staff", "admin")
                return check(
                    server.base_url,
                    staff_token,
                    server.sms_dir,
                    server.log,
                    started,
                    server,
                    support_token=server.staff_token("support", SUPPORT),
                    no_role_token=server.staff_token("no-role"),
                )
            finally:
                signal.alarm(0)  # the clean-up that follows runs to its end
    finally:
        signal.alarm(0)


def coverage(spec: Spec, report: Report) -> str:
    """Which operations and statuses the run met (information, not a failure)."""
    called = {label for label, _ in report.seen}
    labels = [operation.label for operation in spec.operations()]
    missing = [label for label in labels if label not in called]
    statuses = sum(len(op.data.get("responses", {})) for op in spec.operations())
    lines = [
        f"contract: called {len(labels) - len(missing)} of {len(labels)} operations; "
        f"met {len(report.seen)} of {statuses} declared (operation, status) pairs"
    ]
    if missing:
        lines.append("contract: never called: " + ", ".join(missing))
    return "\n".join(lines)


def check(
    base_url: str,
    staff_token: str,
    sms_dir: Path,
    mail_log: Path | None,
    started: float,
    server=None,
    *,
    support_token: str | None = None,
    no_role_token: str | None = None,
) -> int:
    report = Report()
    content = fetch_schema(base_url)
    spec = Spec.from_bytes(content)
    for error in spec_errors(spec.document):
        report.add("spec", "openapi-spec-validator", error, "validate")
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="contract-client-") as scratch:
        schema_file = Path(scratch) / "schema.json"
        schema_file.write_bytes(content)
        if generate_client(schema_file, Path(scratch), report):
            sys.path.insert(0, scratch)
            # The flow imports the client just generated into scratch.
            from contract import flow

            recorder = Recorder()
            notes = flow.run(
                Harness(spec, report, recorder, RULES),
                base_url=base_url,
                staff_token=staff_token,
                sms_dir=sms_dir,
                mail_log=mail_log,
                support_token=support_token,
                no_role_token=no_role_token,
            )
        else:
            notes.append("no client could be generated; nothing was called")
    if server is not None:
        for line in server.errors_logged()[:20]:
            report.add("server", "server log", line[:300], "the whole run")
    print()
    print(coverage(spec, report))
    print(report.render())
    for note in notes:
        print(f"note: {note}")
    mismatches = len(report.found)
    print(
        f"contract: {report.calls} calls checked, {mismatches} distinct mismatches, "
        f"{len(notes)} sections stopped, in {time.monotonic() - started:.0f} s"
    )
    return 1 if mismatches or notes else 0


if __name__ == "__main__":
    sys.exit(main())
