"""Dependencies of the routes (``Annotated`` aliases, as in the full-stack FastAPI template).

The app's long-lived objects (Redis store, Gold reader, model registry, key ring, rate limiter)
are created in the lifespan and kept on ``app.state``; routes reach them only through the
``get_*`` functions here, which tests replace with ``app.dependency_overrides``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request, Security
from fastapi.security import APIKeyHeader

from api.errors import RateLimited, Unauthorized
from api.gold import GoldReader
from api.keys import ApiKey, KeyRing
from api.live import LiveStore
from api.models import ModelRegistry
from api.ratelimit import RateLimiter
from ingestion.contracts import Platform
from kol.settings import ApiSettings

# The getters are `async def` although they do not await: FastAPI runs a plain `def` dependency
# in the thread pool, a thread hop per dependency per request.

# Static ceilings for the OpenAPI schema; settings may lower them (checked in the routes).
MAX_PAGE = 1000


async def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


async def get_live(request: Request) -> LiveStore:
    live: LiveStore = request.app.state.live
    return live


async def get_gold(request: Request) -> GoldReader:
    gold: GoldReader = request.app.state.gold
    return gold


async def get_models(request: Request) -> ModelRegistry:
    models: ModelRegistry = request.app.state.models
    return models


async def get_keyring(request: Request) -> KeyRing:
    keyring: KeyRing = request.app.state.keyring
    return keyring


async def get_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.limiter
    return limiter


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
LiveDep = Annotated[LiveStore, Depends(get_live)]
GoldDep = Annotated[GoldReader, Depends(get_gold)]
ModelsDep = Annotated[ModelRegistry, Depends(get_models)]
KeyRingDep = Annotated[KeyRing, Depends(get_keyring)]
LimiterDep = Annotated[RateLimiter, Depends(get_limiter)]

api_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="An API key from `kol api keys create` (required on every route but health).",
)


async def require_api_key(
    request: Request,
    keyring: KeyRingDep,
    limiter: LimiterDep,
    settings: SettingsDep,
    key: Annotated[str | None, Security(api_key_header)] = None,
) -> ApiKey:
    """Authenticate the key, then count the request against the key's rate limit."""
    if not key:
        raise Unauthorized("missing API key: send it in the X-API-Key header")
    found = await keyring.lookup(key)
    if found is None:
        raise Unauthorized("unknown or revoked API key")
    request.state.key_id = found.key_id
    decision = await limiter.hit(found.key_id, found.rate_limit)
    request.state.rate_limit = decision
    if not decision.allowed:
        raise RateLimited(decision.limit, settings.rate_limit_window_s, decision.retry_after)
    return found


ApiKeyDep = Annotated[ApiKey, Depends(require_api_key)]

# ---- common parameters ----------------------------------------------------------------------
# Patterns are checked by pydantic (Rust regex) and by clients from the OpenAPI schema
# (ECMAScript regex); `\S` and `.` differ between the two on some Unicode characters, so blanks
# are spelled out.
NOT_BLANK = r"[^ \t\n\r\f\v]"
HANDLE = rf"^{NOT_BLANK}+$"
PlatformPath = Annotated[Platform, Path(description="tiktok, youtube or instagram")]
UsernamePath = Annotated[
    str,
    Path(min_length=1, max_length=100, pattern=HANDLE, description="Handle without '@'"),
]
PlatformQuery = Annotated[Platform | None, Query(description="Only this platform")]
Limit = Annotated[int | None, Query(ge=1, le=MAX_PAGE, description="Page size")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="Items to skip")]


def kol_id(platform: str, username: str) -> str:
    return f"{platform}:{username}"
