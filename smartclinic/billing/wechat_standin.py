"""A local stand-in for the parts of WeChat Pay API v3 that SmartClinic calls, speaking the
protocol with test keys:

- ``POST /v3/pay/transactions/jsapi`` (JSAPI prepay), ``GET /v3/pay/transactions/out-trade-no/{no}``
  (query), ``POST /v3/refund/domestic/refunds`` and ``GET /v3/refund/domestic/refunds/{no}``;
- every request's ``Authorization`` (``WECHATPAY2-SHA256-RSA2048``) is verified with the merchant
  public key, as the real gateway does, and every answer is signed with the platform private key
  (``Wechatpay-Signature`` over ``timestamp\\nnonce\\nbody\\n``, serial = the platform public key id);
- it SENDS payment and refund notifications the way WeChat Pay does: JSON with the resource
  encrypted with AES-256-GCM under the APIv3 key, signed like an answer;
- stand-in only, for the demo: ``POST /standin/pay`` plays the payer (the trade becomes SUCCESS
  and the notification is sent to the trade's ``notify_url``), and ``GET /standin/bill?bill_date=``
  returns the day's trade bill as CSV in WeChat Pay's format.

Tests run it in a thread on 127.0.0.1 with an ephemeral port (``WechatPayStandin(keys).start()``);
the demo runs ``manage.py wechatpay_standin --port 8766`` with keys kept in
``var/wechatpay-standin/keys.json`` (created on first use, shared with the web process).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import os
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SHANGHAI = ZoneInfo("Asia/Shanghai")
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
MAX_CLOCK_SKEW = 300


@dataclass(frozen=True)
class StandinKeys:
    mchid: str
    appid: str
    merchant_serial_no: str
    merchant_private_pem: str
    merchant_public_pem: str
    public_key_id: str
    platform_private_pem: str
    platform_public_pem: str
    apiv3_key: str


def _key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def generate_keys(*, mchid: str = "1900000109", appid: str = "wxd0c1f2e3a4b5c6d7") -> StandinKeys:
    """A merchant key pair (we sign requests, the stand-in verifies), a platform key pair (the
    stand-in signs answers and notifications, we verify) and an APIv3 key."""
    merchant_private, merchant_public = _key_pair()
    platform_private, platform_public = _key_pair()
    return StandinKeys(
        mchid=mchid,
        appid=appid,
        merchant_serial_no=secrets.token_hex(20).upper(),
        merchant_private_pem=merchant_private,
        merchant_public_pem=merchant_public,
        public_key_id=f"PUB_KEY_ID_{secrets.randbelow(10**30):030d}",
        platform_private_pem=platform_private,
        platform_public_pem=platform_public,
        apiv3_key=secrets.token_hex(16),
    )


def load_or_create_keys(directory: Path) -> StandinKeys:
    """The demo's test keys, made once and shared by the web process and the stand-in process."""
    directory = Path(directory)
    target = directory / "keys.json"
    if not target.exists():
        directory.mkdir(parents=True, exist_ok=True)
        temporary = directory / f".keys-{os.getpid()}-{secrets.token_hex(4)}.json"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(asdict(generate_keys()), handle)
        with contextlib.suppress(FileExistsError):  # another process made them first: theirs stand
            os.link(temporary, target)
        temporary.unlink()
    return StandinKeys(**json.loads(target.read_text(encoding="utf-8")))


def _private(pem: str) -> RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, RSAPrivateKey)
    return key


def _public(pem: str) -> RSAPublicKey:
    key = serialization.load_pem_public_key(pem.encode())
    assert isinstance(key, RSAPublicKey)
    return key


