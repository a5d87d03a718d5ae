"""The REST API under a fuzzer (issue 21, §2): Schemathesis generates requests from the OpenAPI document
(/api/v1/_openapi) — valid ones and malformed ones: huge keys, nested objects where an id is expected,
lone surrogates, broken Rison — and sends them as every demo account and anonymously, to the demo
university as `make run` builds it (a copy of its database taken right after seeding: the fuzzer writes).

Every answer must be a non-5xx answer the document declares, with the declared content type and body, and
an address must refuse a method it does not take with 405 and its Allow header. Two of Schemathesis's
checks are left out, because no OpenAPI document can say what they ask: that every schema-valid request is
accepted (the platform refuses valid-looking requests by its rules: scope, conflicts, states) and that every
request the document would refuse is refused (FAB reads its list arguments more leniently than it documents).

The run is seeded and bounded (FUZZ_EXAMPLES per operation and account, default 4); `make fuzz` runs the
same test with many more.
"""
import os
from datetime import timedelta

import hypothesis
import pytest
import schemathesis
from schemathesis import GenerationMode
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from app import create_app
from app.extensions import db

from .demo_site import DEMO_PASSWORD

# the demo was seeded on the machine's clock, and the accounts' tokens must verify when they are sent
pytestmark = pytest.mark.real_clock

ACCOUNTS = ["school_admin", "college_admin", "lab_admin", "service_user", "student_user", "campus_user"]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))
NOT_PROMISED = [positive_data_acceptance, negative_data_rejection]
FUZZ_PHASES = (hypothesis.Phase.explicit, hypothesis.Phase.generate, hypothesis.Phase.shrink)


@pytest.fixture(scope="module")
def fuzz_app(demo_site):
    application = create_app("config.TestConfig", SQLALCHEMY_DATABASE_URI=demo_site.pristine_url,
                             JWT_ACCESS_TOKEN_EXPIRES=timedelta(hours=6))
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def tokens(fuzz_app):
    """Each demo account's JWT (as an API client signs in); anonymous sends none."""
    client, found = fuzz_app.test_client(), {None: {}}
    for name in ACCOUNTS:
        answer = client.post("/api/v1/security/login", json={"username": name, "password": DEMO_PASSWORD,
                                                              "provider": "db"})
        assert answer.status_code == 200, (name, answer.get_data(as_text=True))
        found[name] = {"Authorization": f"Bearer {answer.get_json()['access_token']}"}
    return found


def signed_in(app, headers):
    """The token opens the account's own bookings: a fuzz run signed in, not one answered 401 throughout."""
    return app.test_client().get("/api/v1/booking/", headers=headers).status_code == 200


@pytest.fixture(scope="module")
def api_schema(fuzz_app, tokens):
    return schemathesis.openapi.from_wsgi("/api/v1/_openapi", fuzz_app, headers=tokens["school_admin"])


def fuzz(operation, headers, mode):
    """Hypothesis over one operation in one generation mode; the first failure it finds (shrunk), or None."""

    @hypothesis.settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                         suppress_health_check=list(hypothesis.HealthCheck), phases=FUZZ_PHASES)
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        case.call_and_validate(headers=headers, excluded_checks=NOT_PROMISED)

    try:
        run()
    except Exception as failure:  # noqa: BLE001  (Schemathesis's check failures and any crash alike)
        return failure
    return None


@pytest.mark.parametrize("who", [None, *ACCOUNTS], ids=["anonymous", *ACCOUNTS])
def test_every_operation_answers_as_documented_and_never_5xx(fuzz_app, api_schema, tokens, who):
    """Every operation, valid and malformed requests alike, as this account: all failures listed at once."""
    assert who is None or signed_in(fuzz_app, tokens[who])
    failures = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failure = fuzz(operation, tokens[who], mode)
            if failure is not None:
                failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}):\n{failure}")
    assert who is None or signed_in(fuzz_app, tokens[who])  # and still signed in at the end
    assert not failures, f"{len(failures)} operations failed as {who or 'anonymous'}:\n\n" + "\n\n".join(failures)
