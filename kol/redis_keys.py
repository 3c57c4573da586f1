"""The platform's Redis key layout: one definition for the streaming job that writes live
scores, the batch scoring that writes daily ones, and the API that reads both."""

from __future__ import annotations


class RedisKeys:
    """Key names under one prefix (``kol:`` by default) and, for the streaming job's own state,
    one checkpoint (its query id)."""

    def __init__(self, prefix: str, query_id: str = "", alerts_key: str = "alerts") -> None:
        self.prefix = prefix
        self.alerts_key = alerts_key
        self.ns = f"{prefix}stream:{query_id}"

    # ---- live scores (streaming job -> API) -----------------------------------------------
    def trending(self, kol_key: str) -> str:
        """Hash of one creator's live trending score (``platform:username``)."""
        return f"{self.prefix}trending:{kol_key}"

    def rank(self, platform: str | None = None) -> str:
        """Sorted set of creators by trending score, all platforms or one."""
        return f"{self.prefix}trending:rank:{platform or 'all'}"

    @property
    def alerts(self) -> str:
        return f"{self.prefix}{self.alerts_key}"

    @property
    def stats(self) -> str:
        return f"{self.prefix}stream:stats"

    # ---- daily scores (batch scoring -> API) ----------------------------------------------
    def scores(self, kol_id: str) -> str:
        return f"{self.prefix}scores:{kol_id}"

    # ---- the API's own --------------------------------------------------------------------
    def cache(self, name: str) -> str:
        return f"{self.prefix}api:cache:{name}"

    def rate(self, key_id: str, window: int) -> str:
        return f"{self.prefix}api:rl:{key_id}:{window}"

    # ---- the streaming job's state, per checkpoint ----------------------------------------
    @property
    def commit(self) -> str:
        return f"{self.ns}:commit"

    @property
    def glob(self) -> str:
        return f"{self.ns}:g"

    def creator(self, key: str) -> str:
        return f"{self.ns}:c:{key}"

    def seen(self, bucket: int) -> str:
        return f"{self.ns}:s:{bucket}"

    def dups(self, bucket: int) -> str:
        return f"{self.ns}:d:{bucket}"
