"""The BYOK plugin: a request to a provider the account stored its own key for goes with that key.

It runs after the router (800), which chose the provider and set the pool key, and before quota
(700), which leaves BYOK requests alone: the provider bills the account, and metering charges only
the platform fee (gateway.yaml `byok.platform_fee_percent`, see plugins.metering.charged_nanos).
Requests for a router (clew/free, ...) pick their provider per attempt upstream: plugins.fallback.Attempt
uses the account's key there, and metering learns it from the attempt's answer.

Keys are cached sealed (schemas.sealed_keys), per account, like identities: read through to the
database on a miss, kept up to `auth.identity_cache_seconds`, and dropped when the account change
feed names the account (the control plane writes it whenever a key is stored or deleted). A key is
opened only for the request that sends it, and never logged.
"""
import logging
from decimal import Decimal
from fractions import Fraction

import sqlalchemy as sa
from cachetools import TTLCache
from sqlalchemy.ext.asyncio import AsyncEngine

from plugins.chain import Plugin
from plugins.context import Reject, RequestContext
from schemas.sealed_keys import KeySealer, SealBroken, Sealed
from schemas.tables import provider_keys

log = logging.getLogger(__name__)
CACHE_SIZE = 200_000


def fee_fraction(percent: str) -> Fraction:
    """gateway.yaml's fee percentage as an exact fraction of the pool price ("2.5" -> 1/40)."""
    return Fraction(Decimal(percent)) / 100


class ProviderKeys:
    """Each account's sealed provider keys, from memory, read through to the database."""

    def __init__(self, engine: AsyncEngine, sealer: KeySealer | None, ttl: float):
        self.engine, self.sealer = engine, sealer
        self._accounts: TTLCache = TTLCache(CACHE_SIZE, ttl)
        self._evictions = 0

    async def key(self, account_id: str, provider: str) -> str | None:
        """The account's own key for `provider`, or None; SealBroken when it cannot be opened."""
        sealed = (await self._sealed(account_id)).get(provider)
        if sealed is None:
            return None
        if self.sealer is None:
            raise SealBroken("CLEW_BYOK_KEY is unset")
        return self.sealer.open(sealed, account_id, provider)

    async def _sealed(self, account_id: str) -> dict[str, Sealed]:
        found = self._accounts.get(account_id)
        if found is not None:
            return found
        evictions_before = self._evictions
        found = await self._load(account_id)
        # An eviction while we were reading means our rows may predate the change: don't keep them.
        if self._evictions == evictions_before:
            self._accounts[account_id] = found
        return found

    async def _load(self, account_id: str) -> dict[str, Sealed]:
        query = sa.select(provider_keys.c.provider, provider_keys.c.nonce, provider_keys.c.ciphertext).where(
            provider_keys.c.account_id == account_id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return {row.provider: Sealed(bytes(row.nonce), bytes(row.ciphertext)) for row in rows}

    def evict(self, account_id: str) -> None:
        self._evictions += 1
        self._accounts.pop(account_id, None)


def mark_byok(ctx: RequestContext, provider: str) -> None:
    """Bill the request as sent with the account's own key for `provider`: the platform fee only, and a
    rejection of that key reported as such."""
    fee = fee_fraction(ctx.runtime.config.byok["platform_fee_percent"])
    ctx.state.update(key_source="byok", byok_provider=provider, platform_fee=fee)


def _unreadable(provider: str) -> Reject:
    return Reject(500, f"The gateway could not read the key you stored for {provider}. Store it again "
                       "(POST /v1/provider-keys) or delete it to use the gateway's key.", "byok_key_unreadable",
                  {"x-key-source": "byok"}, reason="byok_key_unreadable")


class ByokPlugin(Plugin):
    name = "byok"
    priority = 750  # after the router has chosen the provider, before quota

    def __init__(self, keys: ProviderKeys):
        self.keys = keys

    async def on_request_body(self, ctx: RequestContext, body: bytes) -> None:
        if ctx.state.model is None or ctx.state.routed:
            return
        key = await self.byok_key(ctx, ctx.state.model.provider)
        if key is not None:
            ctx.mutation.set_headers["authorization"] = f"Bearer {key}"

    async def byok_key(self, ctx: RequestContext, provider: str) -> str | None:
        """The account's own key for `provider`, with the request marked BYOK (key source, fee);
        None when it has none and the pool key stays. Sending the key is the caller's part."""
        try:
            key = await self.keys.key(ctx.identity.account_id, provider)
        except SealBroken:
            log.error("the stored %s key of account %s cannot be decrypted (CLEW_BYOK_KEY changed?)",
                      provider, ctx.identity.account_id)
            raise _unreadable(provider) from None
        if key is not None:
            mark_byok(ctx, provider)
        return key
