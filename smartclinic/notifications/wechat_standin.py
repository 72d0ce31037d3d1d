"""A local stand-in for WeChat's official-account API, for tests and the demo.

It speaks the two endpoints SmartClinic uses, with WeChat's answers and error codes:

- ``POST /cgi-bin/stable_token`` — ``{grant_type, appid, secret, force_refresh}`` →
  ``{access_token, expires_in}``; 40002 bad grant type, 40013 bad appid, 40125 bad secret.
  Normal mode returns the current token while it is valid; force refresh replaces it.
- ``POST /cgi-bin/message/template/send?access_token=`` — ``{touser, template_id, url, data,
  client_msg_id}`` → ``{errcode: 0, errmsg: "ok", msgid}``; 41001 no token, 40001 invalid token,
  42001 expired token, 47001 malformed body, 40037 unknown template, 43004 not subscribed; the
  same (touser, client_msg_id) is sent once and answered with the first msgid.

And it misbehaves on request: ``expire_tokens()`` (42001 until a new token is fetched),
``revoke_tokens()`` (40001 while normal mode keeps returning the same token, so only a forced
refresh helps), ``fail_sends(n, errcode)`` (-1 system busy, 45009 rate limit...), ``fail_http(n)``
(HTTP 502), ``unsubscribe(openid)``. Stop it to refuse connections.

Run it for the demo: ``python -m smartclinic.notifications.wechat_standin --port 8765``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

STABLE_TOKEN = "/cgi-bin/stable_token"
TEMPLATE_SEND = "/cgi-bin/message/template/send"


@dataclass
class SentTemplate:
    touser: str
    template_id: str
    data: dict[str, Any]
    url: str
    client_msg_id: str
    msgid: int


@dataclass
class _State:
    token: str = ""
    token_expires_at: float = 0.0
    revoked: bool = False
    send_failures: list[int] = field(default_factory=list)
    http_failures: list[int] = field(default_factory=list)
    unsubscribed: set[str] = field(default_factory=set)
    sent: list[SentTemplate] = field(default_factory=list)
    by_client_msg_id: dict[tuple[str, str], int] = field(default_factory=dict)
    token_requests: list[bool] = field(default_factory=list)  # force_refresh of each request
    send_requests: int = 0
    duplicates_suppressed: int = 0


class WechatStandIn:
    def __init__(
        self,
        *,
        appid: str = "wx-standin-app",
        secret: str = "standin-secret",
        token_ttl: int = 7200,
        templates: Iterable[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.appid = appid
        self.secret = secret
        self.token_ttl = token_ttl
        self.templates = set(templates) if templates is not None else None
        self._host = host
        self._port = port
        self._lock = threading.Lock()
        self._state = _State()
        self._msgids = itertools.count(2_000_000_001)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> WechatStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                standin._handle(self)

            def do_GET(self) -> None:
                standin._reply(self, 404, {"errcode": 40066, "errmsg": "invalid url"})

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer((self._host, self._port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="wechat-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> WechatStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the stand-in first"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    # --- misbehaviour ------------------------------------------------------------------------
    def expire_tokens(self) -> None:
        with self._lock:
            self._state.token_expires_at = 0.0

    def revoke_tokens(self) -> None:
        with self._lock:
            self._state.revoked = True

    def fail_sends(self, count: int, errcode: int = -1) -> None:
        with self._lock:
            self._state.send_failures.extend([errcode] * count)

    def fail_http(self, count: int, status: int = 502) -> None:
        with self._lock:
            self._state.http_failures.extend([status] * count)

    def unsubscribe(self, openid: str) -> None:
        with self._lock:
            self._state.unsubscribed.add(openid)

    # --- what happened -----------------------------------------------------------------------
    @property
    def sent(self) -> list[SentTemplate]:
        with self._lock:
            return list(self._state.sent)

    @property
    def token_requests(self) -> list[bool]:
        with self._lock:
            return list(self._state.token_requests)

    @property
    def send_requests(self) -> int:
        with self._lock:
            return self._state.send_requests

    @property
    def duplicates_suppressed(self) -> int:
        with self._lock:
            return self._state.duplicates_suppressed

    @property
    def current_token(self) -> str:
        with self._lock:
            return self._state.token

    # --- protocol ----------------------------------------------------------------------------
    @staticmethod
    def _reply(handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any] | str) -> None:
        raw = body.encode() if isinstance(body, str) else json.dumps(body, ensure_ascii=False).encode()
        handler.send_response(status)
        content_type = "text/html" if isinstance(body, str) else "application/json; encoding=utf-8"
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(raw)))
        handler.end_headers()
        handler.wfile.write(raw)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parsed = urlparse(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        with self._lock:
            if self._state.http_failures:
                status = self._state.http_failures.pop(0)
                if parsed.path == TEMPLATE_SEND:
                    self._state.send_requests += 1
                answer: tuple[int, dict[str, Any] | str] = (status, "<html><body>502 Bad Gateway</body></html>")
            else:
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = None
                if parsed.path == STABLE_TOKEN:
                    answer = (200, self._stable_token(body))
                elif parsed.path == TEMPLATE_SEND:
                    token = parse_qs(parsed.query).get("access_token", [""])[0]
                    answer = (200, self._template_send(token, body))
                else:
                    answer = (404, {"errcode": 40066, "errmsg": "invalid url"})
        self._reply(handler, *answer)

    def _issue_token(self, now: float) -> None:
        self._state.token = secrets.token_urlsafe(24)
        self._state.token_expires_at = now + self.token_ttl
        self._state.revoked = False

    def _stable_token(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or body.get("grant_type") != "client_credential":
            return {"errcode": 40002, "errmsg": "invalid grant_type"}
        if body.get("appid") != self.appid:
            return {"errcode": 40013, "errmsg": "invalid appid"}
        if body.get("secret") != self.secret:
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        force = bool(body.get("force_refresh"))
        self._state.token_requests.append(force)
        now = time.time()
        if force or not self._state.token or now >= self._state.token_expires_at:
            self._issue_token(now)
        return {"access_token": self._state.token, "expires_in": int(self._state.token_expires_at - now)}

    def _template_send(self, token: str, body: Any) -> dict[str, Any]:
        state = self._state
        state.send_requests += 1
        if not token:
            return {"errcode": 41001, "errmsg": "access_token missing"}
        if token != state.token or state.revoked:
            return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}
        if time.time() >= state.token_expires_at:
            return {"errcode": 42001, "errmsg": "access_token expired"}
        if state.send_failures:
            errcode = state.send_failures.pop(0)
            return {"errcode": errcode, "errmsg": "system error" if errcode == -1 else "api freq out of limit"}
        if not isinstance(body, dict) or not body.get("touser") or not body.get("template_id"):
            return {"errcode": 47001, "errmsg": "data format error"}
        if not isinstance(body.get("data", {}), dict):
            return {"errcode": 47001, "errmsg": "data format error"}
        if self.templates is not None and body["template_id"] not in self.templates:
            return {"errcode": 40037, "errmsg": "invalid template_id"}
        touser = str(body["touser"])
        if touser in state.unsubscribed:
            return {"errcode": 43004, "errmsg": "require subscribe"}
        client_msg_id = str(body.get("client_msg_id") or "")
        if client_msg_id and (touser, client_msg_id) in state.by_client_msg_id:
            state.duplicates_suppressed += 1
            return {"errcode": 0, "errmsg": "ok", "msgid": state.by_client_msg_id[(touser, client_msg_id)]}
        msgid = next(self._msgids)
        state.sent.append(
            SentTemplate(
                touser=touser,
                template_id=str(body["template_id"]),
                data=dict(body.get("data") or {}),
                url=str(body.get("url") or ""),
                client_msg_id=client_msg_id,
                msgid=msgid,
            )
        )
        if client_msg_id:
            state.by_client_msg_id[(touser, client_msg_id)] = msgid
        return {"errcode": 0, "errmsg": "ok", "msgid": msgid}


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - a manual tool
    parser = argparse.ArgumentParser(description="Run the local WeChat stand-in (development only).")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--appid", default="wx-standin-app")
    parser.add_argument("--secret", default="standin-secret")
    args = parser.parse_args(argv)
    standin = WechatStandIn(appid=args.appid, secret=args.secret, port=args.port).start()
    print(
        "WeChat stand-in listening. Point SmartClinic at it with:\n"
        f"  WECHAT_API_BASE={standin.url} WECHAT_APP_ID={args.appid} WECHAT_APP_SECRET={args.secret} "
        "WECHAT_TEMPLATE_IDS='*=standin-template'\n"
        "Ctrl-C stops it. Messages received are printed below."
    )
    seen = 0
    try:
        while True:
            time.sleep(1)
            sent = standin.sent
            for item in sent[seen:]:
                print(f"→ {item.touser} {item.template_id} {json.dumps(item.data, ensure_ascii=False)}")
            seen = len(sent)
    except KeyboardInterrupt:
        standin.stop()


if __name__ == "__main__":  # pragma: no cover
    main()
