"""WeChat Pay API v3 through the well-kept ``wechatpayv3`` client, in platform-public-key mode.

Traps this module keeps us out of:
- certificate mode downloads the platform certificates in the client's constructor (network at
  start-up); public-key mode does not, so we always pass ``public_key`` and ``public_key_id``;
- the client's gateway is fixed (``Core._gate_way``); we set it after construction from
  ``WECHATPAY_BASE_URL`` so tests and the demo talk to the local stand-in;
- the client falls back to downloading certificates when a signature names an unknown serial; we
  refuse a notification whose ``Wechatpay-Serial`` is not our platform public key id *before*
  the library sees it, so a forged notification can never make us call out.

Notifications are verified and decrypted here with the library's helpers (``rsa_verify``,
``aes_decrypt``: the same steps ``WeChatPay.callback`` takes) so that each way a notification can
be wrong is told apart in the log.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings

from smartclinic.billing.errors import ProviderError
from smartclinic.core import clock

logger = logging.getLogger(__name__)

SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"


@dataclass(frozen=True)
class WechatPayConfig:
    mchid: str
    appid: str
    merchant_serial_no: str
    private_key: str
    apiv3_key: str
    public_key: str
    public_key_id: str
    notify_url: str
    base_url: str
    timeout: int
    standin: bool = False


def wechat_config() -> WechatPayConfig | None:
    """Real merchant keys when ``WECHATPAY_MCHID`` is set; the stand-in's test keys in demo mode
    (``WECHATPAY_STANDIN=1``); otherwise ``None``: WeChat Pay is unavailable."""
    if settings.WECHATPAY_MCHID:
        return WechatPayConfig(
            mchid=settings.WECHATPAY_MCHID,
            appid=settings.WECHATPAY_APPID,
            merchant_serial_no=settings.WECHATPAY_MERCHANT_SERIAL_NO,
            private_key=settings.WECHATPAY_PRIVATE_KEY,
            apiv3_key=settings.WECHATPAY_APIV3_KEY,
            public_key=settings.WECHATPAY_PUBLIC_KEY,
            public_key_id=settings.WECHATPAY_PUBLIC_KEY_ID,
            notify_url=settings.WECHATPAY_NOTIFY_URL,
            base_url=settings.WECHATPAY_BASE_URL,
            timeout=settings.WECHATPAY_TIMEOUT_SECONDS,
        )
    if settings.WECHATPAY_STANDIN:
        from smartclinic.billing.wechat_standin import load_or_create_keys

        keys = load_or_create_keys(settings.WECHATPAY_STANDIN_KEY_DIR)
        return WechatPayConfig(
            mchid=keys.mchid,
            appid=keys.appid,
            merchant_serial_no=keys.merchant_serial_no,
            private_key=keys.merchant_private_pem,
            apiv3_key=keys.apiv3_key,
            public_key=keys.platform_public_pem,
            public_key_id=keys.public_key_id,
            notify_url=settings.WECHATPAY_NOTIFY_URL or "http://127.0.0.1:8000/api/v1/payments/wechat/notify",
            base_url=settings.WECHATPAY_STANDIN_URL,
            timeout=settings.WECHATPAY_TIMEOUT_SECONDS,
            standin=True,
        )
    return None


class NotificationRejected(Exception):
    def __init__(self, outcome: str, detail: str) -> None:
        super().__init__(detail)
        self.outcome = outcome
        self.detail = detail


@dataclass(frozen=True)
class VerifiedNotification:
    id: str
    event_type: str
    resource: dict[str, Any]


class WechatPayClient:
    """The calls we make, each returning WeChat Pay's JSON answer (signature already verified by
    the library) or raising ``ProviderError``."""

    def __init__(self, config: WechatPayConfig) -> None:
        from wechatpayv3 import WeChatPay, WeChatPayType
        from wechatpayv3.utils import load_public_key

        self.config = config
        self._pay = WeChatPay(
            wechatpay_type=WeChatPayType.JSAPI,
            mchid=config.mchid,
            private_key=config.private_key,
            cert_serial_no=config.merchant_serial_no,
            appid=config.appid,
            apiv3_key=config.apiv3_key,
            notify_url=config.notify_url,
            public_key=config.public_key,
            public_key_id=config.public_key_id,
            timeout=(5, config.timeout),
        )
        self._pay._core._gate_way = config.base_url.rstrip("/")  # documented override (WECHATPAY_BASE_URL)
        self._public_key = load_public_key(config.public_key)

    # --- calls ------------------------------------------------------------------------------

    def _call(self, operation: str, func: Any, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        try:
            status, text = func(**kwargs)
        except Exception as exc:
            logger.warning("wechatpay %s failed: %s", operation, exc)
            raise ProviderError(operation=operation) from exc
        try:
            body = json.loads(text) if text else {}
        except (TypeError, ValueError) as exc:
            raise ProviderError(operation=operation, error="answer is not JSON") from exc
        return int(status), body if isinstance(body, dict) else {}

    def prepay_jsapi(
        self, *, out_trade_no: str, description: str, amount: int, openid: str, time_expire: str | None = None
    ) -> str:
        status, body = self._call(
            "prepay",
            self._pay.pay,
            description=description,
            out_trade_no=out_trade_no,
            amount={"total": amount, "currency": "CNY"},
            payer={"openid": openid},
            time_expire=time_expire,
        )
        prepay_id = body.get("prepay_id")
        if status != 200 or not prepay_id:
            raise ProviderError(operation="prepay", status=status, provider_code=body.get("code", ""))
        return str(prepay_id)

    def jsapi_params(self, *, prepay_id: str) -> dict[str, str]:
        """What ``WeixinJSBridge.invoke('getBrandWCPayRequest', …)`` needs, signed with our key."""
        timestamp = str(int(clock.now().timestamp()))
        nonce = secrets.token_hex(16)
        package = f"prepay_id={prepay_id}"
        signature = self._pay.sign([self.config.appid, timestamp, nonce, package])
        return {
            "appId": self.config.appid,
            "timeStamp": timestamp,
            "nonceStr": nonce,
            "package": package,
            "signType": "RSA",
            "paySign": signature,
        }

    def query(self, *, out_trade_no: str) -> dict[str, Any] | None:
        """The transaction as WeChat Pay knows it; ``None`` when it has never heard of it."""
        status, body = self._call("query", self._pay.query, out_trade_no=out_trade_no)
        if status == 404 or body.get("code") == "ORDER_NOT_EXIST":
            return None
        if status != 200:
            raise ProviderError(operation="query", status=status, provider_code=body.get("code", ""))
        return body

    def refund(
        self, *, out_refund_no: str, out_trade_no: str, transaction_id: str, amount: int, total: int, reason: str
    ) -> dict[str, Any]:
        status, body = self._call(
            "refund",
            self._pay.refund,
            out_refund_no=out_refund_no,
            amount={"refund": amount, "total": total, "currency": "CNY"},
            transaction_id=transaction_id or None,
            out_trade_no=None if transaction_id else out_trade_no,
            reason=reason[:80] or None,
        )
        if status != 200:
            raise ProviderError(operation="refund", status=status, provider_code=body.get("code", ""))
        return body

    def query_refund(self, *, out_refund_no: str) -> dict[str, Any] | None:
        status, body = self._call("query_refund", self._pay.query_refund, out_refund_no=out_refund_no)
        if status == 404 or body.get("code") == "RESOURCE_NOT_EXISTS":
            return None
        if status != 200:
            raise ProviderError(operation="query_refund", status=status, provider_code=body.get("code", ""))
        return body

    # --- notifications ------------------------------------------------------------------------

    def verify_notification(self, *, headers: Mapping[str, str], body: bytes) -> VerifiedNotification:
        """Verify the platform's signature over ``timestamp\\nnonce\\nbody\\n`` with the platform
        public key, then decrypt the AES-256-GCM resource with the APIv3 key. Raises
        ``NotificationRejected`` with the outcome to log."""
        from wechatpayv3.utils import aes_decrypt, rsa_verify

        signature = headers.get("Wechatpay-Signature", "")
        timestamp = headers.get("Wechatpay-Timestamp", "")
        nonce = headers.get("Wechatpay-Nonce", "")
        serial = headers.get("Wechatpay-Serial", "")
        signature_type = headers.get("Wechatpay-Signature-Type", SIGNATURE_TYPE)
        if not (signature and timestamp and nonce and serial):
            raise NotificationRejected("rejected_signature", "signature headers missing")
        if signature_type != SIGNATURE_TYPE:
            raise NotificationRejected("rejected_signature", f"unsupported signature type {signature_type[:40]}")
        if serial != self.config.public_key_id:
            raise NotificationRejected("rejected_signature", f"unknown key serial {serial[:64]}")
        try:
            sent_at = int(timestamp)
        except ValueError as exc:
            raise NotificationRejected("rejected_signature", "timestamp is not a number") from exc
        if abs(clock.now().timestamp() - sent_at) > settings.WECHATPAY_NOTIFY_MAX_AGE_SECONDS:
            raise NotificationRejected("rejected_stale", f"timestamp {sent_at} outside the replay window")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NotificationRejected("rejected_malformed", "body is not UTF-8") from exc
        if not rsa_verify(timestamp, nonce, text, signature, self._public_key):
            raise NotificationRejected("rejected_signature", "signature does not verify")
        try:
            data = json.loads(text)
            resource = data["resource"]
            if data.get("resource_type") != "encrypt-resource" or resource.get("algorithm") != "AEAD_AES_256_GCM":
                raise NotificationRejected("rejected_malformed", "unexpected resource type or algorithm")
            plain = aes_decrypt(
                nonce=resource["nonce"],
                ciphertext=resource["ciphertext"],
                associated_data=resource.get("associated_data") or "",
                apiv3_key=self.config.apiv3_key,
            )
        except NotificationRejected:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise NotificationRejected("rejected_malformed", f"malformed notification: {type(exc).__name__}") from exc
        if plain is None:
            raise NotificationRejected("rejected_decrypt", "resource does not decrypt with the APIv3 key")
        try:
            decrypted = json.loads(plain)
        except ValueError as exc:
            raise NotificationRejected("rejected_malformed", "decrypted resource is not JSON") from exc
        if not isinstance(decrypted, dict):
            raise NotificationRejected("rejected_malformed", "decrypted resource is not an object")
        return VerifiedNotification(
            id=str(data.get("id", ""))[:64], event_type=str(data.get("event_type", ""))[:40], resource=decrypted
        )


@lru_cache(maxsize=4)
def _client_for(config: WechatPayConfig) -> WechatPayClient:
    return WechatPayClient(config)


def wechat_client() -> WechatPayClient | None:
    config = wechat_config()
    return _client_for(config) if config is not None else None
