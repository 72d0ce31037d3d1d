"""Rendering admin-editable message templates safely.

The texts are Django template syntax, edited by clinic administrators, so they run in a sandbox
of our own: a separate template engine that loads no files (no ``include``/``extends``), an allow
list of tags (no ``load``, ``debug``, ``url``, ``csrf_token``...), and a context of plain values
only (strings, numbers, yes/no), never model instances, so a template can reach nothing beyond what
the message is meant to say. Output is plain text (no HTML escaping); pages escape it when shown.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import Lexer, TokenType
from django.utils.translation import gettext as _

from smartclinic.notifications.models import MessageTemplate
from smartclinic.notifications.template_defaults import DEFAULT_TEMPLATES

logger = logging.getLogger(__name__)

PlainValue = str | int | float | bool | None
PlainContext = Mapping[str, PlainValue]

ALLOWED_TAGS = frozenset(
    {
        "if",
        "elif",
        "else",
        "endif",
        "for",
        "empty",
        "endfor",
        "with",
        "endwith",
        "firstof",
        "comment",
        "endcomment",
        "spaceless",
        "endspaceless",
        "filter",
        "endfilter",
        "cycle",
        "templatetag",
    }
)
TITLE_MAX = 200
BODY_MAX = 2000
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=1)
def _engine() -> Engine:
    return Engine(dirs=[], app_dirs=False, loaders=[], libraries={}, autoescape=False, string_if_invalid="")


def template_problems(source: str) -> list[str]:
    """What is wrong with a template text (empty when it may be saved)."""
    problems = []
    for token in Lexer(source).tokenize():
        if token.token_type is TokenType.BLOCK:
            parts = token.split_contents()
            name = parts[0] if parts else ""
            if name not in ALLOWED_TAGS:
                problems.append(_("The tag “%(tag)s” is not allowed in message texts.") % {"tag": name})
    if not problems:
        try:
            _engine().from_string(source)
        except TemplateSyntaxError as exc:
            problems.append(str(exc))
    return problems


def validate_template_source(source: str) -> None:
    problems = template_problems(source)
    if problems:
        raise ValidationError(problems)


def _plain(context: PlainContext) -> dict[str, PlainValue]:
    safe: dict[str, PlainValue] = {}
    for key, value in context.items():
        if value is not None and not isinstance(value, str | int | float | bool):
            raise TypeError(f"message context value {key!r} must be plain, not {type(value).__name__}")
        safe[key] = value
    return safe


def render_text(source: str, context: PlainContext) -> str:
    if template_problems(source):
        raise ValueError("template not allowed")
    return _engine().from_string(source).render(Context(_plain(context), autoescape=False))


def _clean_title(text: str) -> str:
    return _SPACES.sub(" ", text).strip()[:TITLE_MAX]


def _clean_body(text: str) -> str:
    return text.strip()[:BODY_MAX]


def default_texts(kind: str, language: str) -> tuple[str, str]:
    variants = DEFAULT_TEMPLATES[kind]
    return variants.get(language) or variants["zh-hans"]


def render_message(*, kind: str, language: str, context: PlainContext) -> tuple[str, str]:
    """The title and text of a message. The admin's template is used when it renders; a missing
    or broken one falls back to the built-in text (logged), so no message is ever dropped."""
    stored = MessageTemplate.objects.filter(kind=kind, language=language).first()
    if stored is not None:
        try:
            title = _clean_title(render_text(stored.title, context))
            body = _clean_body(render_text(stored.body, context))
        except Exception:  # an administrator's mistake must not lose the message
            logger.exception("message template %s/%s does not render; using the built-in text", kind, language)
        else:
            if title and body:
                return title, body
            logger.error("message template %s/%s renders empty; using the built-in text", kind, language)
    title_source, body_source = default_texts(kind, language)
    return _clean_title(render_text(title_source, context)), _clean_body(render_text(body_source, context))
