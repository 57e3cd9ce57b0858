"""Routes for the test suite only (`ENABLE_TEST_ROUTES`): a request that is slow on purpose."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query

__all__ = ["router"]

router = APIRouter(prefix="/__test__", include_in_schema=False)


@router.get("/slow")
async def slow(seconds: Annotated[float, Query(ge=0, le=60)] = 1.0) -> dict[str, float]:
    """Answers after ``seconds``: lets tests send SIGTERM while a request is in flight."""
    await asyncio.sleep(seconds)
    return {"slept": seconds}
