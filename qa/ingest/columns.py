"""Column vocabularies and the mapping of a header to the fields of the message table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


from qa.errors import InputError


#: Fields a ``--column FIELD=NAME`` override may name.
FIELDS = ("session_id", "text", "role", "timestamp", "seq", "agent", "sender")

# Header aliases per field, compared case-insensitively after stripping spaces and BOM.
_ALIASES: dict[str, tuple[str, ...]] = {
    "session_id": (
        "session_id",
        "session",
        "conversation_id",
        "dialogue_id",
        "chat_id",
        "会话ID",
        "会话编号",
        "会话id",
        "对话ID",
    ),
    "timestamp": ("timestamp", "time", "datetime", "created_at", "send_time", "时间", "发送时间", "消息时间"),
    "role": ("role", "sender_role", "sender_type", "发送方", "角色", "发送者身份"),
    "agent": ("agent", "agent_name", "agent_id", "客服", "客服昵称", "客服账号", "接待客服"),
    "text": ("text", "content", "message", "msg", "内容", "消息内容", "聊天内容"),
    "seq": ("seq", "turn", "序号"),
    "sender": ("sender", "sender_name", "nickname", "from", "发送人", "发送者", "发送者昵称", "昵称"),
    # JD-style exports mark agent messages with a 0/1 column instead of a role column.
    "agent_flag": ("is_agent", "是否客服发送", "是否客服"),
}
_FLAG_FIELD = "agent_flag"
_REQUIRED = ("session_id", "text")


# --------------------------------------------------------------------------- columns


@dataclass(frozen=True)
class _ColumnMap:
    """Which header position holds each field (absent fields are missing)."""

    positions: dict[str, int]
    header: list[str]

    def has(self, name: str) -> bool:
        return name in self.positions

    def label(self, name: str) -> str:
        return self.header[self.positions[name]]


def _clean_name(name: object) -> str:
    return str(name).replace("\ufeff", "").strip()


def _resolve_columns(header: Sequence[str], overrides: Mapping[str, str], where: str) -> _ColumnMap:
    """Map fields to header positions by override or alias; raise InputError when unclear."""
    names = [_clean_name(h) for h in header]
    keys = [n.casefold() for n in names]
    found = ", ".join(n for n in names if n) or "(no named columns)"
    positions: dict[str, int] = {}
    for name, wanted in overrides.items():
        position = _find_override(names, keys, _clean_name(wanted))
        if position is None:
            raise InputError(f"column '{wanted}' for {name} not found in {where}; found: {found}")
        positions[name] = position
    claimed = set(positions.values())
    for name, aliases in _ALIASES.items():
        if name in positions:
            continue
        alias_keys = {a.casefold() for a in aliases}
        hits = [i for i, key in enumerate(keys) if key in alias_keys and i not in claimed]
        if len(hits) > 1:
            listed = " and ".join(f"'{names[i]}'" for i in hits)
            both = "both" if len(hits) == 2 else "all"
            raise InputError(f"columns {listed} {both} look like {name} in {where}; use --column {name}=NAME")
        if hits:
            positions[name] = hits[0]
    missing = [f for f in _REQUIRED if f not in positions]
    if not missing and not ({"role", _FLAG_FIELD, "sender"} & positions.keys()):
        missing = ["role"]
    if missing:
        raise InputError(
            f"missing column for {missing[0]} in {where}; found: {found}; use --column {missing[0]}=NAME"
        )
    return _ColumnMap(positions, names)


def _find_override(names: list[str], keys: list[str], wanted: str) -> int | None:
    if wanted in names:
        return names.index(wanted)
    folded = wanted.casefold()
    return keys.index(folded) if folded in keys else None
