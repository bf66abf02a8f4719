"""The live Stripe path against a real fake Stripe server: `StripeApi` (stripe 16 SDK) reads
localstripe, `stripe_source` loads DuckDB through dlt, merging on `id`.

localstripe runs as a subprocess on a free port for this module and is seeded through the SDK:
products, plans, a coupon, more than 100 customers (two pages at `limit=100`), card tokens turned
into sources, subscriptions (so invoices, charges and events exist), one canceled subscription
and one refund. A small HTTP server in front of it answers 429 to prove the reader rides out
rate limits.

What localstripe lacks, and what the reader does about it (see `StripeApi`): no `/v1/prices`
(plans instead) -> that type is skipped with a warning; no `created` filter on most lists and no
`discounts`/`payments` to expand -> the plain list is read and `created` is filtered client-side.

Needs the `localstripe` package (a dev dependency): skips locally without it, fails in CI.
"""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import duckdb
import pytest

from analytics.settings import Settings
from orchestration.ingestion.pipelines import make_pipeline
from orchestration.stripe.source import StripeApi, stripe_source
from tests.conftest import service_unavailable

pytestmark = pytest.mark.service

API_KEY = "sk_test_localstripe"  # localstripe accepts any `sk_...` key
N_CUSTOMERS = 105  # > 100: listing customers takes two pages
N_SUBSCRIBED = 30  # customers with a card and a subscription (-> invoice, charge, events)

# localstripe's server app, started the way its `localstripe --port N` command starts it, with
# three differences: it listens on 127.0.0.1 only (the command binds the IPv6 wildcard `::`,
# which fails where IPv6 is disabled), without an access log, and without persistence: the
# command pickles its whole store to the fixed path /tmp/localstripe.pickle on every write (and
# reloads it unless `--from-scratch`), which is O(store) per request and a file shared with any
# other localstripe on the machine.
_BOOT = """
import sys
from aiohttp import web
import localstripe.resources
localstripe.resources.Store.dump_to_disk = lambda self: None
from localstripe.server import app
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(url: str) -> bool:
    req = urllib.request.Request(
        f"{url}/v1/customers?limit=1", headers={"Authorization": f"Bearer {API_KEY}"}
    )
    try:
        with urllib.request.urlopen(req, timeout=1) as resp:
            return resp.status == 200
    except (OSError, urllib.error.URLError):
        return False


@pytest.fixture(scope="module")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a localstripe started for this module; always terminated afterwards."""
    try:
        import localstripe  # noqa: F401
    except ImportError as exc:
        service_unavailable(
            f"localstripe is not installed ({exc}); it is a dev dependency (`uv sync`)"
        )
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("localstripe") / "localstripe.log"
    with open(log_path, "wb") as log_file:
        # output to a file, not a pipe: nobody reads a pipe and the access log would fill it
        proc = subprocess.Popen(
            [sys.executable, "-c", _BOOT, str(port)],
            stdout=log_file, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while not _answers(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-600:]
                service_unavailable(
                    f"localstripe did not start on port {port} (exit {proc.poll()}): {tail}"
                )
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@dataclass
class Seeded:
    """What the seeding created: the truth the loaded tables are compared with."""

    client: Any
    products: set[str] = field(default_factory=set)
    plans: set[str] = field(default_factory=set)
    coupons: set[str] = field(default_factory=set)
    customers: set[str] = field(default_factory=set)  # tests that add customers add them here
    subscriptions: set[str] = field(default_factory=set)
    canceled: set[str] = field(default_factory=set)
    invoices: set[str] = field(default_factory=set)
    charges: set[str] = field(default_factory=set)
    refunds: set[str] = field(default_factory=set)
    oldest_customer: str = ""


def _card_token(client: Any) -> str:
    # localstripe knows no built-in test tokens such as `tok_visa`: make one from card details
    token = client.v1.tokens.create(
        params={
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}
        }
    )
    return str(token.id)


