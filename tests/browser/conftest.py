"""The browser suite (issue 11, item 3): Debian's Chromium, driven by pytest-playwright, against the
demo university served by a real gunicorn, with the task consumer and the IoT bridge beside it and an
MQTT broker (MQTT_URL, or a private Mosquitto). No browser is ever downloaded: Chromium must be
installed (`apt-get install chromium fonts-wqy-zenhei`); without it every test here fails.

Every step saves a screenshot under test-artifacts/browser/<test>/ (git-ignored); a failing test
also leaves its page's HTML and a last screenshot there. A page that logs a console error, raises a
script error, has a CSP violation or fails to load a resource fails its test.
"""
import os
import re
import shutil
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from ..demo_site import DEMO_PASSWORD
from ..mail_server import SmtpServer
from ..mqtt_broker import ROOT, PrivateMosquitto, free_port
from ..processes import Process, WebServer, environment, task_consumer

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts" / "browser"
# as the machine's own probe starts it: headless, no sandbox as root, no calls home
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no browser at {CHROMIUM}: install Debian's chromium and fonts-wqy-zenhei "
                    "(apt-get install chromium fonts-wqy-zenhei); the browser suite never downloads one", pytrace=False)
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


def interlocked_terminals(database_url):
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        ids = conn.execute(sa.text("SELECT i.iot_terminal_id FROM instrument i JOIN booking_rule r ON r.instrument_id = i.id "
                                   "WHERE r.interlock AND i.iot_terminal_id IS NOT NULL ORDER BY 1")).scalars().all()
    engine.dispose()
    assert ids, "the demo has no interlocked plug"
    return ids


class Stack:
    """gunicorn, the task consumer, the IoT bridge and the simulated interlocked plugs over the demo database, the
    broker, and an SMTP
    server (aiosmtpd) the platform mails to."""

    def __init__(self, demo_url, folder: Path):
        self.demo_url, self.folder, self.processes = demo_url, folder, []
        self.broker = None
        self.mqtt_url = os.environ.get("MQTT_URL")
        # a queue of its own: the suite's other tests run a consumer of the suite's queue meanwhile
        # and the test config's login limit: the flows sign in dozens of times a minute from one address, and
        # with REDIS_URL the counter is shared by the workers (CI's second run answered 429)
        self.env = {"TASK_QUEUE_NAME": f"{os.environ.get('TASK_QUEUE_NAME', 'platform')}-browser",
                    "AUTH_RATE_LIMIT": "1000 per minute"}

    def start(self):
        # the site's address as its users reach it: the links in its mails and calendar feeds (never the request's)
        port = free_port()
        self.env["PUBLIC_URL"] = f"http://127.0.0.1:{port}"
        self.smtp = SmtpServer().start()
        self.env.update({k: str(v) for k, v in self.smtp.settings().items() if v})
        if not self.mqtt_url:
            if not PrivateMosquitto.available():
                pytest.fail("the browser suite needs an MQTT broker: set MQTT_URL or install mosquitto", pytrace=False)
            (self.folder / "mosquitto").mkdir(exist_ok=True)
            self.broker = PrivateMosquitto(self.folder / "mosquitto")
            self.broker.start()
            self.mqtt_url = self.broker.url
        self.consumer = task_consumer(self.demo_url, self.folder / "consumer.log", **self.env).start()
        self.processes.append(self.consumer)
        bridge_args = [sys.executable, "-m", "iot_bridge", "--mqtt-url", self.mqtt_url, "--database-url", self.demo_url,
                       "--client-id", f"browser-suite-{os.getpid()}", "--max-latency-ms", "50"]
        self.bridge = Process(bridge_args, environment(self.demo_url), self.folder / "bridge.log").start()
        self.processes.append(self.bridge)
        # the demo's interlocked plugs, simulated as `make run` does (only they: other tests publish statuses of their own)
        self.simulator = Process([sys.executable, "-m", "iot_bridge.simulate", "--mqtt-url", self.mqtt_url, "--from-database",
                                  "--only", ",".join(interlocked_terminals(self.demo_url)), "--heartbeat", "5"],
                                 environment(self.demo_url), self.folder / "simulator.log").start()
        self.processes.append(self.simulator)
        self.web = WebServer(self.demo_url, self.folder / "gunicorn.log", workers=2, port=port, **self.env).start()
        self.processes.append(self.web)
        self.url = self.web.url
        self.bridge.wait_for_log('"connected"')
        return self

    def stop(self):
        for process in reversed(self.processes):
            process.stop()
        if self.broker is not None:
            self.broker.stop()
        self.smtp.stop()


@pytest.fixture(scope="session")
def stack(demo_site, tmp_path_factory):
    running = Stack(demo_site.database_url, tmp_path_factory.mktemp("browser-stack")).start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def base_url(stack):
    """The served demo (replaces pytest-playwright's own base_url fixture, which reads --base-url)."""
    return stack.url


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "zh-CN", "accept_downloads": True, "viewport": {"width": 1366, "height": 900}}


class Ui:
    """A page that records what goes wrong on it and photographs every step."""

    def __init__(self, page, folder: Path):
        self.page, self.folder, self.steps = page, folder, 0
        self.problems, self.allowed = [], []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        page.on("requestfailed", lambda request: self._failed(request.url, request.failure))
        page.on("response", self._response)

    def allow(self, url_part):
        """A response that is meant to fail (the 404 page a test asks for)."""
        self.allowed.append(url_part)

    def _is_allowed(self, text):
        return any(part in text for part in self.allowed)

    def _console(self, message):
        if message.type == "error" and not (self._is_allowed(message.location.get("url", "")) and "404" in message.text):
            self.problems.append(f"console error on {self.page.url}: {message.text} ({message.location.get('url')})")

    def _failed(self, url, failure):
        if not self._is_allowed(url) and not url.startswith("blob:") and "net::ERR_ABORTED" not in str(failure):
            self.problems.append(f"request failed: {url} ({failure})")

    def _response(self, response):
        if response.status >= 400 and not self._is_allowed(response.url):
            self.problems.append(f"{response.status} for {response.url}")

    def step(self, name):
        self.steps += 1
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{self.steps:02d}-{re.sub(r'[^A-Za-z0-9_-]+', '-', name)}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def goto(self, path):
        response = self.page.goto(path)
        self.page.wait_for_load_state("networkidle")
        return response

    def login(self, username, password=DEMO_PASSWORD):
        self.goto("/login/")
        self.page.fill("#username", username)
        self.page.fill("#password", password)
        self.page.click("input[type=submit]")
        self.page.wait_for_load_state("networkidle")
        assert "/login" not in self.page.url, f"{username} could not sign in"

    def logout(self):
        self.goto("/logout/")


@pytest.fixture
def ui(page, request):
    folder = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    watched = Ui(page, folder)
    yield watched
    assert not watched.problems, "\n".join(watched.problems)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed and "ui" in getattr(item, "funcargs", {}):
        ui = item.funcargs["ui"]
        try:
            ui.folder.mkdir(parents=True, exist_ok=True)
            (ui.folder / "failed.html").write_text(ui.page.content(), encoding="utf-8")
            ui.page.screenshot(path=str(ui.folder / "failed.png"), full_page=True)
        except Exception as exc:  # noqa: BLE001  (the page itself may be gone)
            (ui.folder / "failed.txt").write_text(f"could not save the page: {exc}", encoding="utf-8")
