"""Which handlers react to which event. Apps register in their ``handlers.py`` (imported by
``AppConfig.ready``); the outbox app itself knows no domain."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

HandlerFunc = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Handler:
    key: str
    func: HandlerFunc


_handlers: dict[str, list[Handler]] = defaultdict(list)


def handles(event_name: str, *, key: str | None = None) -> Callable[[HandlerFunc], HandlerFunc]:
    def register(func: HandlerFunc) -> HandlerFunc:
        handler_key = key or f"{func.__module__}.{func.__qualname__}"
        if all(existing.key != handler_key for existing in _handlers[event_name]):
            _handlers[event_name].append(Handler(key=handler_key, func=func))
        return func

    return register


def handlers_for(event_name: str) -> list[Handler]:
    return list(_handlers.get(event_name, ()))


def unregister(event_name: str, key: str) -> None:
    _handlers[event_name] = [h for h in _handlers[event_name] if h.key != key]
