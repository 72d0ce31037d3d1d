from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from smartclinic.core.actor import Actor
from smartclinic.core.errors import ApplicationError
from smartclinic.identity.models import User
from smartclinic.notifications.services import wechat_recipient_attach


class Command(BaseCommand):
    help = (
        "Attach a WeChat official-account openid to an account, so its messages also go to WeChat. "
        "For testing and the demo until identity's WeChat sign-in fills it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("openid")
        parser.add_argument("--appid", default=None, help="defaults to WECHAT_APP_ID")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"no account named {options['username']!r}")
        try:
            recipient = wechat_recipient_attach(
                actor=Actor.system(reason="wechat_recipient_attach"),
                user=user,
                openid=options["openid"],
                appid=options["appid"],
            )
        except ApplicationError as exc:
            raise CommandError("give an openid, and --appid when WECHAT_APP_ID is not set") from exc
        self.stdout.write(f"{user.username} → WeChat {recipient.appid}:{recipient.openid[:6]}…")
