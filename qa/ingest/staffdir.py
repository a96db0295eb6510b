"""A workbook's staff directory: a sheet listing the shop's accounts by id, beside the chat sheet.

京东 and other merchant back-ends export the messages with the sender as a bare 工号 (1024, 9001) and
no role column; only a second sheet (客服工号对照: 工号, 姓名, 账号类型) says which ids are staff, which
is the robot and which sends the platform's notices. :func:`staff_directory` reads such a sheet;
``qa.ingest.roles`` then takes a sender listed there as the agent (or the system, for a robot or a
notice account) under the listed name, and any other sender as the customer.
"""

from __future__ import annotations

import re

import pandas as pd

from qa.ingest.header import header_key

# header words of the directory's columns (compared as header_key: case, spaces and brackets dropped)
_ID_NAMES = ("工号", "客服工号", "员工工号", "坐席工号", "客服id", "坐席id", "员工id", "账号id", "客服编号", "员工编号",
             "坐席编号", "staffid", "agentid")
_NAME_NAMES = ("姓名", "客服姓名", "员工姓名", "客服名称", "客服昵称", "坐席名称", "名称", "昵称", "花名", "name")
_TYPE_NAMES = ("账号类型", "类型", "角色", "身份", "岗位", "账号角色", "type", "role")
# an account type that is no person answering: the robot, the platform's notices
_MACHINE_TYPE = re.compile(r"(?i)机器人|智能|自动|系统|通知|robot|bot|system")
_HEADER_ROWS = 5


def staff_directory(cells: pd.DataFrame) -> tuple[tuple[str, str, str], ...]:
    """(id, name, role) of each account a staff-directory sheet lists (role ``agent`` or ``system``),
    or () when ``cells`` (a sheet as strings) is no such sheet: a header within its first rows naming an
    id column and a name column, and at least one listed id."""
    for at in range(min(_HEADER_ROWS, len(cells))):
        keys = [header_key(str(value)) for value in cells.iloc[at].tolist()]
        id_at = _first(keys, _ID_NAMES)
        name_at = _first(keys, _NAME_NAMES)
        if id_at is None or name_at is None:
            continue
        type_at = _first(keys, _TYPE_NAMES)
        listed = []
        for row in cells.iloc[at + 1:].itertuples(index=False):
            account = str(row[id_at]).strip()
            if not account:
                continue
            kind = str(row[type_at]).strip() if type_at is not None else ""
            listed.append((account, str(row[name_at]).strip() or account,
                           "system" if _MACHINE_TYPE.search(kind) else "agent"))
        return tuple(listed)
    return ()


def _first(keys: list[str], names: tuple[str, ...]) -> int | None:
    wanted = {header_key(name) for name in names}
    return next((at for at, key in enumerate(keys) if key in wanted), None)
