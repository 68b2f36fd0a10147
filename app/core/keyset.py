"""Keyset pagination, one way for every list: order on (a column, id), resume after the last row seen.

The condition is the row-value form `(column, id) < (:value, :id)`: both databases read it as an index
range, where the equivalent OR of two comparisons makes PostgreSQL scan and filter. A cursor is the last
row's key, base64url without padding: `value|id`.
"""

import base64
import binascii
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, tuple_

from app.core.errors import BadRequest

V = TypeVar("V")


class InvalidCursor(BadRequest):
    pass


@dataclass(frozen=True)
class Keyset(Generic[V]):
    """An order on (`column`, `id`), newest or smallest first, and its cursor codec."""

    column: Any
    id: Any
    descending: bool
    dump: Callable[[V], str]
    load: Callable[[str], V]

    def order_by(self) -> tuple[Any, ...]:
        if self.descending:
            return (self.column.desc(), self.id.desc())
        return (self.column, self.id)

    def after(self, key: tuple[V, uuid.UUID]) -> ColumnElement[bool]:
        """The rows after `key` in this order."""
        if self.descending:
            return tuple_(self.column, self.id) < tuple_(*key)
        return tuple_(self.column, self.id) > tuple_(*key)

    def encode(self, value: V, row_id: uuid.UUID) -> str:
        raw = f"{self.dump(value)}|{row_id}"
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def decode(self, cursor: str) -> tuple[V, uuid.UUID]:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
            value, row_id = raw.rsplit("|", 1)
            return self.load(value), uuid.UUID(row_id)
        except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError):
            raise InvalidCursor("cursor is not one this API returned") from None


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def newest_first(created_at: Any, id_: Any) -> Keyset[datetime]:
    return Keyset(created_at, id_, descending=True, dump=datetime.isoformat, load=_utc)


def oldest_first(created_at: Any, id_: Any) -> Keyset[datetime]:
    return Keyset(created_at, id_, descending=False, dump=datetime.isoformat, load=_utc)


def by_name(name: Any, id_: Any) -> Keyset[str]:
    return Keyset(name, id_, descending=False, dump=str, load=str)
