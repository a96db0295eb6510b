"""Generate a realistic synthetic chat log of N messages for benchmarks.

Sessions of 10-40 messages between customers and ~300 agents, interleaved by time as real
exports are, about 25 characters per message, with realistic rates of each violation, emoji
and emoticon codes, system auto-replies, and some sessions without replies.

    python benchmarks/generate.py 1000000 -o benchmarks/data/1m.csv
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

CUSTOMER_LINES = [
    "你好，我的快递怎么还没到啊，都三天了", "这个衣服有没有大一号的尺码呢", "请问今天下单什么时候能发货",
    "收到的杯子是碎的，怎么处理", "能不能帮我改一下收货地址", "发票怎么开，要公司抬头的",
    "退款申请提交了，什么时候到账", "这个颜色和图片上的不一样啊", "在吗？有人吗？", "好的，谢谢你",
    "订单号2026031512345，帮我查一下物流", "我不投诉，就想问问什么时候到", "孩子用了之后皮肤过敏了",
    "再不处理我就打12315投诉你们", "你们什么态度啊，太差了", "优惠券怎么用不了", "[图片]",
    "可以便宜点吗，买两件", "尺码表在哪里看", "快递员说地址不详，怎么回事",
]
AGENT_GOOD = [
    "亲，您好，很高兴为您服务，请问有什么可以帮您", "好的呢，我这边马上帮您查询一下物流信息",
    "亲，这款是有现货的，今天下午五点前下单当天发出哦", "非常抱歉给您带来不便，我马上为您处理",
    "您看这样可以吗？我给您补发一个新的", "请问是这个订单吗？[订单卡片]", "已经帮您备注了，请您放心",
    "好的，发票会在确认收货后开具，请提供一下抬头和税号", "收到，感谢您的耐心等待😊",
    "亲，尺码表在商品详情页第三张图哦[图片]", "退款已经为您加急处理，预计24小时内到账",
    "这边帮您申请了5元无门槛优惠券，您看可以吗？",
]
AGENT_BAD = [
    "我已经说过很多遍了，48小时内发货", "这个没办法处理，您找快递去", "难道你没看到详情页写着吗？",
    "你不会自己看吗？", "#E-s57", "[微笑][微笑]", "👍", "爱买不买", "还要我说几遍？",
]
SOOTHING = "非常抱歉给您带来不便了哦～"
SYSTEM_LINES = ["您好，欢迎光临，客服稍后为您服务", "系统提示：会话已转接至人工客服"]


def generate(n_messages: int, seed: int = 7, agents: int = 300) -> dict[str, np.ndarray]:
    """Columns of a synthetic log with about ``n_messages`` rows, ordered by time."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(10, 41, size=n_messages // 10 + 10)
    lengths = lengths[: int(np.searchsorted(np.cumsum(lengths), n_messages)) + 1]
    lengths[-1] -= lengths.sum() - n_messages
    lengths = lengths[lengths > 0]
    n_sessions = len(lengths)
    session_of = np.repeat(np.arange(n_sessions), lengths)
    position = np.arange(n_messages) - np.repeat(np.cumsum(lengths) - lengths, lengths)

    # Sessions start across a 14-hour day; messages follow at 5-120 s, sometimes minutes late.
    day_start = np.datetime64("2026-11-20T09:00:00")
    session_start = rng.integers(0, 14 * 3600, size=n_sessions)
    gaps = rng.integers(5, 120, size=n_messages)
    late = rng.random(n_messages) < 0.01
    gaps[late] = rng.integers(301, 900, size=int(late.sum()))
    gaps[position == 0] = 0
    offsets = np.concatenate([np.cumsum(g) for g in np.split(gaps, np.cumsum(lengths)[:-1])])
    seconds = session_start[session_of] + offsets
    times = day_start + seconds.astype("timedelta64[s]")

    # Roles alternate customer/agent with noise; the second message is often an auto-reply.
    roles = np.where(position % 2 == 0, "customer", "agent").astype(object)
    flip = rng.random(n_messages) < 0.2
    roles[flip] = np.where(roles[flip] == "customer", "agent", "customer")
    roles[position == 0] = "customer"
    roles[(position == 1) & (rng.random(n_messages) < 0.3)] = "system"
    unanswered = rng.random(n_sessions) < 0.02
    roles[unanswered[session_of] & (roles == "agent")] = "customer"

    text = np.empty(n_messages, dtype=object)
    is_customer = roles == "customer"
    is_agent = roles == "agent"
    is_system = roles == "system"
    text[is_customer] = np.array(CUSTOMER_LINES, dtype=object)[rng.integers(0, len(CUSTOMER_LINES), is_customer.sum())]
    text[is_system] = np.array(SYSTEM_LINES, dtype=object)[rng.integers(0, len(SYSTEM_LINES), is_system.sum())]
    bad = rng.random(n_messages) < 0.03
    soothe = rng.random(n_messages) < 0.05
    agent_text = np.array(AGENT_GOOD, dtype=object)[rng.integers(0, len(AGENT_GOOD), n_messages)]
    agent_text[bad] = np.array(AGENT_BAD, dtype=object)[rng.integers(0, len(AGENT_BAD), bad.sum())]
    agent_text[soothe] = SOOTHING
    text[is_agent] = agent_text[is_agent]

    agent_of_session = rng.integers(0, agents, size=n_sessions)
    agent_names = np.array([f"旗舰店:客服{i:03d}" for i in range(agents)], dtype=object)
    agent = np.where(is_agent, agent_names[agent_of_session[session_of]], "")

    order = np.argsort(seconds, kind="stable")  # exports interleave sessions by time
    session_ids = np.char.add("S", session_of.astype(str))
    return {
        "session_id": session_ids[order],
        "timestamp": np.datetime_as_string(times[order], unit="s"),
        "role": roles[order],
        "agent": agent[order],
        "text": text[order],
    }


def write_csv(columns: dict[str, np.ndarray], path: Path) -> None:
    """Write the columns as a UTF-8 CSV with a header."""
    path.parent.mkdir(parents=True, exist_ok=True)
    timestamps = np.char.replace(columns["timestamp"].astype(str), "T", " ")
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["session_id", "timestamp", "role", "agent", "text"])
        writer.writerows(zip(columns["session_id"], timestamps, columns["role"], columns["agent"], columns["text"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("messages", type=int, help="number of messages")
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    write_csv(generate(args.messages, args.seed), args.output)
    print(f"wrote {args.messages} messages to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
