"""Stripe as a dlt source: one merge-on-`id` resource per object type.

The same resources load the demo company and the live account; only the record reader differs:
`StripeFiles` replays JSON Lines written by the demo generator, `StripeApi` pages through the
Stripe API with the official SDK (auto-pagination, `max_network_retries` for rate limits and
network errors, which the SDK retries with exponential backoff and jitter).

Incremental loading (live): each resource keeps the newest `created` it has seen in dlt state.
The next run lists objects created since then (minus a look-back window for objects whose
status changes after creation, such as invoices and charges), and re-fetches subscriptions
and customers that `events` say changed. Stripe keeps events for 30 days: run at least monthly
or do a full refresh (`psz ingest --full-refresh`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import dlt
import orjson
from pydantic import BaseModel, ConfigDict, StrictBool, StrictInt, StrictStr

from orchestration.ingestion.quarantine import validate_records

OBJECT_TYPES = ("products", "prices", "coupons", "customers", "subscriptions", "invoices", "charges", "refunds", "events")
LOOKBACK_SECONDS = {"invoices": 35 * 86_400, "charges": 35 * 86_400, "refunds": 7 * 86_400}
EVENT_PREFIXES = {"subscriptions": "customer.subscription.", "customers": "customer."}


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
    """Lists objects through the Stripe SDK, newest cursor first, expanding nested lists."""

    EXPAND = {"subscriptions": ["data.discounts"], "invoices": ["data.discounts", "data.payments"]}

    def __init__(self, api_key: str, api_base: str | None = None, max_network_retries: int = 5) -> None:
        import stripe

        base = {"api": api_base} if api_base else None
        self.client = stripe.StripeClient(api_key, base_addresses=base, max_network_retries=max_network_retries)  # type: ignore[arg-type]

    def _service(self, object_type: str) -> Any:
        return getattr(self.client.v1, object_type)

    def iter_objects(self, object_type: str, since: int | None) -> Iterator[dict[str, Any]]:
        params: dict[str, Any] = {"limit": 100}
        if object_type == "subscriptions":
            params["status"] = "all"
        if object_type in self.EXPAND:
            params["expand"] = self.EXPAND[object_type]
        if since is not None and object_type not in ("products", "prices", "coupons"):
            params["created"] = {"gte": since - LOOKBACK_SECONDS.get(object_type, 0)}
        seen: set[str] = set()
        for obj in self._service(object_type).list(params=params).auto_paging_iter():
            seen.add(obj["id"])
            yield obj.to_dict()
        if since is not None and object_type in EVENT_PREFIXES:
            yield from self._changed_since(object_type, since, seen)

    def _changed_since(self, object_type: str, since: int, seen: set[str]) -> Iterator[dict[str, Any]]:
        """Objects created earlier but changed since `since`, found through events."""
        prefix = EVENT_PREFIXES[object_type]
        events = self.client.v1.events.list(params={"limit": 100, "created": {"gte": since}})
        for event in events.auto_paging_iter():
            if not event["type"].startswith(prefix):
                continue
            obj_id = event["data"]["object"]["id"]
            if obj_id in seen:
                continue
            seen.add(obj_id)
            yield self._service(object_type).retrieve(obj_id).to_dict()


# ----------------------------------------------------------------------------- dlt
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

    columns = {"data": {"data_type": "json"}} if object_type == "events" else None
    return dlt.resource(
        rows, name=object_type, primary_key="id", write_disposition="merge", columns=columns,
    )  # fmt: skip


@dlt.source(name="stripe", max_table_nesting=3)
def stripe_source(reader: StripeRecords) -> Any:
    """All Stripe object types as resources, loaded into `raw_stripe`."""
    return [_object_resource(reader, t) for t in OBJECT_TYPES]
