"""Join-code digests in Redis (the ``JoinCodeVault`` port of :mod:`application.join_codes`).

One hash per tenant and phone digest, ``sq:join-code:{key}``: the code's digest and the count of
wrong guesses, expiring with the code. Redeeming is one Lua script, so two joins racing with one
code cannot both use it and guesses are counted exactly.
"""

from __future__ import annotations

import hashlib
import hmac

import redis

from application.errors import Unavailable
from application.join_codes import Redemption

PREFIX = "sq:join-code:"

# KEYS[1] the code's hash; ARGV[1] the digest given, ARGV[2] the wrong guesses allowed.
REDEEM = """
local kept = redis.call('HGET', KEYS[1], 'digest')
if not kept then return {'missing', 0, 0} end
local ttl = redis.call('TTL', KEYS[1])
local wrong = tonumber(redis.call('HGET', KEYS[1], 'wrong') or '0')
local allowed = tonumber(ARGV[2])
if wrong >= allowed then return {'locked', 0, ttl} end
if kept == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return {'ok', allowed - wrong, ttl}
end
wrong = redis.call('HINCRBY', KEYS[1], 'wrong', 1)
return {'wrong', allowed - wrong, ttl}
"""


class RedisJoinCodeVault:
    """Code digests with a time to live and a count of wrong guesses, shared by every API
    process."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.script = client.register_script(REDEEM)

    def store(self, key: str, digest: str, ttl_seconds: int) -> None:
        name = PREFIX + key
        try:
            with self.client.pipeline(transaction=True) as pipe:
                pipe.delete(name)
                pipe.hset(name, mapping={"digest": digest, "wrong": 0})
                pipe.expire(name, ttl_seconds)
                pipe.execute()
        except redis.RedisError as error:
            raise Unavailable("the code store (Redis) is unreachable; retry shortly") from error

    def redeem(self, key: str, digest: str, max_attempts: int) -> Redemption:
        try:
            outcome, left, ttl = self.script(keys=[PREFIX + key], args=[digest, max_attempts])
        except redis.RedisError as error:
            raise Unavailable("the code store (Redis) is unreachable; retry shortly") from error
        name = outcome.decode() if isinstance(outcome, bytes) else str(outcome)
        return Redemption(name, int(left), max(0, int(ttl)))  # type: ignore[arg-type]


DERIVATION_LABEL = b"smartqueue join codes v1"


def derive_join_code_key(signing_key: bytes) -> bytes:
    """The join-code key: an HMAC of a fixed label under the API's signing key (rotating the
    signing key voids the codes in flight, as it ends ticket links)."""
    return hmac.new(signing_key, DERIVATION_LABEL, hashlib.sha256).digest()
