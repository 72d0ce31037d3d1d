"""Contract tests of the WeChat client against the local stand-in speaking WeChat's protocol."""

from __future__ import annotations

import pytest

from smartclinic.notifications.tests.conftest import APPID, SECRET, TEMPLATE, free_port
from smartclinic.notifications.wechat import WechatApiError, WechatClient, WechatTransportError
from smartclinic.notifications.wechat_standin import WechatStandIn

DATA = {"first": {"value": "预约成功"}, "keyword1": {"value": "内科 李华医生"}}


@pytest.fixture
def standin():
    with WechatStandIn(appid=APPID, secret=SECRET, templates={TEMPLATE}) as server:
        yield server


def client_for(standin: WechatStandIn, secret: str = SECRET) -> WechatClient:
    return WechatClient(base_url=standin.url, appid=APPID, secret=secret, timeout=5)


def send(client: WechatClient, openid: str = "o-user-1", **kwargs) -> str:
    return client.send_template(openid=openid, template_id=TEMPLATE, data=DATA, url="https://x/y", **kwargs)


def test_a_template_message_is_sent_with_a_cached_stable_token(standin):
    client = client_for(standin)
    first, second = send(client), send(client, openid="o-user-2")

    assert first != second
    assert standin.token_requests == [False]  # one stable_token call, normal mode
    assert [(m.touser, m.template_id, m.url, m.data) for m in standin.sent] == [
        ("o-user-1", TEMPLATE, "https://x/y", DATA),
        ("o-user-2", TEMPLATE, "https://x/y", DATA),
    ]
    assert str(standin.sent[0].msgid) == first


def test_an_expired_token_is_replaced_and_the_call_retried_once(standin):
    client = client_for(standin)
    send(client)
    standin.expire_tokens()

    send(client, openid="o-user-2")

    # 42001 → the normal mode already hands out a new token; no forced refresh needed.
    assert standin.token_requests == [False, False]
    assert [m.touser for m in standin.sent] == ["o-user-1", "o-user-2"]


def test_a_token_invalidated_out_of_band_is_force_refreshed(standin):
    client = client_for(standin)
    send(client)
    stale = standin.current_token
    standin.revoke_tokens()

    send(client, openid="o-user-2")

    # 40001 with normal mode still answering the same token → force_refresh.
    assert standin.token_requests == [False, False, True]
    assert standin.current_token != stale
    assert len(standin.sent) == 2


def test_a_token_refused_again_after_the_refresh_is_not_retried_forever(standin):
    client = client_for(standin)
    send(client)
    standin.fail_sends(2, errcode=40001)

    with pytest.raises(WechatApiError) as caught:
        send(client, openid="o-user-2")

    assert caught.value.errcode == 40001 and caught.value.token_invalid
    assert standin.send_requests == 3  # first send, the refused one, one retry
    assert len(standin.sent) == 1


def test_an_unsubscribed_user_is_reported_as_gone(standin):
    standin.unsubscribe("o-user-1")
    with pytest.raises(WechatApiError) as caught:
        send(client_for(standin))
    assert caught.value.errcode == 43004
    assert caught.value.recipient_gone and not caught.value.busy


@pytest.mark.parametrize("errcode", [-1, 45009])
def test_busy_and_rate_limited_are_reported_as_busy(standin, errcode):
    standin.fail_sends(1, errcode=errcode)
    with pytest.raises(WechatApiError) as caught:
        send(client_for(standin))
    assert caught.value.busy and caught.value.errcode == errcode


def test_an_http_error_is_a_transport_error(standin):
    client = client_for(standin)
    send(client)
    standin.fail_http(1, status=502)
    with pytest.raises(WechatTransportError, match="HTTP 502"):
        send(client)


def test_a_refused_connection_is_a_transport_error():
    client = WechatClient(base_url=f"http://127.0.0.1:{free_port()}", appid=APPID, secret=SECRET, timeout=2)
    with pytest.raises(WechatTransportError):
        send(client)


def test_a_wrong_secret_is_refused_by_the_token_endpoint(standin):
    with pytest.raises(WechatApiError) as caught:
        send(client_for(standin, secret="wrong"))
    assert caught.value.errcode == 40125
    assert standin.sent == []


def test_the_same_client_msg_id_is_sent_once(standin):
    client = client_for(standin)
    first = send(client, client_msg_id="d-1")
    second = send(client, client_msg_id="d-1")

    assert first == second
    assert len(standin.sent) == 1 and standin.duplicates_suppressed == 1


def test_an_unknown_template_is_refused(standin):
    client = client_for(standin)
    with pytest.raises(WechatApiError) as caught:
        client.send_template(openid="o", template_id="nope", data=DATA)
    assert caught.value.errcode == 40037
