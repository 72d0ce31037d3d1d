from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from smartclinic.billing.wechat_standin import WechatPayStandin, load_or_create_keys


class Command(BaseCommand):
    help = (
        "Run the local WeChat Pay API v3 stand-in for the demo (test keys in var/wechatpay-standin/). "
        "Start the web process with WECHATPAY_STANDIN=1 and no WECHATPAY_MCHID to use it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8766)

    def handle(self, *args: Any, **options: Any) -> None:
        keys = load_or_create_keys(settings.WECHATPAY_STANDIN_KEY_DIR)
        standin = WechatPayStandin(
            keys, host=options["host"], port=options["port"], auto_settle_refunds=True, notify_refunds=True
        )
        self.stdout.write(f"WeChat Pay stand-in on http://{options['host']}:{options['port']} (mchid {keys.mchid})")
        try:
            standin.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("stopped")
