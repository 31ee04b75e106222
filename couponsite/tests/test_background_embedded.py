"""Background work on the embedded default (SQLite, as `make run` serves it):
every scheduled job and a queued message run through the real worker command,
in processes of their own, with no task failing."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

ENQUEUE_EVERYTHING = """
import io
from crontask import scheduler
from crontask.management.commands.crontask import Command
from django.db import transaction
from messaging.services import queue_sms

Command(stdout=io.StringIO()).load_tasks({})
for job in scheduler.get_jobs():
    job.func()  # what the scheduler does at the job's time: enqueue it
with transaction.atomic():
    queue_sms(to="+14155550100", body="Hello from the worker", kind="win_notice")
print(len(scheduler.get_jobs()))
"""

REPORT = """
from django_tasks_db.models import DBTaskResult
for row in DBTaskResult.objects.order_by("task_path"):
    print("task:", row.status, row.task_path, row.traceback.splitlines()[-1:] if row.traceback else "")
"""


def _manage(env, *args) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_every_job_and_a_message_run_on_sqlite(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env |= {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "SMS_BACKEND": "file",
        "SMS_FILE_PATH": str(tmp_path / "sms"),
        "LOG_LEVEL": "ERROR",
    }
    _manage(env, "migrate", "--noinput", "-v0")

    jobs = int(_manage(env, "shell", "-c", ENQUEUE_EVERYTHING).split()[-1])
    _manage(env, "db_worker", "--batch", "--queue-name", "*", "--no-reload", "-v0")

    output = _manage(env, "shell", "-c", REPORT).splitlines()
    report = [
        line.removeprefix("task: ") for line in output if line.startswith("task: ")
    ]
    assert len(report) == jobs + 1
    assert all(line.startswith("SUCCESSFUL ") for line in report), report
    sent = "".join(path.read_text() for path in (tmp_path / "sms").iterdir())
    assert "Hello from the worker" in sent
