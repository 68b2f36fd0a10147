"""Text the databases can all store: a NUL character is refused at the edge, on SQLite as on PostgreSQL."""

from typing import Annotated

from pydantic import AfterValidator

NUL_MESSAGE = "must not contain a NUL character (\\u0000)"


def refuse_nul(value: str) -> str:
    # PostgreSQL cannot store U+0000 in text while SQLite can: refusing it everywhere keeps both alike.
    if "\x00" in value:
        raise ValueError(NUL_MESSAGE)
    return value


def refuse_nul_anywhere(value: object) -> object:
    """The same value, after checking every string in it (list items, dict keys and values)."""
    if isinstance(value, str):
        refuse_nul(value)
    elif isinstance(value, list | tuple | set):
        for item in value:
            refuse_nul_anywhere(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            refuse_nul_anywhere(key)
            refuse_nul_anywhere(item)
    return value


NulFreeStr = Annotated[str, AfterValidator(refuse_nul)]
