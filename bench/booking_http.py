"""Our side of the booking benchmark over HTTP: a logged-in client of the served platform (a browser
session for the screens, a JWT for the API), the 50-way race and the 20-client mixed load.

Standard library only, like bench/nemo_peer.py: each request opens its own connection (gunicorn's
sync workers close it anyway), so one client may be used from several threads at once.
"""
from __future__ import annotations

import http.client
import json
import random
import re
import threading
import time
from collections import deque
from datetime import datetime, timedelta
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

from bench.booking_data import CLASS_CODE, PASSWORD

MINUTE = "%Y-%m-%dT%H:%M"
# the mixed load's share of each kind of request (issue 13)
MIX = (("calendar", 0.4), ("availability", 0.2), ("submission", 0.2), ("lab_action", 0.2))


class Transport(Exception):
    """No HTTP answer at all (refused, reset, timed out)."""


class OurClient:
    def __init__(self, base_url, username):
        parts = urlsplit(base_url)
        self.host, self.port, self.username = parts.hostname, parts.port, username
        self.cookies, self.token = {}, None

    def request(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as error:
            raise Transport(f"{method} {path}: {error!r}") from error
        finally:
            conn.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, data

    def api(self, method, path, payload=None):
        body = json.dumps(payload).encode() if payload is not None else None
        status, data = self.request(method, path, body, {"Authorization": f"Bearer {self.token}",
                                                         "Content-Type": "application/json"})
        try:
            return status, json.loads(data) if data else {}
        except ValueError:
            return status, {"raw": data[:300].decode("utf-8", "replace")}

    def log_in(self):
        """A browser session through the login form and its CSRF token, and a JWT for the API."""
        status, page = self.request("GET", "/login/")
        token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page) or \
            re.search(rb'value="([^"]+)"[^>]*name="csrf_token"', page)
        if status != 200 or not token:
            raise RuntimeError(f"{self.username}: no login form (HTTP {status})")
        form = urlencode({"username": self.username, "password": PASSWORD, "csrf_token": token.group(1).decode()})
        status, _ = self.request("POST", "/login/", form, {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 302:
            raise RuntimeError(f"{self.username}: session login answered {status}")
        status, data = self.request("POST", "/api/v1/security/login", json.dumps(
            {"username": self.username, "password": PASSWORD, "provider": "db"}).encode(), {"Content-Type": "application/json"})
        if status != 200:
            raise RuntimeError(f"{self.username}: API login answered {status}")
        self.token = json.loads(data)["access_token"]
        return self

    def submit(self, instrument_id, start: datetime, end: datetime):
        began = time.perf_counter()
        status, data = self.api("POST", "/api/v1/booking/", {
            "instrument_id": instrument_id, "mode": "self_operated", "purpose": "基准测试",
            "start": start.strftime(MINUTE), "end": end.strftime(MINUTE)})
        return time.perf_counter() - began, status, data

    def week_events(self, instrument_id, week_start):
        """What the calendar page's FullCalendar fetches for a week."""
        query = urlencode({"start": f"{week_start.isoformat()}T00:00:00",
                           "end": f"{(week_start + timedelta(days=7)).isoformat()}T00:00:00"})
        began = time.perf_counter()
        status, data = self.request("GET", f"/bookings/calendar/{instrument_id}/events?{query}")
        elapsed = time.perf_counter() - began
        if status != 200:
            raise RuntimeError(f"week events: HTTP {status}: {data[:300]!r}")
        return elapsed, len(json.loads(data))


def race(clients, instrument_id, start, end, per_client=5):
    """len(clients) * per_client submissions of one slot at once -> [(elapsed, status)]."""
    callers = [client for client in clients for _ in range(per_client)]
    barrier, results = threading.Barrier(len(callers)), [None] * len(callers)

    def fire(index, client):
        barrier.wait()
        try:
            elapsed, status, _ = client.submit(instrument_id, start, end)
        except Transport:
            elapsed, status = float("nan"), None
        results[index] = (elapsed, status)

    threads = [threading.Thread(target=fire, args=(i, c)) for i, c in enumerate(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


class MixedLoad:
    """`clients` service users and the lab's administrator for `seconds`: each thread draws its next
    request from MIX. A submission is a random free-or-taken hour on one of the instruments over
    the next two weeks (201 and 409 are both right answers); a lab action schedules one of the
    pending bookings the submissions made, or, when none waits, opens the lab's queue page."""

    def __init__(self, users, lab, instrument_ids, today, seconds, seed=2026):
        self.users, self.lab, self.instrument_ids = users, lab, instrument_ids
        self.today, self.seconds = today, seconds
        self.random = random.Random(seed)
        self.pending = deque()
        self.lock = threading.Lock()  # guards the client-side tallies only, never the platform
        self.times = {kind: [] for kind, _ in MIX}
        self.statuses = {kind: {} for kind, _ in MIX}
        self.errors = []

    def _hour(self, rng):
        day = self.today + timedelta(days=rng.randint(1, 13))
        return datetime.combine(day, datetime.min.time()) + timedelta(hours=rng.randint(0, 22))

    def _one(self, rng, user):
        kind = rng.choices([k for k, _ in MIX], [w for _, w in MIX])[0]
        began = time.perf_counter()
        if kind == "calendar":
            instrument = rng.choice(self.instrument_ids)
            week = self.today - timedelta(days=self.today.weekday()) + timedelta(days=7 * rng.randint(0, 3))
            query = urlencode({"start": f"{week}T00:00:00", "end": f"{week + timedelta(days=7)}T00:00:00"})
            status, _ = user.request("GET", f"/bookings/calendar/{instrument}/events?{query}")
            good = {200}
        elif kind == "availability":
            query = urlencode({"class": CLASS_CODE, "start": self._hour(rng).strftime(MINUTE), "hours": 1})
            status, _ = user.api("GET", f"/api/v1/availability/?{query}")
            good = {200}
        elif kind == "submission":
            start = self._hour(rng)
            _, status, data = user.submit(rng.choice(self.instrument_ids[1:]), start, start + timedelta(hours=1))
            if status == 201:
                with self.lock:
                    self.pending.append((data.get("result") or data)["id"])
            good = {201, 409}
        else:
            with self.lock:
                booking_id = self.pending.popleft() if self.pending else None
            if booking_id is None:
                status, _ = self.lab.request("GET", "/bookingqueueview/list/")
            else:
                status, _ = self.lab.api("POST", f"/api/v1/booking/{booking_id}/schedule", {})
            good = {200}
        elapsed = time.perf_counter() - began
        with self.lock:
            self.times[kind].append(elapsed * 1000)
            self.statuses[kind][status] = self.statuses[kind].get(status, 0) + 1
            if status not in good:
                self.errors.append(f"{kind}: HTTP {status}")

    def run(self):
        deadline = time.monotonic() + self.seconds
        seeds = [self.random.random() for _ in self.users]

        def worker(user, seed):
            rng = random.Random(seed)
            while time.monotonic() < deadline:
                try:
                    self._one(rng, user)
                except Transport as error:
                    with self.lock:
                        self.errors.append(f"transport: {error}")

        began = time.monotonic()
        threads = [threading.Thread(target=worker, args=(u, s)) for u, s in zip(self.users, seeds)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.monotonic() - began
