"""The platform's own processes, started for real by tests: the task consumer (Huey) and the web
server (gunicorn with several workers). Each writes its log to a file the test can read."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from .mqtt_broker import ROOT, free_port, wait_for_port


class Process:
    def __init__(self, args, env, log_path: Path):
        self.args, self.env, self.log_path = args, env, log_path
        self.process = None

    def start(self):
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen(self.args, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        return self

    def text(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_for_log(self, needle, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.text():
                return True
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"{self.args[2] if len(self.args) > 2 else self.args[0]} never logged {needle!r}:\n"
                             f"{self.text()[-3000:]}")

    def stop(self, sig=signal.SIGINT, timeout=30):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self.process is not None:
            self.log.close()


def environment(database_url, **extra):
    """The environment of a platform process: the suite's database, instance folder and queue."""
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1", **extra}
    return env


def task_consumer(database_url, log_path, workers=2, **extra):
    """`huey_consumer app.worker.huey`, as `make run` and a deployment start it."""
    args = [sys.executable, "-m", "huey.bin.huey_consumer", "app.worker.huey", "--workers", str(workers),
            "--worker-type", "thread", "--delay", "0.05", "--max-delay", "0.5"]
    return Process(args, environment(database_url, **extra), log_path)


class WebServer(Process):
    """gunicorn serving create_app() on a free port."""

    def __init__(self, database_url, log_path, workers=3, port=None, **extra):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{self.port}",
                "--no-control-socket", "--timeout", "60", "app:create_app()"]
        super().__init__(args, environment(database_url, **extra), log_path)

    def start(self):
        super().start()
        if not wait_for_port(self.port, timeout=60):
            raise AssertionError(f"gunicorn did not start:\n{self.text()[-3000:]}")
        return self

    def stop(self, sig=signal.SIGTERM, timeout=30):
        super().stop(sig, timeout)
