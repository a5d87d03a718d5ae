"""NEMO-CE (NIST's Django lab manager) run as a peer to benchmark our booking against.

NEMO lives in its own venv (bench/.nemo-venv, Django 5.2), never in the repository's. This
module only uses the standard library, so the repository's venv can import it:

    from datetime import date, datetime, timedelta, timezone
    from bench.nemo_peer import NemoPeer, ensure_venv

    ensure_venv()
    peer = NemoPeer("postgresql://postgres@127.0.0.1:5432/bench_nemo")
    info = peer.seed(users=20, week_start=date(2026, 12, 7), week_bookings=80)
    with peer:                                   # start() ... stop()
        client = peer.login(info["usernames"][0])
        start = datetime(2026, 12, 3, 18, tzinfo=timezone.utc)
        elapsed, ok = peer.create_reservation(client, info["tool_id"], start, start + timedelta(minutes=30))
        elapsed, n_events = peer.week_feed(client, info["tool_id"], date(2026, 12, 7), date(2026, 12, 14))
        doubles = peer.overlapping_reservations(info["tool_id"], start, start + timedelta(minutes=30))

NEMO answers 200 to both an accepted and a refused reservation: an empty body is a success,
an HTML policy dialog a refusal. Count results in its database, not by status code.

`python -m bench.nemo_peer` runs a self-check: seed, start, one create, the week feed and a
50-way race on one slot.
"""

import argparse
import atexit
import base64
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta, timezone
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / "bench" / ".nemo-venv"
VENV_PYTHON = VENV / "bin" / "python"
NEMO_VERSION = "8.1.5"
PACKAGES = [f"nemo-ce=={NEMO_VERSION}", "gunicorn", "psycopg[binary]"]
SETTINGS_MODULE = "bench.nemo_site.settings"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/bench_nemo"
VENV_CHECK = (
    "import importlib.metadata as m, django, gunicorn, psycopg, NEMO; "
    f"assert m.version('nemo-ce') == {NEMO_VERSION!r}"
)


def _base_python():
    """A non-venv interpreter to build the venv from (the caller may itself be in a venv)."""
    for candidate in (os.environ.get("NEMO_BASE_PYTHON"), "/usr/bin/python3", sys._base_executable):
        if candidate and Path(candidate).exists():
            return candidate
    return sys.executable


def _venv_works():
    if not VENV_PYTHON.exists():
        return False
    return subprocess.run([str(VENV_PYTHON), "-c", VENV_CHECK], capture_output=True).returncode == 0


