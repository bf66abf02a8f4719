"""Stripe as a dlt source: one merge-on-`id` resource per object type.

The same resources load the demo company and the live account; only the record reader differs:
`StripeFiles` replays JSON Lines written by the demo generator, `StripeApi` pages through the
Stripe API with the official SDK (its `max_network_retries` covers network errors and 5xx;
plain 429 rate limits, which the SDK raises at once, are retried by `StripeApi` with
exponential backoff and jitter, resuming at the page that was refused).

Incremental loading (live): each resource keeps the newest `created` it has seen in dlt state.
The next run lists objects created since then (minus a look-back window for objects whose
status changes after creation, such as invoices and charges), and re-fetches subscriptions
and customers that `events` say changed. Stripe keeps events for 30 days: run at least monthly
or reload from scratch (drop the `psz_stripe` pipeline state).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Protocol

import dlt
import orjson
from pydantic import BaseModel, ConfigDict, StrictBool, StrictInt, StrictStr

from orchestration.ingestion.quarantine import validate_records

OBJECT_TYPES = ("products", "prices", "coupons", "customers", "subscriptions", "invoices", "charges", "refunds", "events")
LOOKBACK_SECONDS = {"invoices": 35 * 86_400, "charges": 35 * 86_400, "refunds": 7 * 86_400}
EVENT_PREFIXES = {"subscriptions": "customer.subscription.", "customers": "customer."}
# the `data.object.object` of events about the object itself
EVENT_OBJECTS = {"subscriptions": "subscription", "customers": "customer"}

log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- contracts
class _StripeObject(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")
    id: StrictStr
    object: StrictStr
    created: StrictInt


class _Customer(_StripeObject):
    email: StrictStr | None = None


class _Price(_StripeObject):
    currency: StrictStr
    unit_amount: StrictInt | None = None


class _Subscription(_StripeObject):
    customer: StrictStr
    status: StrictStr
    cancel_at_period_end: StrictBool


class _Invoice(_StripeObject):
    customer: StrictStr
    amount_due: StrictInt
    currency: StrictStr


class _Charge(_StripeObject):
    amount: StrictInt
    currency: StrictStr
    status: StrictStr


class _Refund(_StripeObject):
    amount: StrictInt
    charge: StrictStr | None = None


class _Event(_StripeObject):
    type: StrictStr
    data: dict[str, Any]


CONTRACTS: dict[str, type[BaseModel]] = {
    "products": _StripeObject, "prices": _Price, "coupons": _StripeObject, "customers": _Customer,
    "subscriptions": _Subscription, "invoices": _Invoice, "charges": _Charge, "refunds": _Refund,
    "events": _Event,
}  # fmt: skip


# ----------------------------------------------------------------------------- readers
class StripeRecords(Protocol):
    def iter_objects(self, object_type: str, since: int | None) -> Iterator[dict[str, Any]]: ...


class StripeFiles:
    """Replays `<folder>/<object_type>.jsonl` (the demo generator's output)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def iter_objects(self, object_type: str, since: int | None) -> Iterator[dict[str, Any]]:
        path = self.folder / f"{object_type}.jsonl"
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: run `psz demo generate --out {self.folder.parent}` first")
        with open(path, "rb") as f:
            for line in f:
                if line.strip():
                    yield orjson.loads(line)


class StripeApi:
    """Lists objects through the Stripe SDK (stripe 16: `client.v1.<type>.list`), page by page.

    Built to survive the two things a long listing meets: rate limits and servers that implement
    less than Stripe does (localstripe, other fakes, proxies in front of them).

    - Rate limits: the SDK's `max_network_retries` retries connection errors, 409 and 5xx, and a
      429 only when the response carries `Stripe-Should-Retry: true` (lock timeouts). A plain
      rate-limit 429 is raised as `stripe.RateLimitError`, so each page request is retried here
      with exponential backoff and jitter (`retry_delay * 2**n`, capped at `max_retry_delay`,
      times a random 0.5..1; the SDK's own backoff is 0.5 s * 2**n capped at 5 s, same jitter).
      Paging by hand (`starting_after` = last id of the page, which is what `auto_paging_iter()`
      does) means a retried page resumes where the listing was, instead of starting over.
    - Optional request parts: the `created` filter and `expand` are optimisations and extra
      detail, not meaning. A server that rejects them (localstripe answers 400 "Unexpected
      created" / "Bad expand", or 500, for most lists) is asked again without the `created`
      filter (applied here instead), then without `expand`; a warning says so. Real Stripe
      supports both and takes this path only if the first page request fails with a 5xx.
    - Unsupported object types: a 404 on the list endpoint itself (localstripe has no
      `/v1/prices`; Stripe says "Unrecognized request URL") skips that one type with a warning
      and records it in `unsupported`, rather than failing the whole load. A 404 on one object
      fetched because an event named it (deleted since) skips that object.
    """

    EXPAND: ClassVar[dict[str, list[str]]] = {
        "subscriptions": ["data.discounts"], "invoices": ["data.discounts", "data.payments"],
    }  # fmt: skip

    def __init__(
        self,
        api_key: str,
        api_base: str | None = None,
        max_network_retries: int = 5,
        *,
        rate_limit_retries: int | None = None,
        retry_delay: float = 0.5,
        max_retry_delay: float = 8.0,
    ) -> None:
        import stripe

        self._stripe = stripe
        base = {"api": api_base} if api_base else None
        self.client = stripe.StripeClient(
            api_key, base_addresses=base, max_network_retries=max_network_retries,  # type: ignore[arg-type]
        )  # fmt: skip
        self.rate_limit_retries = max_network_retries if rate_limit_retries is None else rate_limit_retries
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self.unsupported: set[str] = set()  # object types the server cannot list (skipped)
        self.rate_limit_hits = 0  # 429s retried, for logs and tests

    def _service(self, object_type: str) -> Any:
        return getattr(self.client.v1, object_type)

    def iter_objects(self, object_type: str, since: int | None) -> Iterator[dict[str, Any]]:
        base: dict[str, Any] = {"limit": 100}
        if object_type == "subscriptions":
            base["status"] = "all"  # the default leaves out canceled subscriptions
        extra: dict[str, Any] = {}
        if object_type in self.EXPAND:
            extra["expand"] = self.EXPAND[object_type]
        created_gte = None
        if since is not None and object_type not in ("products", "prices", "coupons"):
            created_gte = since - LOOKBACK_SECONDS.get(object_type, 0)
        seen: set[str] = set()
        for obj in self._list(object_type, base, extra, created_gte):
            seen.add(obj["id"])
            yield obj
        if since is not None and object_type in EVENT_PREFIXES and object_type not in self.unsupported:
            yield from self._changed_since(object_type, since, seen)

    def _list(
        self, object_type: str, base: dict[str, Any], extra: dict[str, Any], created_gte: int | None
    ) -> Iterator[dict[str, Any]]:
        """All objects of one type as plain dicts (the API's JSON shapes), one page at a time."""
        stripe = self._stripe
        service = self._service(object_type)
        # What to ask for, best first: everything; without the `created` filter (applied here
        # instead); the plain list. Each later request drops what the server rejected before.
        full = dict(base, **extra)
        if created_gte is not None:
            full["created"] = {"gte": created_gte}
        attempts: list[dict[str, Any]] = []
        for candidate in (full, {k: v for k, v in full.items() if k != "created"}, dict(base)):
            if candidate not in attempts:
                attempts.append(candidate)
        for i, params in enumerate(attempts):
            last = i == len(attempts) - 1
            # The first of several tries goes without SDK retries: a server that lacks a feature
            # rejects it every time (localstripe: 500 for `created` on most lists), and retrying
            # 5xx would only add seconds of backoff. A real Stripe hiccup there costs one
            # fallback request, never data: the next try filters here and has the SDK's retries.
            options = {"options": {"max_network_retries": 0}} if i == 0 and not last else {}
            try:
                page = self._call(service.list, params=params, **options)
                break
            except stripe.StripeError as exc:
                status = exc.http_status
                if status == 404:
                    self._skip_unsupported(object_type, exc)
                    return
                if last or status is None or not (status == 400 or status >= 500):
                    raise
                dropped = sorted(set(params) - set(attempts[i + 1]))
                log.warning(
                    "Stripe server rejected the list parameters %s for %s (HTTP %s: %s); retrying "
                    "without %s%s", sorted(set(params) - set(base)), object_type, status,
                    self._short(exc), dropped,
                    ", filtering on `created` here" if "created" in dropped else "",
                )  # fmt: skip
        local_filter = created_gte is not None and "created" not in params
        params = dict(params)
        while True:
            for item in page.data:
                # for_json: decimal strings stay strings, as on the wire (and in the demo files)
                obj = item.to_dict(for_json=True)
                if local_filter and obj.get("created", 0) < (created_gte or 0):
                    continue
                yield obj
            if not page.has_more or not page.data:
                return
            params["starting_after"] = page.data[-1]["id"]
            page = self._call(service.list, params=params)

    def _skip_unsupported(self, object_type: str, exc: Exception) -> None:
        # A missing list endpoint is a property of the server, not of this load: localstripe has
        # plans but no Prices API. Failing here would lose every other object type, so skip the
        # type loudly; its table stays as it was (or is not created).
        self.unsupported.add(object_type)
        log.warning(
            "Stripe server has no list endpoint for %s (%s); skipping %s",
            object_type, self._short(exc), object_type,
        )  # fmt: skip

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """`fn(*args, **kwargs)`, retried with backoff while Stripe answers 429 (see the class doc)."""
        attempt = 0
        while True:
            try:
                return fn(*args, **kwargs)
            except self._stripe.RateLimitError as exc:
                if attempt >= self.rate_limit_retries:
                    raise
                delay = min(self.retry_delay * 2**attempt, self.max_retry_delay)
                delay *= random.uniform(0.5, 1.0)
                attempt += 1
                self.rate_limit_hits += 1
                log.warning(
                    "Stripe rate limit (%s); retry %d/%d in %.2fs",
                    self._short(exc), attempt, self.rate_limit_retries, delay,
                )  # fmt: skip
                time.sleep(delay)

    def _changed_since(
        self, object_type: str, since: int, seen: set[str]
    ) -> Iterator[dict[str, Any]]:
        """Objects created earlier but changed since `since`, found through events."""
        prefix, object_name = EVENT_PREFIXES[object_type], EVENT_OBJECTS[object_type]
        stripe = self._stripe
        for event in self._list("events", {"limit": 100}, {}, since):
            # `customer.` also starts customer.subscription.*, customer.source.*,
            # customer.discount.*: only events about the object itself name one of this type.
            obj = (event.get("data") or {}).get("object") or {}
            if not event.get("type", "").startswith(prefix) or obj.get("object") != object_name:
                continue
            obj_id = obj.get("id")
            if not obj_id or obj_id in seen:
                continue
            seen.add(obj_id)
            try:
                current = self._call(self._service(object_type).retrieve, obj_id)
            except stripe.StripeError as exc:
                if exc.http_status != 404:
                    raise
                log.info("%s %s named by an event no longer exists; skipped", object_name, obj_id)
                continue
            record = current.to_dict(for_json=True)
            if record.get("deleted"):  # Stripe answers a deleted customer with a stub {id, deleted}
                continue
            yield record

    @staticmethod
    def _short(exc: Exception) -> str:
        return " ".join(str(exc).split())[:160]


# ----------------------------------------------------------------------------- dlt
def _nullable(kind: str, *names: str) -> dict[str, dict[str, Any]]:
    return {n: {"data_type": kind, "nullable": True} for n in names}


# Columns the models read that can be null in every record of a load (dlt creates a column only
# once it sees a value): declared so the raw tables always have them, whatever the data.
COLUMN_HINTS: dict[str, dict[str, dict[str, Any]]] = {
    "events": {"data": {"data_type": "json"}},
    "subscriptions": _nullable("bigint", "trial_start", "trial_end", "cancel_at", "canceled_at", "ended_at")
    | _nullable("text", "cancellation_details__reason", "cancellation_details__feedback", "metadata__kind",
                "metadata__organization_id"),
    "invoices": _nullable("bigint", "status_transitions__paid_at", "status_transitions__marked_uncollectible_at",
                          "status_transitions__voided_at", "next_payment_attempt")
    | _nullable("text", "parent__subscription_details__subscription"),
    "charges": _nullable("text", "failure_code", "failure_message", "outcome__reason", "payment_intent"),
    "customers": _nullable("text", "metadata__organization_id", "metadata__segment", "address__country", "email"),
    "coupons": _nullable("bigint", "duration_in_months") | _nullable("double", "percent_off"),
    "refunds": _nullable("text", "reason", "charge"),
}  # fmt: skip


def _object_resource(reader: StripeRecords, object_type: str) -> Any:
    def rows() -> Iterator[Any]:
        state = dlt.current.resource_state()
        since = state.get("last_created")
        newest = since or 0
        batch: list[dict[str, Any]] = []
        for obj in reader.iter_objects(object_type, since):
            created = obj.get("created")
            if isinstance(created, int) and created > newest:
                newest = created
            batch.append(obj)
            if len(batch) >= 1_000:
                yield from validate_records(object_type, CONTRACTS[object_type], batch)
                batch = []
        yield from validate_records(object_type, CONTRACTS[object_type], batch)
        state["last_created"] = newest or None

    return dlt.resource(
        rows, name=object_type, primary_key="id", write_disposition="merge",
        columns=COLUMN_HINTS.get(object_type),
    )  # fmt: skip


@dlt.source(name="stripe", max_table_nesting=3)
def stripe_source(reader: StripeRecords) -> Any:
    """All Stripe object types as resources, loaded into `raw_stripe`."""
    return [_object_resource(reader, t) for t in OBJECT_TYPES]
