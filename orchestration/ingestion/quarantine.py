"""Quarantine: malformed source records go to a `quarantine` table with the reason, the rest loads.

Each raw dataset (raw_stripe, raw_supabase, raw_usage) gets a `quarantine` table with one row per
rejected record: the table it was meant for, why it was rejected, and the record itself as JSON.
Rows merge on a hash of (table, record), so loading the same bad record twice keeps one row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator, Sequence
from typing import Any

import dlt
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ValidationError

QUARANTINE_TABLE = "quarantine"
QUARANTINE_HINTS = dlt.mark.make_hints(
    table_name=QUARANTINE_TABLE,
    write_disposition="merge",
    primary_key="quarantine_id",
    columns={
        "quarantine_id": {"data_type": "text", "nullable": False},
        "source_table": {"data_type": "text"},
        "reason": {"data_type": "text"},
        "record": {"data_type": "text"},
        "quarantined_at": {"data_type": "timestamp"},
    },
)


def quarantine_row(table: str, reason: str, record: Any) -> Any:
    """A record marked for the quarantine table of the current dataset."""
    body = orjson.dumps(record, default=str, option=orjson.OPT_SORT_KEYS).decode()
    row = {
        "quarantine_id": hashlib.sha1(f"{table}\n{body}".encode()).hexdigest(),
        "source_table": table,
        "reason": reason,
        "record": body,
        "quarantined_at": dt.datetime.now(dt.timezone.utc),
    }
    return dlt.mark.with_hints(row, QUARANTINE_HINTS, create_table_variant=True)


def _reason(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "record"
        parts.append(f"{field}: {err['msg'].lower()} (got {err.get('input')!r})"[:200])
    return "; ".join(parts)


def validate_records(table: str, contract: type[BaseModel], records: Any) -> Iterator[Any]:
    """Pass records that satisfy `contract` unchanged; quarantine the rest with the reason."""
    for record in records if isinstance(records, list) else [records]:
        if not isinstance(record, dict):
            yield quarantine_row(table, f"expected an object, got {type(record).__name__}", record)
            continue
        try:
            contract.model_validate(record)
        except ValidationError as exc:
            yield quarantine_row(table, _reason(exc), record)
        else:
            yield record


def validate_arrow(table_name: str, keys: Sequence[str], batch: pa.Table | pa.RecordBatch) -> Iterator[Any]:
    """Arrow path: rows with a null key column are quarantined, the rest pass as one Arrow table."""
    if isinstance(batch, pa.RecordBatch):
        batch = pa.Table.from_batches([batch])
    bad_mask = None
    for key in keys:
        if key not in batch.column_names:
            yield quarantine_row(table_name, f"{key}: column missing from the batch", {"columns": batch.column_names})
            return
        is_null = pc.is_null(batch.column(key))
        bad_mask = is_null if bad_mask is None else pc.or_(bad_mask, is_null)
    if bad_mask is not None and pc.any(bad_mask).as_py():
        bad = batch.filter(bad_mask)
        for row in bad.to_pylist():
            missing = [k for k in keys if row.get(k) is None]
            yield quarantine_row(table_name, f"{', '.join(missing)}: required key is null", row)
        batch = batch.filter(pc.invert(bad_mask))
    if batch.num_rows:
        # keys are now non-null: say so in the Arrow schema, as dlt's schema does for keys
        schema = batch.schema
        for key in keys:
            i = schema.get_field_index(key)
            schema = schema.set(i, schema.field(i).with_nullable(False))
        yield batch.cast(schema)