def ensure_venv() -> Path:
    """Create bench/.nemo-venv with NEMO-CE once; later calls only check it imports."""
    if _venv_works():
        return VENV
    subprocess.run([_base_python(), "-m", "venv", str(VENV)], check=True)
    pip = [str(VENV_PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, *PACKAGES], check=True)
    if not _venv_works():
        raise RuntimeError(f"{VENV} was built but NEMO-CE {NEMO_VERSION} does not import there")
    return VENV


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _unix_seconds(moment: datetime) -> int:
    """NEMO runs in UTC here, so a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp())


def _iso_utc(moment: datetime) -> str:
    return datetime.fromtimestamp(_unix_seconds(moment), timezone.utc).isoformat()


class NemoClient:
    """One logged-in NEMO user: its cookies and CSRF token.

    Each request opens its own connection (gunicorn's sync workers close them anyway), so
    one client may be used from several threads at once.
    """

    def __init__(self, host, port, username):
        self.host, self.port, self.username = host, port, username
        self.cookies = {}
        self.csrf_token = None
        self.last_body = b""

    def request(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        self._keep_cookies(response)
        return response.status, data

    def _keep_cookies(self, response):
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value

    def post_form(self, path, fields):
        body = urlencode({**fields, "csrfmiddlewaretoken": self.csrf_token})
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-CSRFToken": self.csrf_token,
            # NEMO's calendar posts via jQuery; some views check for AJAX.
            "X-Requested-With": "XMLHttpRequest",
        }
        return self.request("POST", path, body=body, headers=headers)


class NemoPeer:
    """A NEMO-CE instance under gunicorn, on a database of its own."""

    def __init__(self, database_url=DEFAULT_DATABASE_URL, workers=4, port=None):
        self.database_url = database_url
        self.workers = workers
        self.host = "127.0.0.1"
        self.port = port or _free_port()
        self.runtime_dir = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench_nemo_{os.getpid()}_{self.port}"
        self.log_path = self.runtime_dir / "gunicorn.log"
        self._process = None

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    # ---- running things in NEMO's venv -------------------------------------------------
    def _env(self):
        env = dict(os.environ)
        env.update(
            PYTHONPATH=str(REPO),
            DJANGO_SETTINGS_MODULE=SETTINGS_MODULE,
            NEMO_DATABASE_URL=self.database_url,
            NEMO_RUNTIME_DIR=str(self.runtime_dir),
        )
        return env

    def _nemo_python(self, module, *args):
        result = subprocess.run(
            [str(VENV_PYTHON), "-m", module, *map(str, args)],
            cwd=REPO,
            env=self._env(),
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{module} {' '.join(map(str, args))} failed:\n{result.stderr[-3000:]}")
        return result.stdout.strip().splitlines()[-1]

    # ---- data --------------------------------------------------------------------------
    def seed(self, users=20, week_start=None, week_bookings=80, reset=False) -> dict:
        """Migrate and seed (see bench/nemo_site/seed.py). `reset` rebuilds the schema (~1 min)."""
        self._nemo_python("bench.nemo_site.dbtool", "create-db")
        args = ["--users", users, "--week-bookings", week_bookings]
        if week_start:
            args += ["--week-start", week_start.isoformat()]
        if reset:
            args.append("--reset")
        return json.loads(self._nemo_python("bench.nemo_site.seed", *args))

    def overlapping_reservations(self, tool_id, start: datetime, end: datetime) -> int:
        """Non-cancelled reservations of the tool that overlap [start, end), in NEMO's database."""
        return int(self._nemo_python("bench.nemo_site.dbtool", "count", tool_id, _iso_utc(start), _iso_utc(end)))

    def delete_reservations_between(self, tool_id, start: datetime, end: datetime) -> int:
        """Delete every reservation of the tool overlapping [start, end) (to reuse a race slot)."""
        return int(self._nemo_python("bench.nemo_site.dbtool", "delete", tool_id, _iso_utc(start), _iso_utc(end)))

    # ---- server ------------------------------------------------------------------------
    def start(self, timeout=90):
        """Start gunicorn and wait until NEMO answers."""
        if self._process and self._process.poll() is None:
            return
        self.runtime_dir.mkdir(parents=True, exist_ok=True)
        command = [
            str(VENV / "bin" / "gunicorn"),
            "NEMO.wsgi:application",
            "--workers", str(self.workers),
            "--worker-class", "sync",
            "--bind", f"{self.host}:{self.port}",
            "--chdir", str(REPO),
            # gunicorn 27 otherwise opens a control socket under ~/.gunicorn/.
            "--no-control-socket",
            "--timeout", "120",
            "--log-level", "warning",
        ]
        with open(self.log_path, "ab") as log:
            # A session of its own, so stop() can signal gunicorn and all its workers.
            self._process = subprocess.Popen(
                command, cwd=REPO, env=self._env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        atexit.register(self.stop)
        self._wait_until_up(timeout)

    def _wait_until_up(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self._process.returncode}):\n{self._log_tail()}")
            try:
                status, _ = NemoClient(self.host, self.port, None).request("GET", "/calendar/")
                if status < 500:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"NEMO did not answer within {timeout}s:\n{self._log_tail()}")

    def _log_tail(self, size=3000):
        try:
            return self.log_path.read_text(errors="replace")[-size:]
        except OSError:
            return ""

    def stop(self):
        """Stop gunicorn and its workers; harmless when not running."""
        process, self._process = self._process, None
        if not process or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        self._remove_runtime_dir_if_quiet()

    def _remove_runtime_dir_if_quiet(self):
        """Keep the log (and mail files) only when gunicorn had something to say."""
        if not self._log_tail(1):
            shutil.rmtree(self.runtime_dir, ignore_errors=True)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    # ---- HTTP --------------------------------------------------------------------------
    def login(self, username) -> NemoClient:
        """One GET /calendar/ with the Authorization header gives a session and a CSRF token."""
        client = NemoClient(self.host, self.port, username)
        credentials = base64.b64encode(f"{username}:x".encode()).decode()
        status, body = client.request("GET", "/calendar/", headers={"Authorization": f"Basic {credentials}"})
        client.csrf_token = client.cookies.get("csrftoken") or _page_csrf_token(body)
        if status != 200 or "sessionid" not in client.cookies or not client.csrf_token:
            raise RuntimeError(f"login as {username} failed: HTTP {status}, cookies {sorted(client.cookies)}")
        return client

    def create_reservation(self, client, tool_id, start: datetime, end: datetime):
        """POST /create_reservation/ -> (elapsed_seconds, ok); ok means NEMO answered an empty body."""
        fields = {
            "start": _unix_seconds(start),
            "end": _unix_seconds(end),
            "item_type": "tool",
            "item_id": tool_id,
        }
        began = time.perf_counter()
        status, body = client.post_form("/create_reservation/", fields)
        elapsed = time.perf_counter() - began
        client.last_body = body
        return elapsed, status == 200 and not body.strip()

    def week_feed(self, client, tool_id, start: date, end: date):
        """The calendar's reservation feed for [start, end) -> (elapsed_seconds, n_events)."""
        query = urlencode(
            {
                "event_type": "reservations",
                "item_type": "tool",
                "item_id": tool_id,
                "display_name": "false",
                "start": start.isoformat(),
                "end": end.isoformat(),
            }
        )
        began = time.perf_counter()
        status, body = client.request("GET", f"/event_feed/?{query}")
        elapsed = time.perf_counter() - began
        if status != 200:
            raise RuntimeError(f"event feed: HTTP {status}: {body[:300]!r}")
        return elapsed, len(json.loads(body))


