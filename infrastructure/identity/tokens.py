"""Signed access and refresh tokens (JWT, RFC 8725 practices) and their Redis denylist.

- One algorithm, pinned on both sides (HS256 with a key of at least 256 bits); the ``alg`` and
  ``typ`` headers are checked before the signature, so ``alg=none`` or a refresh token presented as
  an access token (``typ`` ``at+jwt`` vs ``refresh+jwt``, RFC 9068) is refused.
- ``iss``, ``aud``, ``exp``, ``iat``, ``sub``, ``jti``, ``sid``, ``tenant``, ``role`` and ``scope``
  are required and verified; ``iat``, ``nbf`` and ``exp`` with a small leeway for clock skew
  between API processes.
- Revocation: a token id (``jti``) or a whole sign-in session (``sid``) is written to a Redis
  denylist that expires with the longest token it can concern; every verification checks both in
  one round trip. Each user's live sessions are remembered so deactivation can revoke them all.
- Refresh tokens rotate: each is spent with one atomic ``SET NX`` on its ``jti``, so of two
  parallel refreshes exactly one wins; a spent token presented again (a thief's copy or the
  owner's, whichever came second) revokes its whole session (RFC 6819 5.2.2.3, OAuth 2.0
  Security BCP 4.14), so neither side keeps a working token.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import jwt
import redis
import structlog

from application.ports import Claims, TokenPair, TokenSubject
from infrastructure.redis.calls import RedisCall

ALGORITHM = "HS256"
ACCESS_TYPE = "at+jwt"
REFRESH_TYPE = "refresh+jwt"
REQUIRED_CLAIMS = ["iss", "aud", "exp", "iat", "sub", "jti", "sid", "tenant", "role", "scope"]
MIN_SECRET_BYTES = 32
PREFIX = "sq:auth"

log = structlog.get_logger(__name__)


def load_signing_key(configured: str | None, home: Path) -> bytes:
    """The configured key, or one generated once under ``home`` and shared by local processes."""
    if configured:
        key = configured.encode()
        if len(key) < MIN_SECRET_BYTES:
            raise ValueError(f"SMARTQUEUE_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes")
        return key
    path = home / "jwt-secret"
    home.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
    for _ in range(50):  # another process may be writing it right now
        key = path.read_text().strip().encode()
        if len(key) >= MIN_SECRET_BYTES:
            return key
        time.sleep(0.02)
    raise RuntimeError(f"{path} holds no usable signing key")


class JwtTokenService:
    """Issues, verifies and revokes tokens."""

    def __init__(
        self,
        client: redis.Redis,
        key: bytes,
        issuer: str,
        audience: str,
        access_ttl_seconds: int,
        refresh_ttl_seconds: int,
        clock: Callable[[], float] = time.time,
        leeway_seconds: int = 0,
    ) -> None:
        self.redis = client
        self.key = key
        self.issuer = issuer
        self.audience = audience
        self.access_ttl = access_ttl_seconds
        self.refresh_ttl = refresh_ttl_seconds
        self.clock = clock
        self.leeway = leeway_seconds

    # -- issuing ----------------------------------------------------------------------------------

    def issue(self, subject: TokenSubject, session_id: str | None = None) -> TokenPair:
        now = int(self.clock())
        session_id = session_id or uuid4().hex
        access = self._encode(ACCESS_TYPE, subject, session_id, now, self.access_ttl)
        refresh = self._encode(REFRESH_TYPE, subject, session_id, now, self.refresh_ttl)
        sessions = f"{PREFIX}:sessions:{subject.user_id}"
        with self._redis() as client:
            pipeline = client.pipeline()
            pipeline.sadd(sessions, session_id)
            pipeline.expire(sessions, self._session_mark_seconds)
            pipeline.execute()
        return TokenPair(access_token=access, refresh_token=refresh, expires_in=self.access_ttl)

    def _encode(self, kind: str, subject: TokenSubject, session_id: str, now: int, ttl: int) -> str:
        payload = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": str(subject.user_id),
            "tenant": str(subject.tenant_id),
            "role": subject.role,
            "scope": " ".join(sorted(subject.scopes)),
            "sid": session_id,
            "jti": uuid4().hex,
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
        }
        if subject.site_id is not None:  # a device, kept to one site
            payload["site"] = str(subject.site_id)
        return jwt.encode(payload, self.key, algorithm=ALGORITHM, headers={"typ": kind})

    # -- verifying --------------------------------------------------------------------------------

    def verify_access(self, token: str) -> Claims | None:
        return self._verify(token, ACCESS_TYPE)

    def spend_refresh(self, token: str) -> Claims | None:
        claims = self._decode(token, REFRESH_TYPE)
        if claims is None:
            return None
        spent = f"{PREFIX}:spent:{claims.token_id}"
        with self._redis() as client:
            pipeline = client.pipeline(transaction=True)  # MULTI/EXEC: one atomic step
            pipeline.set(spent, "1", nx=True, ex=self._remaining_seconds(claims))
            pipeline.exists(
                f"{PREFIX}:denied:{claims.token_id}", f"{PREFIX}:denied:{claims.session_id}"
            )
            first_spend, denied = pipeline.execute()
        if not first_spend:
            log.warning(
                "refresh_token_reused",
                session_id=claims.session_id,
                user_id=str(claims.user_id),
                tenant_id=str(claims.tenant_id),
            )
            self.revoke_session(claims.session_id)
            return None
        return None if denied else claims

    def _verify(self, token: str, kind: str) -> Claims | None:
        claims = self._decode(token, kind)
        if claims is None:
            return None
        with self._redis() as client:
            denied = client.exists(
                f"{PREFIX}:denied:{claims.token_id}", f"{PREFIX}:denied:{claims.session_id}"
            )
        return None if denied else claims

    def _decode(self, token: str, kind: str) -> Claims | None:
        """The claims of a well-signed, current token of ``kind``; revocation is not checked."""
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != ALGORITHM or header.get("typ") != kind:
                return None
            payload: dict[str, Any] = jwt.decode(
                token,
                self.key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": REQUIRED_CLAIMS},
                leeway=self.leeway,  # clock skew between the processes that mint and check
            )
            claims = Claims(
                token_id=str(payload["jti"]),
                session_id=str(payload["sid"]),
                user_id=UUID(str(payload["sub"])),
                tenant_id=UUID(str(payload["tenant"])),
                role=str(payload["role"]),
                scopes=frozenset(str(payload["scope"]).split()),
                expires_at=datetime.fromtimestamp(int(payload["exp"]), UTC),
                site_id=UUID(str(payload["site"])) if "site" in payload else None,
            )
        except (jwt.InvalidTokenError, ValueError, TypeError, KeyError):
            return None
        return claims

    def _remaining_seconds(self, claims: Claims) -> int:
        """How long a mark about this token must last: as long as it is accepted (its expiry
        plus the leeway), and at least 1 s."""
        return max(1, int(claims.expires_at.timestamp() - self.clock()) + 1 + self.leeway)

    @property
    def _session_mark_seconds(self) -> int:
        """A session lives as long as its newest refresh token is accepted."""
        return self.refresh_ttl + self.leeway

    # -- revoking ---------------------------------------------------------------------------------

    def revoke_session(self, session_id: str) -> None:
        with self._redis() as client:
            client.set(f"{PREFIX}:denied:{session_id}", "1", ex=self._session_mark_seconds)

    def revoke_user(self, user_id: UUID) -> None:
        sessions = f"{PREFIX}:sessions:{user_id}"
        with self._redis() as client:
            pipeline = client.pipeline()
            for session_id in client.smembers(sessions):
                pipeline.set(f"{PREFIX}:denied:{session_id}", "1", ex=self._session_mark_seconds)
            pipeline.delete(sessions)
            pipeline.execute()

    def _redis(self) -> RedisCall:
        return RedisCall(self.redis)
