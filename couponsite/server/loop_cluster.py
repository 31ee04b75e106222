"""The thin path's Redis on a Redis Cluster: one ``LoopRedis`` per master.

``REDIS_URL`` names one node (any). At first use the client asks it for the
slot map (``CLUSTER SLOTS``) and then sends each command to the master that
serves its first key's slot, on that master's own pipelined connection
(``couponsite.server.loop_redis``). It follows nothing: a ``MOVED`` or
``ASK`` (a slot moved or moving), like a lost connection, raises (one of
``couponsite.server.thin.THIN_REDIS_ERRORS``), so the thin path steps aside
(Django answers, through redis-py's cluster client, which follows them) and
the map is read again in the background; the next command after that waits
for the new map.
"""

import asyncio
import logging
from collections.abc import Sequence

from redis.connection import parse_url

from couponsite.redis_cluster import key_slot
from couponsite.server.loop_redis import LoopRedis, RedisReplyError

logger = logging.getLogger(__name__)

__all__ = ["ClusterLoopRedis"]

SLOTS = 16384


class ClusterLoopRedis:
    def __init__(self, url: str, *, timeout: float) -> None:
        self.url = url
        self.timeout = timeout
        seed = parse_url(url)
        self.seed = (seed.get("host", "127.0.0.1"), int(seed.get("port", 6379)))
        self.nodes: dict[tuple[str, int], LoopRedis] = {}
        # slot -> the master serving it; None: to be read (again).
        self.table: list[tuple[str, int]] | None = None
        self.refreshing: asyncio.Task | None = None

    # --- what the thin path calls (LoopRedis's interface) ------------------------

    async def evalsha(
        self, sha: bytes, source: bytes, keys: Sequence[object], args: Sequence[object]
    ):
        """``EVALSHA`` on the master of ``keys[0]``'s slot (the caller keeps a
        script's keys in one slot; a script without keys runs on any master)."""
        node = await self._node(keys[0] if keys else None)
        return await self._guarded(node.evalsha(sha, source, keys, args))

    async def get(self, key: str) -> bytes | None:
        return await self._guarded((await self._node(key)).get(key))

    async def set(self, key: str, value: object, *, ex: int) -> None:
        await self._guarded((await self._node(key)).set(key, value, ex=ex))

    def close(self) -> None:
        if self.refreshing is not None:
            self.refreshing.cancel()
            self.refreshing = None
        for node in self.nodes.values():
            node.close()
        self.nodes.clear()

    # --- routing -------------------------------------------------------------------

    async def _guarded(self, command):
        try:
            return await command
        except RedisReplyError as error:
            if str(error).startswith(("MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN")):
                self.map_stale()
            raise
        except OSError:
            self.map_stale()
            raise

    async def _node(self, key: str | bytes | None) -> LoopRedis:
        if self.table is None:
            if self.refreshing is None:
                self.refreshing = asyncio.get_running_loop().create_task(
                    self._refresh()
                )
            await asyncio.shield(self.refreshing)
        address = self.table[0 if key is None else key_slot(key)]
        if not address[1]:
            self.map_stale()
            raise ConnectionError("no Redis Cluster master serves this slot")
        node = self.nodes.get(address)
        if node is None:
            node = self.nodes[address] = LoopRedis(
                self.url, timeout=self.timeout, host=address[0], port=address[1]
            )
        return node

    def map_stale(self) -> None:
        """Forget the slot map and read it again in the background."""
        self.table = None
        if self.refreshing is None:
            task = asyncio.get_running_loop().create_task(self._refresh())
            task.add_done_callback(_retrieved)
            self.refreshing = task

    async def _refresh(self) -> None:
        """Read the slot map from a node that answers (the known masters, then
        the seed); raises ``ConnectionError`` when none does."""
        try:
            candidates = [*self.nodes, self.seed]
            for address in dict.fromkeys(candidates):
                node = self.nodes.get(address) or LoopRedis(
                    self.url, timeout=self.timeout, host=address[0], port=address[1]
                )
                try:
                    reply = await node.call(b"CLUSTER", b"SLOTS")
                except (OSError, RedisReplyError):
                    logger.warning("thin path: no slot map from %s:%s", *address)
                    if address not in self.nodes:
                        node.close()
                    continue
                self.nodes.setdefault(address, node)
                self.table = _table(reply, address)
                return
            raise ConnectionError("no Redis Cluster node gave its slot map")
        finally:
            self.refreshing = None


def _table(reply: list, asked: tuple[str, int]) -> list[tuple[str, int]]:
    """``CLUSTER SLOTS``' reply as one master address per slot (a slot no
    master serves is a connection error when used: the cluster is down)."""
    table: list[tuple[str, int]] = [("", 0)] * SLOTS
    for start, end, master, *_ in reply:
        host = master[0].decode() if master[0] else asked[0]
        table[start : end + 1] = [(host, int(master[1]))] * (end + 1 - start)
    return table


def _retrieved(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.warning(
            "thin path: the slot map could not be read: %s", task.exception()
        )