@pytest.fixture(scope="module")
def seeded(localstripe: str) -> Seeded:
    import stripe

    client = stripe.StripeClient(
        API_KEY, base_addresses={"api": localstripe}, max_network_retries=0
    )
    v1 = client.v1
    s = Seeded(client=client)
    plans = []
    for name, amount, interval in (("Starter", 2_900, "month"), ("Scale", 99_000, "year")):
        product = v1.products.create(params={"name": name})
        plan = v1.plans.create(
            params={
                "product": product.id,
                "amount": amount,
                "currency": "usd",
                "interval": interval,
            }
        )
        s.products.add(product.id)
        s.plans.add(plan.id)
        plans.append(plan.id)
    # localstripe needs an explicit coupon id
    coupon = v1.coupons.create(params={"id": "LAUNCH20", "percent_off": 20, "duration": "forever"})
    s.coupons.add(coupon.id)

    for i in range(N_CUSTOMERS):
        params: dict[str, Any] = {
            "email": f"customer{i:03d}@example.com",
            "name": f"Customer {i:03d}",
        }
        if i < N_SUBSCRIBED:
            params["source"] = _card_token(client)
        customer = v1.customers.create(params=params)
        s.customers.add(customer.id)
        if i == 0:
            # one customer strictly older than the rest, so a later edit of it can only be
            # found through `events`, not through the `created` window of the next run
            s.oldest_customer = customer.id
            time.sleep(1.05)
        if i < N_SUBSCRIBED:
            sub = v1.subscriptions.create(
                params={"customer": customer.id, "items": [{"plan": plans[i % 2]}]}
            )
            s.subscriptions.add(sub.id)

    first_sub = min(s.subscriptions)
    v1.subscriptions.cancel(first_sub)
    s.canceled.add(first_sub)

    for sub_id in s.subscriptions:
        invoice = v1.invoices.retrieve(v1.subscriptions.retrieve(sub_id).latest_invoice)
        s.invoices.add(invoice.id)
        if invoice.charge:  # localstripe embeds the whole charge where Stripe gives its id
            s.charges.add(invoice.charge if isinstance(invoice.charge, str) else invoice.charge.id)
    s.refunds.add(v1.refunds.create(params={"charge": min(s.charges)}).id)
    return s


# ----------------------------------------------------------------------------- helpers
def _run(settings: Settings, reader: StripeApi) -> Any:
    pipeline = make_pipeline("stripe", settings)
    pipeline.run(stripe_source(reader), loader_file_format="parquet")
    return pipeline


def _tables(settings: Settings) -> set[str]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        rows = con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw_stripe'"
        ).fetchall()
    return {r[0] for r in rows}


def _ids(settings: Settings, table: str) -> list[str]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return [r[0] for r in con.execute(f"select id from raw_stripe.{table}").fetchall()]


