"""`make run`: the development server and a background worker side by side.

Ctrl-C stops both; so does either one stopping on its own (the port is taken, say). Each
runs in its own process group so that their autoreloaders' children stop with them.

    .venv/bin/python scripts/dev_server.py [ADDRESS:PORT]
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, start_new_session=True)


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    for process in processes:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def main() -> int:
    address = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:8000"
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # Ctrl-C, even when started from a shell that ignores it for background commands.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    processes = [start("runserver", address), start("worker")]
    print(f"ClimCRM on http://{address}/ with a background worker; Ctrl-C stops both.")
    try:
        while all(process.poll() is None for process in processes):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stop(processes)
    return max(process.returncode or 0 for process in processes)


if __name__ == "__main__":
    sys.exit(main())
