"""The HTML screens under a fuzzer (issue 21, §2): the OpenAPI document does not cover them, so Hypothesis
writes their query strings — FAB's list arguments (_flt_*, _oc_*, _od_*, psize_*, page_*) for every list
a role opens, and the public catalogue's search, filters and sort — with words where numbers go, numbers
past any column, columns that do not exist, NUL and lone surrogates. Every answer is a page or a redirect,
a 400/403/404 page when the request makes no sense; never a 5xx."""
import os
import urllib.parse

import hypothesis
import pytest
from flask_appbuilder import ModelView
from hypothesis import strategies as st


from .conftest import PASSWORD, login

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))
SETTINGS = hypothesis.settings(max_examples=EXAMPLES * 3, derandomize=True, database=None, deadline=None,
                               suppress_health_check=list(hypothesis.HealthCheck))
ANSWERS = {200, 302, 400, 403, 404}

# what a fuzzer types: words, digits, huge and negative numbers, dates, control characters, lone surrogates
VALUES = st.one_of(
    st.text(max_size=12),
    st.integers(min_value=-(10 ** 25), max_value=10 ** 25).map(str),
    st.sampled_from(["", "asc", "desc", "0", "-1", "1e999", "NaN", "2026-02-30", "\x00", "\ud800", "((", "!", "[]",
                     "²", "--5", "٣", "+7"]),  # digits str.isdigit() takes and int() refuses
)


@pytest.fixture(scope="module")
def screens_app(app):
    """The suite's small university (the fuzzer only reads: lists and searches)."""
    return app


def list_views(app):
    return sorted((v for v in app.appbuilder.baseviews if isinstance(v, ModelView)), key=lambda v: type(v).__name__)


def list_url(view):
    return f"/{view.route_base.strip('/')}/list/"


def list_args(view):
    """Hypothesis's query strings for one list: its own argument names, and others', with any value."""
    name = type(view).__name__
    columns = list(view.search_columns or []) + ["nonexistent"]
    keys = st.one_of(
        st.sampled_from([f"_oc_{name}", f"_od_{name}", f"psize_{name}", f"page_{name}", "page_Other", "_oc_Other"]),
        st.builds(lambda n, c: f"_flt_{n}_{c}", st.integers(min_value=0, max_value=25), st.sampled_from(columns)),
    )
    return st.dictionaries(keys, st.one_of(VALUES, st.sampled_from(list(view.order_columns or []) + [""])), max_size=4)


def query(args):
    return urllib.parse.urlencode(args, errors="surrogatepass")


@pytest.mark.parametrize("who", ["school_admin", "lab_admin", "service_user"])
def test_every_list_answers_any_query_string_without_a_server_error(screens_app, uni, who):
    client = login(screens_app.test_client(), who, PASSWORD)
    failures = []
    for view in list_views(screens_app):
        url = list_url(view)
        if client.get(url).status_code != 200:
            continue  # a list this role does not open: its refusal is the denial matrix's

        @SETTINGS
        @hypothesis.given(args=list_args(view), url=st.just(url))  # the loop's url, bound now (@given takes no defaults)
        def probe(args, url):
            answer = client.get(f"{url}?{query(args)}")
            assert answer.status_code in ANSWERS, (url, args, answer.status_code)

        try:
            probe()
        except AssertionError as failure:
            failures.append(str(failure))
    assert not failures, "\n".join(failures)


CATALOGUE_KEYS = ["q", "class", "college", "min_price", "max_price", "sort", "page", "bookable", "unit"]


@SETTINGS
@hypothesis.given(args=st.dictionaries(st.sampled_from(CATALOGUE_KEYS), VALUES, max_size=5))
def test_the_public_catalogue_answers_any_search_without_a_server_error(screens_app, args):
    answer = screens_app.test_client().get(f"/public/fees?{query(args)}")
    assert answer.status_code in ANSWERS, (args, answer.status_code)


def test_known_crashes_are_a_chinese_400_page(screens_app, uni):
    """The cases FAB crashed on before the guard (a 500 each): a word or a huge number as a page or page size,
    an order by a column the list does not have."""
    client = login(screens_app.test_client(), "lab_admin", PASSWORD)
    for args in ("_oc_InstrumentView=nonexistent&_od_InstrumentView=asc", "psize_InstrumentView=abc",
                 "psize_InstrumentView=99999999999999999999", "page_InstrumentView=abc",
                 "page_InstrumentView=99999999999999999999"):
        answer = client.get(f"/instrumentview/list/?{args}")
        assert answer.status_code == 400 and "无法识别该请求" in answer.get_data(as_text=True), args
    for key in ("%C2%B2", "--5", "99999999999999999999", "abc"):  # a record's key no record can have: 404, not 500
        assert client.get(f"/instrumentview/show/{key}").status_code == 404, key
    assert client.get("/statements/?party=unit:%C2%B2").status_code == 404
    assert client.get("/instrumentview/list/?_oc_InstrumentView=name&_od_InstrumentView=desc").status_code == 200
    assert client.get("/instrumentview/list/?psize_InstrumentView=100&page_InstrumentView=0").status_code == 200