def rsa_sign(key: RSAPrivateKey, message: str) -> str:
    return base64.b64encode(key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa_check(key: RSAPublicKey, message: str, signature: str) -> bool:
    try:
        key.verify(base64.b64decode(signature), message.encode(), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(SHANGHAI).replace(microsecond=0).isoformat()


def yuan(fen: int) -> str:
    return f"{Decimal(fen) / 100:.2f}"


@dataclass
class Trade:
    out_trade_no: str
    appid: str
    mchid: str
    description: str
    amount: int
    openid: str
    notify_url: str
    prepay_id: str
    state: str = "NOTPAY"
    transaction_id: str = ""
    success_time: str = ""

    def as_json(self) -> dict[str, Any]:
        paid = self.state in {"SUCCESS", "REFUND"}
        body: dict[str, Any] = {
            "appid": self.appid,
            "mchid": self.mchid,
            "out_trade_no": self.out_trade_no,
            "trade_type": "JSAPI",
            "trade_state": self.state,
            "trade_state_desc": {"SUCCESS": "支付成功", "REFUND": "转入退款", "NOTPAY": "未支付"}.get(self.state, ""),
            "payer": {"openid": self.openid},
            "amount": {"total": self.amount, "currency": "CNY"},
        }
        if paid:
            body.update(
                transaction_id=self.transaction_id,
                bank_type="OTHERS",
                success_time=self.success_time,
                attach="",
            )
            body["amount"].update(payer_total=self.amount, payer_currency="CNY")
        return body


@dataclass
class StandinRefund:
    out_refund_no: str
    refund_id: str
    out_trade_no: str
    transaction_id: str
    amount: int
    total: int
    notify_url: str
    status: str = "PROCESSING"
    create_time: str = ""
    success_time: str = ""

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "refund_id": self.refund_id,
            "out_refund_no": self.out_refund_no,
            "transaction_id": self.transaction_id,
            "out_trade_no": self.out_trade_no,
            "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱",
            "create_time": self.create_time,
            "status": self.status,
            "funds_account": "AVAILABLE",
            "amount": {
                "total": self.total,
                "refund": self.amount,
                "payer_total": self.total,
                "payer_refund": self.amount,
                "settlement_total": self.total,
                "settlement_refund": self.amount,
                "discount_refund": 0,
                "currency": "CNY",
            },
        }
        if self.success_time:
            body["success_time"] = self.success_time
        return body


@dataclass
class _Failure:
    prefix: str
    remaining: int
    status: int
    code: str


@dataclass
class StandinCall:
    method: str
    path: str
    authorized: bool


class WechatPayStandin:
    def __init__(
        self,
        keys: StandinKeys,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        auto_settle_refunds: bool = False,
        notify_refunds: bool = False,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.keys = keys
        self.host = host
        self.port = port
        self.auto_settle_refunds = auto_settle_refunds
        self.notify_refunds = notify_refunds
        self.clock = clock or (lambda: dt.datetime.now(tz=SHANGHAI))
        self.trades: dict[str, Trade] = {}
        self.refunds: dict[str, StandinRefund] = {}
        self.calls: list[StandinCall] = []
        self._failures: list[_Failure] = []
        self._lock = threading.RLock()
        self._merchant_public = _public(keys.merchant_public_pem)
        self._platform_private = _private(keys.platform_private_pem)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- life ---------------------------------------------------------------------------------

    def start(self) -> WechatPayStandin:
        self._server = ThreadingHTTPServer((self.host, self.port), _handler_for(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="wechatpay-standin", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server = ThreadingHTTPServer((self.host, self.port), _handler_for(self))
        self.port = self._server.server_address[1]
        self._server.serve_forever()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # --- test controls ------------------------------------------------------------------------

    def fail_next(self, prefix: str, *, times: int = 1, status: int = 500, code: str = "SYSTEM_ERROR") -> None:
        """The next ``times`` requests whose path starts with ``prefix`` get an error answer."""
        with self._lock:
            self._failures.append(_Failure(prefix=prefix, remaining=times, status=status, code=code))

    def _take_failure(self, path: str) -> _Failure | None:
        with self._lock:
            for failure in self._failures:
                if path.startswith(failure.prefix) and failure.remaining > 0:
                    failure.remaining -= 1
                    return failure
        return None

    def pay(self, out_trade_no: str, *, at: dt.datetime | None = None) -> Trade:
        """The payer confirms in WeChat: the trade becomes SUCCESS (once)."""
        with self._lock:
            trade = self.trades[out_trade_no]
            if trade.state == "NOTPAY":
                trade.state = "SUCCESS"
                trade.transaction_id = f"42000{secrets.randbelow(10**23):023d}"
                trade.success_time = rfc3339(at or self.clock())
            return trade

    def settle_refund(self, out_refund_no: str, *, status: str = "SUCCESS") -> StandinRefund:
        with self._lock:
            refund = self.refunds[out_refund_no]
            if refund.status == "PROCESSING":
                refund.status = status
                if status == "SUCCESS":
                    refund.success_time = rfc3339(self.clock())
            return refund

    # --- signing ------------------------------------------------------------------------------

    def signed_headers(
        self,
        body: str,
        *,
        key: RSAPrivateKey | None = None,
        serial: str | None = None,
        timestamp: int | None = None,
    ) -> dict[str, str]:
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        nonce = secrets.token_hex(16)
        signature = rsa_sign(key or self._platform_private, f"{stamp}\n{nonce}\n{body}\n")
        return {
            "Wechatpay-Timestamp": stamp,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": signature,
            "Wechatpay-Serial": serial or self.keys.public_key_id,
            "Wechatpay-Signature-Type": SIGNATURE_TYPE,
        }

    def notification(
        self,
        resource: dict[str, Any],
        *,
        event_type: str,
        original_type: str,
        summary: str,
        apiv3_key: str | None = None,
        key: RSAPrivateKey | None = None,
        serial: str | None = None,
        timestamp: int | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """A notification as WeChat Pay sends it: the resource encrypted (AEAD_AES_256_GCM, the
        APIv3 key), the whole body signed with the platform key."""
        nonce = secrets.token_hex(6)
        associated = original_type
        ciphertext = AESGCM((apiv3_key or self.keys.apiv3_key).encode()).encrypt(
            nonce.encode(), json.dumps(resource, ensure_ascii=False).encode(), associated.encode()
        )
        body = json.dumps(
            {
                "id": f"EV-{secrets.token_hex(10)}",
                "create_time": rfc3339(self.clock()),
                "resource_type": "encrypt-resource",
                "event_type": event_type,
                "summary": summary,
                "resource": {
                    "original_type": original_type,
                    "algorithm": "AEAD_AES_256_GCM",
                    "ciphertext": base64.b64encode(ciphertext).decode(),
                    "associated_data": associated,
                    "nonce": nonce,
                },
            },
            ensure_ascii=False,
        )
        headers = self.signed_headers(body, key=key, serial=serial, timestamp=timestamp)
        headers["Content-Type"] = "application/json"
        return headers, body.encode()

    def payment_notification(self, out_trade_no: str, **overrides: Any) -> tuple[dict[str, str], bytes]:
        resource = self.trades[out_trade_no].as_json()
        resource.update(overrides.pop("resource", {}))
        return self.notification(
            resource, event_type="TRANSACTION.SUCCESS", original_type="transaction", summary="支付成功", **overrides
        )

    def refund_notification(self, out_refund_no: str, **overrides: Any) -> tuple[dict[str, str], bytes]:
        refund = self.refunds[out_refund_no]
        resource = {
            "mchid": self.keys.mchid,
            "out_trade_no": refund.out_trade_no,
            "transaction_id": refund.transaction_id,
            "out_refund_no": refund.out_refund_no,
            "refund_id": refund.refund_id,
            "refund_status": refund.status,
            "success_time": refund.success_time,
            "user_received_account": "支付用户零钱",
            "amount": {
                "total": refund.total,
                "refund": refund.amount,
                "payer_total": refund.total,
                "payer_refund": refund.amount,
            },
        }
        event = {"SUCCESS": "REFUND.SUCCESS", "ABNORMAL": "REFUND.ABNORMAL", "CLOSED": "REFUND.CLOSED"}.get(
            refund.status, "REFUND.SUCCESS"
        )
        return self.notification(resource, event_type=event, original_type="refund", summary="退款成功", **overrides)

    @staticmethod
    def deliver(url: str, headers: dict[str, str], body: bytes, *, timeout: float = 10) -> int:
        """POST a notification to the merchant's notify URL; the HTTP status it answered."""
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - http(s) only
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=timeout) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)

    def pay_and_notify(self, out_trade_no: str) -> tuple[Trade, int]:
        trade = self.pay(out_trade_no)
        headers, body = self.payment_notification(out_trade_no)
        return trade, self.deliver(trade.notify_url, headers, body)

    # --- the trade bill -----------------------------------------------------------------------

    BILL_HEADER = (
        "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,"
        "货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,"
        "商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
    )
    SUMMARY_HEADER = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"

    def trade_bill(self, bill_date: dt.date) -> str:
        """The day's ALL trade bill: a row per payment (by success time) and per refund (by the
        time it was accepted), each field prefixed with a backtick, then the summary."""
        rows: list[list[str]] = []
        paid_total = refund_total = fee_total_tenth_milli = 0
        with self._lock:
            trades = list(self.trades.values())
            refunds = list(self.refunds.values())
        for trade in trades:
            if not trade.success_time or dt.datetime.fromisoformat(trade.success_time).date() != bill_date:
                continue
            fee = trade.amount * 60  # 0.6 % in units of 1/100000 yuan
            paid_total += trade.amount
            fee_total_tenth_milli += fee
            rows.append(
                [
                    dt.datetime.fromisoformat(trade.success_time).strftime("%Y-%m-%d %H:%M:%S"),
                    trade.appid,
                    trade.mchid,
                    "0",
                    "",
                    trade.transaction_id,
                    trade.out_trade_no,
                    trade.openid,
                    "JSAPI",
                    "SUCCESS",
                    "OTHERS",
                    "CNY",
                    yuan(trade.amount),
                    "0.00",
                    "0",
                    "0",
                    "0.00",
                    "0.00",
                    "",
                    "",
                    trade.description,
                    "",
                    f"{Decimal(fee) / 100000:.5f}",
                    "0.60%",
                    yuan(trade.amount),
                    "0.00",
                    "",
                ]
            )
        for refund in refunds:
            if not refund.create_time or dt.datetime.fromisoformat(refund.create_time).date() != bill_date:
                continue
            trade = self.trades[refund.out_trade_no]
            refund_total += refund.amount
            rows.append(
                [
                    dt.datetime.fromisoformat(refund.create_time).strftime("%Y-%m-%d %H:%M:%S"),
                    trade.appid,
                    trade.mchid,
                    "0",
                    "",
                    refund.transaction_id,
                    refund.out_trade_no,
                    trade.openid,
                    "JSAPI",
                    "REFUND",
                    "OTHERS",
                    "CNY",
                    "0.00",
                    "0.00",
                    refund.refund_id,
                    refund.out_refund_no,
                    yuan(refund.amount),
                    "0.00",
                    "ORIGINAL",
                    refund.status,
                    trade.description,
                    "",
                    "0.00000",
                    "0.60%",
                    "0.00",
                    yuan(refund.amount),
                    "",
                ]
            )
        lines = [self.BILL_HEADER]
        lines += [",".join(f"`{value}" for value in row) for row in rows]
        lines.append(self.SUMMARY_HEADER)
        summary = [
            str(len(rows)),
            yuan(paid_total),
            yuan(refund_total),
            "0.00",
            f"{Decimal(fee_total_tenth_milli) / 100000:.5f}",
            yuan(paid_total),
            yuan(refund_total),
        ]
        lines.append(",".join(f"`{value}" for value in summary))
        return "\r\n".join(lines) + "\r\n"

    # --- the protocol -------------------------------------------------------------------------

    def _authorized(self, method: str, path: str, body: str, authorization: str) -> bool:
        scheme, _, params = authorization.partition(" ")
        if scheme != SIGNATURE_TYPE:
            return False
        fields: dict[str, str] = {}
        for part in params.split(","):
            name, _, value = part.strip().partition("=")
            fields[name] = value.strip('"')
        if fields.get("mchid") != self.keys.mchid or fields.get("serial_no") != self.keys.merchant_serial_no:
            return False
        try:
            if abs(time.time() - int(fields.get("timestamp", "0"))) > MAX_CLOCK_SKEW:
                return False
        except ValueError:
            return False
        message = f"{method}\n{path}\n{fields.get('timestamp')}\n{fields.get('nonce_str')}\n{body}\n"
        return rsa_check(self._merchant_public, message, fields.get("signature", ""))

    def handle(self, method: str, path: str, body: str, headers: dict[str, str]) -> tuple[int, Any, str]:
        """(status, JSON body or text, content type) for one request."""
        parts = urlsplit(path)
        if parts.path.startswith("/standin/"):
            return self._control(method, parts.path, parse_qs(parts.query), body)
        authorized = self._authorized(method, path, body, headers.get("Authorization", ""))
        with self._lock:
            self.calls.append(StandinCall(method=method, path=path, authorized=authorized))
        if not authorized:
            return 401, {"code": "SIGN_ERROR", "message": "签名错误"}, "application/json"
        failure = self._take_failure(parts.path)
        if failure is not None:
            return failure.status, {"code": failure.code, "message": "系统错误"}, "application/json"
        query = parse_qs(parts.query)
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            return 400, {"code": "PARAM_ERROR", "message": "body is not JSON"}, "application/json"
        if method == "POST" and parts.path == "/v3/pay/transactions/jsapi":
            return self._prepay(data)
        if method == "GET" and parts.path.startswith("/v3/pay/transactions/out-trade-no/"):
            return self._query(parts.path.rsplit("/", 1)[1], query)
        if method == "POST" and parts.path == "/v3/refund/domestic/refunds":
            return self._refund(data)
        if method == "GET" and parts.path.startswith("/v3/refund/domestic/refunds/"):
            return self._query_refund(parts.path.rsplit("/", 1)[1])
        return 404, {"code": "NOT_FOUND", "message": "not implemented by the stand-in"}, "application/json"

    def _prepay(self, data: dict[str, Any]) -> tuple[int, Any, str]:
        required = ("appid", "mchid", "description", "out_trade_no", "notify_url", "amount", "payer")
        if any(not data.get(name) for name in required):
            return 400, {"code": "PARAM_ERROR", "message": "缺少参数"}, "application/json"
        if data["appid"] != self.keys.appid or data["mchid"] != self.keys.mchid:
            return 400, {"code": "APPID_MCHID_NOT_MATCH", "message": "appid和mch_id不匹配"}, "application/json"
        total = data["amount"].get("total")
        if not isinstance(total, int) or total <= 0 or not data["payer"].get("openid"):
            return 400, {"code": "PARAM_ERROR", "message": "参数错误"}, "application/json"
        with self._lock:
            trade = self.trades.get(data["out_trade_no"])
            if trade is not None:
                if trade.state != "NOTPAY":
                    return 400, {"code": "ORDERPAID", "message": "该订单已支付"}, "application/json"
                if trade.amount != total:
                    return 400, {"code": "INVALID_REQUEST", "message": "201 商户订单号重复"}, "application/json"
                return 200, {"prepay_id": trade.prepay_id}, "application/json"
            trade = Trade(
                out_trade_no=data["out_trade_no"],
                appid=data["appid"],
                mchid=data["mchid"],
                description=data["description"],
                amount=total,
                openid=data["payer"]["openid"],
                notify_url=data["notify_url"],
                prepay_id=f"wx{secrets.token_hex(15)}",
            )
            self.trades[trade.out_trade_no] = trade
        return 200, {"prepay_id": trade.prepay_id}, "application/json"

    def _query(self, out_trade_no: str, query: dict[str, list[str]]) -> tuple[int, Any, str]:
        if query.get("mchid", [""])[0] != self.keys.mchid:
            return 400, {"code": "PARAM_ERROR", "message": "mchid"}, "application/json"
        with self._lock:
            trade = self.trades.get(out_trade_no)
            if trade is None:
                return 404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"}, "application/json"
            return 200, trade.as_json(), "application/json"

    def _refund(self, data: dict[str, Any]) -> tuple[int, Any, str]:
        out_refund_no = data.get("out_refund_no")
        amount = data.get("amount") or {}
        if not out_refund_no or not isinstance(amount.get("refund"), int):
            return 400, {"code": "PARAM_ERROR", "message": "参数错误"}, "application/json"
        with self._lock:
            existing = self.refunds.get(out_refund_no)
            if existing is not None:  # the same out_refund_no is the same refund
                return 200, existing.as_json(), "application/json"
            trade = self.trades.get(data.get("out_trade_no", "")) or next(
                (
                    t
                    for t in self.trades.values()
                    if t.transaction_id and t.transaction_id == data.get("transaction_id")
                ),
                None,
            )
            if trade is None or trade.state not in {"SUCCESS", "REFUND"}:
                return 404, {"code": "RESOURCE_NOT_EXISTS", "message": "订单不存在"}, "application/json"
            refunded = sum(r.amount for r in self.refunds.values() if r.out_trade_no == trade.out_trade_no)
            if (
                amount.get("total") != trade.amount
                or amount["refund"] <= 0
                or refunded + amount["refund"] > trade.amount
            ):
                return 400, {"code": "INVALID_REQUEST", "message": "退款金额不正确"}, "application/json"
            refund = StandinRefund(
                out_refund_no=out_refund_no,
                refund_id=f"50300{secrets.randbelow(10**24):024d}",
                out_trade_no=trade.out_trade_no,
                transaction_id=trade.transaction_id,
                amount=amount["refund"],
                total=trade.amount,
                notify_url=data.get("notify_url", ""),
                create_time=rfc3339(self.clock()),
            )
            self.refunds[out_refund_no] = refund
            trade.state = "REFUND"
            answer = refund.as_json()
        if self.notify_refunds and refund.notify_url:
            threading.Thread(target=self._settle_and_notify, args=(out_refund_no,), daemon=True).start()
        return 200, answer, "application/json"

    def _settle_and_notify(self, out_refund_no: str) -> None:
        time.sleep(0.5)
        refund = self.settle_refund(out_refund_no)
        headers, body = self.refund_notification(out_refund_no)
        with contextlib.suppress(OSError):
            self.deliver(refund.notify_url, headers, body)

    def _query_refund(self, out_refund_no: str) -> tuple[int, Any, str]:
        with self._lock:
            refund = self.refunds.get(out_refund_no)
            if refund is None:
                return 404, {"code": "RESOURCE_NOT_EXISTS", "message": "退款单不存在"}, "application/json"
            if self.auto_settle_refunds:
                self.settle_refund(out_refund_no)
            return 200, refund.as_json(), "application/json"

    def _control(self, method: str, path: str, query: dict[str, list[str]], body: str) -> tuple[int, Any, str]:
        if method == "POST" and path == "/standin/pay":
            try:
                out_trade_no = json.loads(body or "{}").get("out_trade_no", "")
            except ValueError:
                out_trade_no = ""
            if out_trade_no not in self.trades:
                return 404, {"code": "ORDER_NOT_EXIST", "message": "unknown out_trade_no"}, "application/json"
            try:
                trade, status = self.pay_and_notify(out_trade_no)
            except OSError as exc:
                return 502, {"code": "NOTIFY_FAILED", "message": str(exc)[:200]}, "application/json"
            return 200, {"transaction_id": trade.transaction_id, "notify_status": status}, "application/json"
        if method == "GET" and path == "/standin/bill":
            try:
                bill_date = dt.date.fromisoformat(query.get("bill_date", [""])[0])
            except ValueError:
                return 400, {"code": "PARAM_ERROR", "message": "bill_date=YYYY-MM-DD"}, "application/json"
            return 200, self.trade_bill(bill_date), "text/csv; charset=utf-8"
        return 404, {"code": "NOT_FOUND", "message": "unknown control endpoint"}, "application/json"


def _handler_for(standin: WechatPayStandin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "WechatPayStandin/1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8") if length else ""
            status, payload, content_type = standin.handle(method, self.path, body, dict(self.headers.items()))
            # ASCII JSON: what is signed is exactly what is sent.
            raw = payload if isinstance(payload, str) else json.dumps(payload)
            headers = standin.signed_headers(raw)
            headers["Content-Type"] = content_type if "charset" in content_type else f"{content_type}; charset=utf-8"
            headers["Request-ID"] = secrets.token_hex(16)
            encoded = raw.encode("utf-8")
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(encoded)))
            self.end_headers()
            self.wfile.write(encoded)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

    return Handler
