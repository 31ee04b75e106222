"""Run the bench and record py-spy profiles of the gunicorn workers, per phase.

    BENCH_DATABASE_NAME=... BENCH_REDIS_URL=... BENCH_PORT=... \
    .venv/bin/python docs/profiles/record.py /tmp/profiles -- draw claim redeem

It starts ``python -m bench <args>``, waits for each load-generator run (one
phase), and while it lasts records the server's master and workers
(``py-spy record --subprocesses --gil --format raw``: the thread holding the GIL) in
consecutive chunks of CHUNK seconds, named ``<n>-<phase>-<chunk>-t<seconds>.txt``
(seconds since the phase began), so a phase that answers successes first and
refusals later can be split by time. py-spy is taken from $PY_SPY or the PATH.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

CHUNK = int(os.environ.get("CHUNK", "3"))
# Only the thread holding the GIL is sampled: py-spy's idle test counted threads
# waiting on a socket or for the GIL as busy here, which doubled the samples.
PY_SPY_ARGS = os.environ.get("PY_SPY_ARGS", "--gil --rate 100").split()
PY_SPY = os.environ.get("PY_SPY") or shutil.which("py-spy") or "py-spy"


def children() -> dict[int, tuple[int, str]]:
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        found[int(entry.name)] = (ppid, cmd)
    return found


def descendants(root: int) -> dict[int, str]:
    table = children()
    out, todo = {}, [root]
    while todo:
        pid = todo.pop()
        for child, (ppid, cmd) in table.items():
            if ppid == pid and child not in out:
                out[child] = cmd
                todo.append(child)
    return out


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    args = sys.argv[sys.argv.index("--") + 1 :]
    bench = subprocess.Popen([sys.executable, "-m", "bench", *args])
    seen: set[int] = set()
    phase = 0
    while bench.poll() is None:
        below = descendants(bench.pid)
        loadgen = [
            p for p, c in below.items() if "bench.loadgen" in c and p not in seen
        ]
        master = [
            p
            for p, c in below.items()
            if "gunicorn" in c and below.get(children()[p][0]) is None
        ]
        if not loadgen or not master:
            time.sleep(0.05)
            continue
        pid = loadgen[0]
        seen.add(pid)
        phase += 1
        plan = json.loads(Path(below[pid].split()[-2]).read_text())
        name = f"{phase:02d}-{plan['path'].rstrip('/').rsplit('/', 1)[-1]}"
        began, chunk = time.monotonic(), 0
        while Path(f"/proc/{pid}").exists():
            offset = time.monotonic() - began
            target = out / f"{name}-{chunk:03d}-t{offset:05.1f}.txt"
            spy = subprocess.Popen(
                [
                    PY_SPY,
                    "record",
                    "--pid",
                    str(master[0]),
                    "--subprocesses",
                    "--format",
                    "raw",
                    *PY_SPY_ARGS,
                    "-d",
                    str(CHUNK),
                    "-o",
                    str(target),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            while spy.poll() is None:
                if (
                    not Path(f"/proc/{pid}").exists()
                    or children().get(pid, (0, ""))[1] == ""
                ):
                    spy.send_signal(signal.SIGINT)
                    spy.wait()
                    break
                time.sleep(0.2)
            chunk += 1
        print(f"record.py: {name}: {chunk} chunks", flush=True)
    sys.exit(bench.returncode)


if __name__ == "__main__":
    main()