def _page_csrf_token(body):
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    return match.group(1).decode() if match else None


def simultaneous_creates(peer, clients, tool_id, start, end, per_client=5):
    """Fire len(clients) * per_client creates for one slot at once -> list of (elapsed, ok)."""
    callers = [client for client in clients for _ in range(per_client)]
    barrier = threading.Barrier(len(callers))
    results = [None] * len(callers)

    def fire(index, client):
        barrier.wait()
        results[index] = peer.create_reservation(client, tool_id, start, end)

    threads = [threading.Thread(target=fire, args=(i, c)) for i, c in enumerate(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


# ---- self-check ------------------------------------------------------------------------
def _percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _next_monday(today):
    return today + timedelta(days=7 - today.weekday())


def self_check(args):
    ensure_venv()
    peer = NemoPeer(args.database_url, workers=args.workers)
    today = datetime.now(timezone.utc).date()
    week_start = _next_monday(today)
    info = peer.seed(users=args.users, week_start=week_start, week_bookings=args.week_bookings, reset=args.reset)
    tool_id = info["tool_id"]
    slot = timedelta(minutes=30)
    # Evening slots tomorrow: outside the seeded 08:00-16:00 week, inside the 14-day horizon.
    evening = datetime.combine(today + timedelta(days=1), datetime.min.time(), timezone.utc) + timedelta(hours=17)
    singles = [evening + i * slot for i in range(args.samples)]
    race = evening + args.samples * slot
    report = {"nemo_ce": NEMO_VERSION, "tool_id": tool_id, "week_start": week_start.isoformat()}
    with peer:
        client = peer.login(info["usernames"][0])
        creates = [peer.create_reservation(client, tool_id, s, s + slot) for s in singles]
        report["create_first_s"] = creates[0][0]
        report["create_p50_s"] = _percentile([e for e, _ in creates], 0.5)
        report["creates_ok"] = sum(ok for _, ok in creates)
        feeds = [peer.week_feed(client, tool_id, week_start, week_start + timedelta(days=7)) for _ in range(args.samples)]
        report["feed_first_s"] = feeds[0][0]
        report["feed_p50_s"] = _percentile([e for e, _ in feeds], 0.5)
        report["feed_events"] = feeds[0][1]
        clients = [peer.login(name) for name in info["usernames"][:10]]
        for _ in range(args.race_runs):
            peer.delete_reservations_between(tool_id, race, race + slot)
            results = simultaneous_creates(peer, clients, tool_id, race, race + slot, per_client=5)
            report.setdefault("race_ok_answers", []).append(sum(ok for _, ok in results))
            report.setdefault("race_overlapping", []).append(peer.overlapping_reservations(tool_id, race, race + slot))
        peer.delete_reservations_between(tool_id, singles[0], race + slot)
    print(json.dumps(report, indent=2))


def main(argv=None):
    parser = argparse.ArgumentParser(description="Self-check of the NEMO-CE peer.")
    parser.add_argument("--database-url", default=os.environ.get("NEMO_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--week-bookings", type=int, default=80)
    parser.add_argument("--race-runs", type=int, default=3)
    parser.add_argument("--samples", type=int, default=10, help="sequential creates and feeds to time")
    parser.add_argument("--reset", action="store_true", help="rebuild NEMO's schema first (~1 min)")
    self_check(parser.parse_args(argv))


if __name__ == "__main__":
    main()
