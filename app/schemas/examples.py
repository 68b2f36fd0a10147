"""The OpenAPI examples of a schema, declared the same way by every schema that shows one."""

from typing import Any, Unpack

from pydantic import ConfigDict


def with_examples(*examples: dict[str, Any], **config: Unpack[ConfigDict]) -> ConfigDict:
    """A model's config whose JSON schema carries `examples`, as the docs and the dashboard show them."""
    return ConfigDict(json_schema_extra={"examples": list(examples)}, **config)