# ----------------------------------------------------------------------------- load
def test_full_load_matches_what_was_seeded(
    localstripe: str,
    seeded: Seeded,
    make_settings: Callable[..., Settings],
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = make_settings()
    reader = StripeApi(API_KEY, api_base=localstripe)
    with caplog.at_level(logging.WARNING, logger="orchestration.stripe.source"):
        _run(settings, reader)

    expected = {
        "products": seeded.products, "coupons": seeded.coupons, "customers": seeded.customers,
        "subscriptions": seeded.subscriptions, "invoices": seeded.invoices,
        "charges": seeded.charges, "refunds": seeded.refunds,
    }  # fmt: skip
    for table, ids in expected.items():
        loaded = _ids(settings, table)
        assert len(loaded) == len(set(loaded)), f"duplicate ids in {table}"
        assert set(loaded) == ids, table
    assert len(seeded.customers) > 100  # the customers listing really paged

    # events: everything the server recorded, each once
    server_events = {
        e.id for e in seeded.client.v1.events.list(params={"limit": 100}).auto_paging_iter()
    }
    loaded_events = _ids(settings, "events")
    assert len(loaded_events) == len(set(loaded_events)) and set(loaded_events) == server_events

    # nested lists became child tables (max_table_nesting=3)
    tables = _tables(settings)
    assert {"subscriptions__items__data", "invoices__lines__data"} <= tables
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        items = con.execute(
            "select count(*), count(distinct s.id) from raw_stripe.subscriptions__items__data i "
            "join raw_stripe.subscriptions s on i._dlt_parent_id = s._dlt_id"
        ).fetchone()
        statuses = dict(con.execute("select id, status from raw_stripe.subscriptions").fetchall())
    assert items == (len(seeded.subscriptions), len(seeded.subscriptions))  # one plan item each
    # `status=all`: the canceled subscription is listed too
    assert {statuses[i] for i in seeded.canceled} == {"canceled"}

    # localstripe's shapes satisfy the contracts: nothing quarantined
    if "quarantine" in tables:
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            assert (
                con.execute("select source_table, reason from raw_stripe.quarantine").fetchall()
                == []
            )

    # no Prices API in localstripe: skipped with a warning, not a failed load
    assert reader.unsupported == {"prices"}
    assert "prices" not in tables
    assert any("no list endpoint for prices" in r.getMessage() for r in caplog.records)


def test_second_run_adds_new_customers_and_merges_an_edit(
    localstripe: str,
    seeded: Seeded,
    make_settings: Callable[..., Settings],
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = make_settings()
    pipeline = _run(settings, StripeApi(API_KEY, api_base=localstripe))
    assert set(_ids(settings, "customers")) == seeded.customers

    v1 = seeded.client.v1
    new = set()
    for i in range(3):
        new.add(v1.customers.create(params={"email": f"late{i}@example.com"}).id)
    seeded.customers |= new
    v1.customers.update(seeded.oldest_customer, params={"email": "renamed@example.com"})

    state = pipeline.state["sources"]["stripe"]["resources"]["customers"]
    oldest_created = v1.customers.retrieve(seeded.oldest_customer).created
    # the edited customer lies before the next run's `created` window: only `events` can find it
    assert oldest_created < state["last_created"]

    with caplog.at_level(logging.WARNING, logger="orchestration.stripe.source"):
        pipeline = _run(settings, StripeApi(API_KEY, api_base=localstripe))
    # the second run was incremental (a `created` window, filtered client-side on localstripe)
    assert any(
        "for customers" in r.getMessage() and "filtering on `created`" in r.getMessage()
        for r in caplog.records
    )
    # it read the `created` window (customers created since the newest one of run 1, the 3 new
    # ones among them) plus the edited customer, found through its `customer.updated` event
    window = {
        c.id for c in v1.customers.list(params={"limit": 100}).auto_paging_iter()
        if c.created >= state["last_created"]
    }  # fmt: skip
    assert new <= window and seeded.oldest_customer not in window
    extracted = pipeline.last_trace.last_normalize_info.row_counts["customers"]
    assert extracted == len(window) + 1

    loaded = _ids(settings, "customers")
    assert len(loaded) == len(set(loaded)), "merge left duplicate ids"
    assert set(loaded) == seeded.customers and new <= set(loaded)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        email = con.execute(
            "select email from raw_stripe.customers where id = ?", [seeded.oldest_customer]
        ).fetchone()
    assert email == ("renamed@example.com",)


# ----------------------------------------------------------------------------- rate limits
class _RateLimitingProxy(ThreadingHTTPServer):
    """Forwards GETs to `upstream`, answering 429 to the request numbers in `reject` (1-based)."""

    daemon_threads = True

    def __init__(self, upstream: str, reject: set[int], should_retry_header: bool = False) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.upstream = upstream
        self.reject = reject
        self.should_retry_header = should_retry_header
        self.lock = threading.Lock()
        self.seen: list[tuple[int, str]] = []  # (status answered, path)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ProxyHandler(BaseHTTPRequestHandler):
    server: _RateLimitingProxy

    def do_GET(self) -> None:  # http.server calls do_<METHOD>
        srv = self.server
        with srv.lock:
            n = len(srv.seen) + 1
            limited = n in srv.reject
            srv.seen.append((429 if limited else 0, self.path))
        if limited:
            # the body Stripe sends with a rate-limit 429
            body = {"error": {"type": "invalid_request_error", "code": "rate_limit",
                              "message": "Too many requests hit the API too quickly."}}  # fmt: skip
            headers = {"Stripe-Should-Retry": "true"} if srv.should_retry_header else {}
            self._reply(429, json.dumps(body).encode(), headers)
            return
        req = urllib.request.Request(
            srv.upstream + self.path,
            headers={"Authorization": self.headers.get("Authorization", "")},
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                status, payload = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, payload = exc.code, exc.read()
        with srv.lock:
            srv.seen[n - 1] = (status, self.path)
        self._reply(status, payload, {})

    def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet


@pytest.fixture
def proxy(localstripe: str) -> Iterator[Callable[..., _RateLimitingProxy]]:
    servers: list[_RateLimitingProxy] = []

    def _start(reject: set[int], should_retry_header: bool = False) -> _RateLimitingProxy:
        srv = _RateLimitingProxy(localstripe, reject, should_retry_header)
        threading.Thread(
            target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        servers.append(srv)
        return srv

    yield _start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def test_reader_retries_rate_limits_and_resumes_paging(
    seeded: Seeded, proxy: Callable[..., _RateLimitingProxy]
) -> None:
    # requests 1 and 2 (first page) and 4 (second page) are rate limited. A plain 429 is not
    # retried by the stripe SDK (only 409, 5xx, or a 429 with `Stripe-Should-Retry: true`), so
    # the reader retries it itself: retry_delay * 2**n with jitter, here 10 ms instead of 0.5 s.
    srv = proxy({1, 2, 4})
    reader = StripeApi(API_KEY, api_base=srv.url, retry_delay=0.01)
    started = time.monotonic()
    rows = list(reader.iter_objects("customers", None))
    assert time.monotonic() - started < 5

    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)) and set(ids) == seeded.customers
    assert reader.rate_limit_hits == 3
    statuses = [status for status, _ in srv.seen]
    assert statuses == [429, 429, 200, 429, 200]
    # the retried second page resumed after the first page instead of starting over
    assert "starting_after=" in srv.seen[3][1] and srv.seen[3][1] == srv.seen[4][1]
    assert all(isinstance(r, dict) for r in rows)


def test_sdk_retries_429_that_stripe_marks_retryable(
    seeded: Seeded, proxy: Callable[..., _RateLimitingProxy], monkeypatch: pytest.MonkeyPatch
) -> None:
    from stripe import HTTPClient

    # With `Stripe-Should-Retry: true` (Stripe's lock timeouts) the SDK retries by itself under
    # `max_network_retries`: sleeps min(0.5 s * 2**(n-1), 5 s), times a random 0.5..1, never
    # below 0.5 s. The only knobs are these class attributes; shrink them for the test.
    monkeypatch.setattr(HTTPClient, "INITIAL_DELAY", 0.01)
    monkeypatch.setattr(HTTPClient, "MAX_DELAY", 0.05)
    srv = proxy({1, 2}, should_retry_header=True)
    reader = StripeApi(API_KEY, api_base=srv.url, max_network_retries=3)
    rows = list(reader.iter_objects("products", None))
    assert {r["id"] for r in rows} == seeded.products
    assert [status for status, _ in srv.seen] == [429, 429, 200]
    assert reader.rate_limit_hits == 0  # handled inside the SDK


def test_reader_gives_up_after_its_retries(proxy: Callable[..., _RateLimitingProxy]) -> None:
    import stripe

    srv = proxy(set(range(1, 100)))
    reader = StripeApi(API_KEY, api_base=srv.url, rate_limit_retries=2, retry_delay=0.01)
    with pytest.raises(stripe.RateLimitError):
        list(reader.iter_objects("customers", None))
    assert len(srv.seen) == 3  # the first try and two retries
