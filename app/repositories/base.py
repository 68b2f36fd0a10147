"""What every repository does the same way."""

from typing import Any

from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import dialect


async def insert_unless_taken(session: AsyncSession, row: SQLModel, *, unique: str) -> bool:
    """Insert the row unless one already holds its `unique` column's value: of concurrent inserts (workers
    starting at once on an empty database) the first wins, the others do nothing. True if inserted."""
    table: Any = type(row)
    statement = (
        dialect.insert_for(session)(table)
        .values(row.model_dump())
        .on_conflict_do_nothing(index_elements=[unique])
    )
    return bool((await session.exec(statement)).rowcount == 1)
