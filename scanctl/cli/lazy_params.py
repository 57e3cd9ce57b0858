"""Typer builds a pydantic TypeAdapter for every option it processes, even one not given.

Typer 0.29 coerces each parameter's value through a pydantic ``TypeAdapter``, built on
first use: for ``--context`` of the root group that is ~150 ms (pydantic's import and
schema generation) on every start, including each TAB of shell completion, although
the value is ``None`` and needs no coercion. `install` makes two cases skip the
adapter, exactly as Typer would have answered them:

- an option that was not given (``None``) and is not required: ``None`` stays
  ``None`` (Typer's own coercion returns it unchanged after building the adapter);
- shell completion (``ctx.resilient_parsing``): the values of the other options do
  not change what can be completed, and a value that would not coerce is dropped by
  click there anyway.

Callbacks still run. Drop this module when Typer skips the adapter for missing values.
"""

from __future__ import annotations

from typing import Any

from typer._click import Context
from typer.core import _TyperParameter

__all__ = ["install"]

_original = _TyperParameter.process_value


def _process_value(self: _TyperParameter, ctx: Context, value: Any) -> Any:
    single = not (self.multiple or self.nargs == -1)
    skip = ctx.resilient_parsing or (value is None and single and not self.required)
    if not skip:
        return _original(self, ctx, value)
    if self.callback is not None:
        value = self.callback(ctx, self, value)
    return value


def install() -> None:
    """Make Typer's parameters skip the adapter where coercion has nothing to do."""
    _TyperParameter.process_value = _process_value  # type: ignore[method-assign]
