"""A small client for the WeChat official account's server API (服务号): the stable access token
and template messages. Written on ``requests`` because wechatpy is unmaintained and has no
``stable_token`` (see docs/adr/0005-notifications.md).

- ``POST {base}/cgi-bin/stable_token`` ``{grant_type: client_credential, appid, secret,
  force_refresh}`` → ``{access_token, expires_in}``. Normal mode returns the current token while it
  is valid; force-refresh mode invalidates it and issues a new one (rate-limited by WeChat).
- ``POST {base}/cgi-bin/message/template/send?access_token=…`` ``{touser, template_id, url, data,
  client_msg_id}`` → ``{errcode: 0, errmsg: "ok", msgid}``. WeChat sends one message per
  (openid, client_msg_id) within ten minutes, which bounds duplicates when we retry after a crash.

The token is cached in Django's cache (Redis when configured, so every worker shares one) until
shortly before it expires. Errors come back as ``{errcode, errmsg}`` with HTTP 200.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import requests
from django.core.cache import cache

logger = logging.getLogger(__name__)

TOKEN_INVALID = frozenset({40001, 40014, 42001})  # invalid credential, invalid token, token expired
RECIPIENT_GONE = frozenset({43004, 40003, 43101})  # unsubscribed, invalid openid, refused (subscribe)
BUSY = frozenset({-1, 45009, 45011, 45047})  # system busy, API rate limits
TOKEN_MARGIN_SECONDS = 300  # refresh this long before WeChat says the token expires


class WechatError(Exception):
    """The WeChat API could not be used (network, HTTP status or an error code)."""


class WechatTransportError(WechatError):
    """No answer from WeChat: connection refused, timeout, HTTP 5xx, a body that is not JSON."""


class WechatApiError(WechatError):
    def __init__(self, errcode: int, errmsg: str) -> None:
        self.errcode = errcode
        self.errmsg = errmsg
        super().__init__(f"WeChat errcode {errcode}: {errmsg}")

    @property
    def token_invalid(self) -> bool:
        return self.errcode in TOKEN_INVALID

    @property
    def recipient_gone(self) -> bool:
        return self.errcode in RECIPIENT_GONE

    @property
    def busy(self) -> bool:
        return self.errcode in BUSY


class WechatClient:
    def __init__(
        self,
        *,
        base_url: str,
        appid: str,
        secret: str,
        timeout: float = 10.0,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.appid = appid
        self._secret = secret
        self.timeout = (min(timeout, 5.0), timeout)
        self.session = session or requests.Session()
        digest = hashlib.sha256(f"{self.base_url}|{appid}".encode()).hexdigest()[:16]
        self._cache_key = f"notifications:wechat:token:{digest}"

    @classmethod
    def from_settings(cls) -> WechatClient:
        from django.conf import settings

        return cls(
            base_url=getattr(settings, "WECHAT_API_BASE", "https://api.weixin.qq.com"),
            appid=getattr(settings, "WECHAT_APP_ID", ""),
            secret=getattr(settings, "WECHAT_APP_SECRET", ""),
            timeout=float(getattr(settings, "WECHAT_TIMEOUT_SECONDS", 10)),
        )

    def close(self) -> None:
        self.session.close()

    # --- transport ---------------------------------------------------------------------------
    def _post(self, path: str, body: dict[str, Any], params: dict[str, str] | None = None) -> dict[str, Any]:
        url = f"{self.base_url}{path}"
        try:
            response = self.session.post(url, json=body, params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            raise WechatTransportError(f"{path}: {type(exc).__name__}") from exc
        if response.status_code >= 400:
            raise WechatTransportError(f"{path}: HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError as exc:
            raise WechatTransportError(f"{path}: the answer is not JSON") from exc
        if not isinstance(data, dict):
            raise WechatTransportError(f"{path}: unexpected answer")
        errcode = int(data.get("errcode") or 0)
        if errcode != 0:
            raise WechatApiError(errcode, str(data.get("errmsg", "")))
        return data

    # --- access token ------------------------------------------------------------------------
    def _fetch_token(self, *, force_refresh: bool) -> str:
        data = self._post(
            "/cgi-bin/stable_token",
            {
                "grant_type": "client_credential",
                "appid": self.appid,
                "secret": self._secret,
                "force_refresh": force_refresh,
            },
        )
        token = str(data.get("access_token") or "")
        if not token:
            raise WechatTransportError("stable_token: no access_token in the answer")
        expires_in = int(data.get("expires_in") or 7200)
        ttl = max(expires_in - TOKEN_MARGIN_SECONDS, min(expires_in, 60))
        cache.set(self._cache_key, token, timeout=ttl)
        logger.info("WeChat access token obtained (force_refresh=%s, expires_in=%s)", force_refresh, expires_in)
        return token

    def access_token(self) -> str:
        token = cache.get(self._cache_key)
        if token:
            return str(token)
        return self._fetch_token(force_refresh=False)

    def _replace_token(self, rejected: str) -> str:
        """WeChat refused ``rejected``. Ask again in normal mode (another worker, or WeChat, may
        already hold a newer token); only if WeChat hands back the same token is it forced to
        issue a new one: a forced refresh invalidates the token every other worker uses and is
        rate-limited per day."""
        cache.delete(self._cache_key)
        fresh = self._fetch_token(force_refresh=False)
        if fresh == rejected:
            fresh = self._fetch_token(force_refresh=True)
        return fresh

    def call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """An authenticated call; an invalid or expired token is replaced and the call retried once."""
        token = self.access_token()
        try:
            return self._post(path, body, params={"access_token": token})
        except WechatApiError as exc:
            if not exc.token_invalid:
                raise
            logger.info("WeChat refused the access token (errcode %s); refreshing", exc.errcode)
        return self._post(path, body, params={"access_token": self._replace_token(token)})

    # --- messages ----------------------------------------------------------------------------
    def send_template(
        self,
        *,
        openid: str,
        template_id: str,
        data: dict[str, dict[str, str]],
        url: str = "",
        client_msg_id: str = "",
    ) -> str:
        body: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": data}
        if url:
            body["url"] = url
        if client_msg_id:
            body["client_msg_id"] = client_msg_id
        return str(self.call("/cgi-bin/message/template/send", body).get("msgid", ""))
