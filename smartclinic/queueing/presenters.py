"""How queue data looks to people: masked names on public screens, the spoken call."""

from __future__ import annotations


def mask_name(name: str) -> str:
    """张*明 on public screens: the first and last characters stay, the middle is masked."""
    name = name.strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def _where(room: str) -> str:
    room = room.strip()
    if not room:
        return "就诊"
    if room.endswith(("室", "诊", "处", "台", "口")):
        return f"到 {room} 就诊"
    return f"到 {room} 诊室就诊"


def call_display(*, code: str, masked_name: str, room: str) -> str:
    """The call as the screen writes it: 请 NK-012 号 张*明 到 3 诊室就诊."""
    return " ".join(part for part in ("请", code, "号", masked_name, _where(room)) if part)


def call_announcement(*, code: str, masked_name: str, room: str) -> str:
    """The call as the screen says it, always in Chinese (it speaks to the room, not to one
    reader): 请 NK 012 号 张某明 到 3 诊室就诊. The code's hyphen is not read out ("减"), and
    the masked characters are read as 某, the way a person would say it."""
    return call_display(code=code.replace("-", " "), masked_name=masked_name.replace("*", "某"), room=room)
