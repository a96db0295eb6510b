"""Generate a realistic synthetic chat log of N messages for benchmarks.

What it looks like (a Taobao/Tmall-style export, one row per message):

- sessions of 10-40 messages between a customer and one of ~300 agents (sub-accounts
  ``店铺:客服名``), interleaved by time as real exports are (the file is ordered by time, not by
  session); about 1M messages per working day (09:00-23:00), so larger logs span more days;
- about 25 characters per message, built from customer / agent / system phrase pools with
  order numbers, amounts and product names filled in, so texts are mostly distinct (a real
  log repeats canned lines, but not a million times the same twenty strings);
- emoji and emoticon codes in ~15% of messages (😊 [微笑] /:^_^ #E-s57 [图片]);
- system auto-replies (欢迎语, 转接) and ~2% of sessions without any agent reply;
- violations at realistic rates (per agent message unless said otherwise): forbidden phrases
  ~0.4%, rhetorical questions ~0.3%, emoji-only replies ~1%, late replies (> 5 min) ~2% of
  replies, a mechanical soothing line repeated 3+ times in ~3% of sessions, a sensitive
  complaint in ~2% of sessions, answered badly (好的 / emoji / nothing / cold) in ~40% of them;
  plus the look-alikes that must stay clean (我不投诉, 315 inside an order number);
- a few unusable rows, as real exports have: an empty text every ~20,000 rows and an
  unparseable time every ~50,000 rows (they are rejected and accounted for, not audited);
- ``--distinct FRACTION``: real exports repeat far less than the pools above (~37% of the
  texts are distinct at 20k messages, fewer at 1M); with it, customer and agent messages get a
  detail of their own (an order number, an address; ~8 more characters) until about FRACTION of
  all texts are distinct (0.9 is realistic). Violations, soothing lines, complaints and emoji-only replies
  are left as they are, so the finding rates stay the same.

Generation is vectorised and memory is bounded: per-row codes are numpy arrays, and texts
are built and written in chunks, so 10M messages need well under 2 GB.

    python benchmarks/generate.py 1000000 -o benchmarks/data/synthetic-1000000.csv
    python benchmarks/generate.py 100000 -o benchmarks/data/synthetic-100000.xlsx
    python benchmarks/generate.py 1000000 --distinct 0.9 -o benchmarks/data/distinct-1000000.csv
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

COLUMNS = ["session_id", "timestamp", "role", "agent", "text"]
MESSAGES_PER_DAY = 1_000_000
CHUNK_ROWS = 250_000

# {o} order number, {p} product, {m} amount, {d} date, {n} small number. Lines are ~12-30 chars.
CUSTOMER_LINES = [
    "你好，我的快递怎么还没到啊，都三天了", "这个{p}有没有大一号的尺码呢", "请问今天下单什么时候能发货",
    "收到的{p}是碎的，怎么处理呀", "能不能帮我改一下收货地址，写错了", "发票怎么开，要公司抬头的",
    "退款申请提交了，什么时候到账", "这个颜色和图片上的不一样啊", "在吗？有人吗？", "好的，谢谢你",
    "订单号{o}，帮我查一下物流", "我不投诉，就想问问什么时候到", "优惠券怎么用不了，显示不满足条件",
    "可以便宜点吗，买两件的话", "尺码表在哪里看，我身高{n}0", "快递员说地址不详，怎么回事",
    "[图片]", "这个{p}是正品吗，有没有授权", "我{d}下的单，到现在还没发", "能用花呗分期吗",
    "付了{m}元，为什么没有赠品", "拍错了，可以取消订单吗", "这个{p}怎么安装，有没有视频教程",
    "好的，那我等等看[捂脸]", "帮我备注一下，周末再送", "运费险怎么理赔", "已经寄回去了，单号{o}",
    "还有货吗？什么时候补货", "这两个{p}有什么区别呀", "行吧😂", "收到了，挺好的，谢谢",
    "物流一直没更新，是不是丢件了", "我要换货，码数小了", "你们发的是顺丰还是中通",
    "能开专票吗，我们公司需要", "这个价格保价吗，昨天还便宜{n}块", "我想咨询一下售后",
    "等了好几天了还没消息，太慢了吧！！！", "第二次发错货了，真让人失望",
]
# Complaints (a trigger of ignored-complaint): ~2% of sessions have one.
COMPLAINT_LINES = [
    "再不处理我就打12315投诉你们", "孩子用了之后皮肤过敏了，起了一片红疹", "我要去消协投诉你们",
    "你们这是欺诈，我要去工商举报", "再这样我就发微博曝光你们", "我要投诉你们客服，什么态度",
    "用了你们的{p}手被烫伤了", "我已经报警了，你们等着吧", "我会找律师起诉你们的",
    "孩子误食了一颗，现在在医院", "本来不想投诉的，现在只能投诉了",
]
AGENT_PREFIXES = ["", "", "", "亲，", "亲亲，", "您好，", "好的亲，", "嗯嗯，"]
AGENT_LINES = [
    "很高兴为您服务，请问有什么可以帮您", "我这边马上帮您查询一下物流信息",
    "这款是有现货的，今天下午五点前下单当天发出哦", "已经帮您备注了，会按您的要求安排",
    "您看这样可以吗？我给您补发一个新的", "请问是这个订单吗？[订单卡片]",
    "发票会在确认收货后开具，请提供一下抬头和税号", "收到，这边已经登记好了",
    "尺码表在商品详情页第三张图哦[图片]", "退款已经为您加急处理，预计24小时内到账",
    "这边帮您申请了{n}元无门槛优惠券，您看可以吗？", "订单{o}已经发出了，是中通快递",
    "您{d}的订单已经在打包了，今天会发出", "这款{p}是官方正品，支持专柜验货",
    "地址已经帮您修改好了，您核对一下", "可以的，拍下后联系我改价为{m}元", "运费险是自动理赔的，退货签收后到账",
    "两款的区别主要在材质，您看一下这个链接[商品链接]", "目前{p}补货中，预计{n}天后到货",
    "这边给您登记了，到货第一时间通知您", "安装视频在详情页最下面，您可以看一下",
    "好的呢", "好的，还有其他可以帮您的吗", "请您稍等，我帮您核实一下",
    "我们是顺丰包邮的，一般两到三天就到", "签收后七天内都可以无理由退换的",
]
# Second clauses that make messages as long as real ones (~25 characters on average).
CUSTOMER_TAILS = ["", "，麻烦尽快回复一下，我这边等着用", "，我比较着急", "，谢谢啦，辛苦帮忙看一下", "，在线等挺急的", "，上次买的就没问题",
                  "，你们看看怎么办吧", "，之前问过一次了"]
AGENT_TAILS = ["", "，有问题随时联系我哦", "，祝您生活愉快", "，麻烦您留意一下物流更新", "，您这边留意一下短信通知",
               "，后续有进展我第一时间告诉您", "，感谢您对本店的支持"]
AGENT_SUFFIXES = ["", "", "", "", "", "", "哦", "呢", "～", "😊", "[微笑]", "[玫瑰]", "/:^_^", "#E-s57"]
# Soothing lines for repeated-soothing: normal sessions pick one now and then; a "mechanical"
# session (~3%) keeps repeating the first.
SOOTHING_LINES = [
    "非常抱歉给您带来不便了哦～", "亲亲，别着急，我马上为您处理", "不好意思让您久等了",
    "理解您的心情，我这边尽快帮您跟进", "请您放心，一定给您一个满意的答复", "非常抱歉，这边马上为您核实",
    "辛苦您了，感谢您的耐心等待", "给您添麻烦了，实在抱歉",
]
# Good first replies to a complaint (soothing + handling).
COMPLAINT_GOOD = [
    "非常抱歉给您带来不好的体验，我马上为您核实处理，24小时内给您答复",
    "实在对不起，请您别着急，我这边立刻帮您申请退款并安排专人跟进",
    "非常抱歉，孩子现在怎么样？我马上为您登记，费用由我们承担",
]
# Bad first replies to a complaint: dismissive, emoji, guiding, cold.
COMPLAINT_BAD = ["好的", "嗯", "[微笑]", "👍", "你可以去投诉，投诉电话是12315", "快递已经在路上了", "收到"]
# Violations of forbidden-phrase / rhetorical-question / emoji-only in agent messages.
FORBIDDEN_LINES = [
    "我已经说过很多遍了，48小时内发货", "这个没办法处理，您找快递去", "爱买不买，就这个价",
    "我很忙，你自己看详情页", "这个不是我们的问题，你去找厂家", "别催了，催也没用", "说了多少遍了，七天内发货",
]
RHETORICAL_LINES = [
    "难道你没看到详情页写着吗？", "你不会自己看吗？", "还要我说几遍？上面写着呢", "不是说了吗，明天发",
    "你没看到上面的通知吗？", "凭什么给你退啊",
]
EMOJI_ONLY_LINES = ["#E-s57", "[微笑][微笑]", "👍", "😊😊", "/:^_^", "。。。", "[抱拳]", "🙏"]
SYSTEM_LINES = ["您好，欢迎光临，客服稍后为您服务", "系统提示：会话已转接至人工客服", "当前咨询人数较多，请耐心等待"]
# Details that make a customer or agent message unique ({u}: a number unique to the row).
DETAILS = ["，单号{u}", "（订单{u}）", "，幸福路{v}号{w}室", "，编号{u}", "，SF{u}", "，{v}号楼{w}"]
UNANSWERED_SYSTEM = "客服暂时不在线，请留言，我们会尽快回复"
PRODUCTS = ["保温杯", "连衣裙", "羽绒服", "蓝牙耳机", "电饭煲", "运动鞋", "面霜", "婴儿推车", "猫粮", "台灯",
            "行李箱", "床单四件套", "洗面奶", "机械键盘", "儿童牙刷", "空气炸锅"]
SHOPS = ["旗舰店", "官方店", "专营店", "工厂店", "海外店"]
NICKNAMES = ["小美", "小雪", "阿杰", "小鱼", "木木", "豆豆", "晴天", "小七", "安安", "乐乐"]

# Text kinds (codes per row).
(CUSTOMER, COMPLAINT, AGENT, SOOTHING, COMPLAINT_REPLY_GOOD, COMPLAINT_REPLY_BAD, FORBIDDEN, RHETORICAL,
 EMOJI_ONLY, SYSTEM, SYSTEM_UNANSWERED) = range(11)


def agent_names(count: int = 300) -> np.ndarray:
    """``count`` distinct sub-account names (店铺:客服名)."""
    names = [f"{SHOPS[i % len(SHOPS)]}:{NICKNAMES[(i // len(SHOPS)) % len(NICKNAMES)]}{i // 50:02d}"
             for i in range(count)]
    return np.array(names, dtype=object)


class Plan:
    """Per-row codes of a synthetic log, in export (time) order; texts are made per chunk."""

    def __init__(self, n_messages: int, seed: int = 7, agents: int = 300, dirty: bool = True,
                 distinct: float | None = None) -> None:
        rng = np.random.default_rng(seed)
        self.seed = seed
        self.distinct = distinct
        lengths = _session_lengths(rng, n_messages)
        n_sessions = len(lengths)
        session = np.repeat(np.arange(n_sessions, dtype=np.int32), lengths)
        starts = np.cumsum(lengths) - lengths
        position = (np.arange(n_messages) - np.repeat(starts, lengths)).astype(np.int32)

        # Session kinds.
        unanswered = rng.random(n_sessions) < 0.02
        mechanical = rng.random(n_sessions) < 0.03
        complaint_at = np.where(rng.random(n_sessions) < 0.02, rng.integers(2, 8, n_sessions), -1)
        complaint_at = np.minimum(complaint_at, lengths - 2)

        # Roles: customer and agent take turns with noise; the second message is often a
        # system greeting; unanswered sessions have customer and system messages only.
        role = np.where(position % 2 == 0, 0, 1).astype(np.int8)  # 0 customer, 1 agent, 2 system
        flip = rng.random(n_messages) < 0.2
        role[flip] = 1 - role[flip]
        role[position == 0] = 0
        role[(position == 1) & (rng.random(n_messages) < 0.3)] = 2
        in_unanswered = unanswered[session]
        role[in_unanswered & (role == 1)] = 0
        role[in_unanswered & (position == 1)] = 2
        has_complaint = (complaint_at >= 0)[session]
        at_complaint = has_complaint & (position == complaint_at[session])
        role[at_complaint] = 0
        role[has_complaint & (position == complaint_at[session] + 1) & ~in_unanswered] = 1

        # Text kinds.
        kind = np.where(role == 0, CUSTOMER, np.where(role == 1, AGENT, SYSTEM)).astype(np.int8)
        kind[in_unanswered & (role == 2)] = SYSTEM_UNANSWERED
        kind[at_complaint] = COMPLAINT
        is_agent = role == 1
        after_complaint = has_complaint & (position == complaint_at[session] + 1) & is_agent
        bad_reply = rng.random(n_messages) < 0.4
        kind[after_complaint] = np.where(bad_reply[after_complaint], COMPLAINT_REPLY_BAD, COMPLAINT_REPLY_GOOD)
        free = is_agent & ~after_complaint
        draw = rng.random(n_messages)
        soothing_rate = np.where(mechanical[session], 0.45, 0.05)
        kind[free & (draw < soothing_rate)] = SOOTHING
        kind[free & (draw >= 0.60) & (draw < 0.604)] = FORBIDDEN
        kind[free & (draw >= 0.61) & (draw < 0.613)] = RHETORICAL
        kind[free & (draw >= 0.62) & (draw < 0.63)] = EMOJI_ONLY
        self.variant = rng.integers(0, 1 << 30, n_messages, dtype=np.int32)
        # A mechanical session repeats its first soothing line; others pick freely.
        self.soothing_pick = np.where(mechanical[session], session % len(SOOTHING_LINES),
                                      self.variant % len(SOOTHING_LINES)).astype(np.int16)

        # Times: sessions start over working days (09:00-23:00, ~1M messages a day); customers
        # write every 10-120 s (5-40 s in a row), agents answer in 5-60 s, ~2% of replies are late (5-20 min).
        days = max(1, round(n_messages / MESSAGES_PER_DAY))
        day = rng.integers(0, days, n_sessions)
        session_start = day * 86400 + 9 * 3600 + rng.integers(0, 13 * 3600, n_sessions)
        previous_customer = np.r_[False, role[:-1] == 0]
        gaps = np.where(role == 1, rng.integers(5, 61, n_messages), rng.integers(10, 121, n_messages))
        gaps[(role == 0) & previous_customer] = rng.integers(5, 41, int(((role == 0) & previous_customer).sum()))
        late = (role == 1) & (rng.random(n_messages) < 0.02)
        gaps[late] = rng.integers(301, 1200, int(late.sum()))
        gaps[role == 2] = rng.integers(1, 4, int((role == 2).sum()))
        gaps[position == 0] = 0
        elapsed = np.cumsum(gaps)
        elapsed -= np.repeat(elapsed[starts], lengths)
        seconds = session_start[session] + elapsed

        agent_of_session = rng.integers(0, agents, n_sessions).astype(np.int16)
        # Session ids look like platform ids: date + 8 digits, not in time order.
        ids = rng.permutation(np.arange(10_000_000, 99_999_999, 97, dtype=np.int64))[:n_sessions]
        if len(ids) < n_sessions:
            ids = np.arange(10_000_000, 10_000_000 + n_sessions, dtype=np.int64)
        self.session_number = (20261120 + day).astype(np.int64) * 100_000_000 + ids

        # Export order: by time (ties by session and position), sessions interleaved.
        order = np.lexsort((position, session, seconds))
        self.session = session[order]
        self.role = role[order]
        self.kind = kind[order]
        self.seconds = seconds[order]
        self.variant = self.variant[order]
        self.soothing_pick = self.soothing_pick[order]
        self.agent_of_session = agent_of_session
        self.agent_names = agent_names(agents)
        self.n_messages = n_messages
        self.n_sessions = n_sessions
        # Unusable rows: empty text, bad time (rare, but real exports have them).
        self.empty_text = np.zeros(n_messages, dtype=bool)
        self.bad_time = np.zeros(n_messages, dtype=bool)
        if dirty:
            self.empty_text[rng.integers(0, n_messages, max(1, n_messages // 20_000))] = True
            self.bad_time[rng.integers(0, n_messages, max(1, n_messages // 50_000))] = True
        # Rows given a detail of their own: drawn last (and from their own generator) so the
        # rest of the log is the same with or without --distinct.
        self.detailed = np.zeros(n_messages, dtype=bool)
        if distinct:
            eligible = np.isin(self.kind, (CUSTOMER, AGENT))
            share = min(1.0, distinct / max(eligible.mean(), 1e-9))
            draw = np.random.default_rng(seed + 1).random(n_messages)
            self.detailed = eligible & (draw < share)

    def chunks(self, rows: int = CHUNK_ROWS) -> Iterator[pa.Table]:
        """The log as Arrow tables of at most ``rows`` rows, in export order."""
        for start in range(0, self.n_messages, rows):
            yield self._table(slice(start, min(start + rows, self.n_messages)))

    def _table(self, part: slice) -> pa.Table:
        session = self.session[part]
        role = self.role[part]
        day0 = np.datetime64("2026-11-20T00:00:00", "s")
        times = pa.array(day0 + self.seconds[part].astype("timedelta64[s]"), type=pa.timestamp("s"))
        stamp = pc.strftime(times, format="%Y-%m-%d %H:%M:%S").to_numpy(zero_copy_only=False).astype(object)
        stamp[self.bad_time[part]] = "2026-13-45 25:61:00"
        names = np.where(role == 1, self.agent_names[self.agent_of_session[session]], "")
        text = _texts(self.kind[part], self.variant[part], self.soothing_pick[part])
        detailed = np.flatnonzero(self.detailed[part])
        if len(detailed):
            text[detailed] = text[detailed] + _details(detailed + part.start)
        text[self.empty_text[part]] = ""
        return pa.table({
            "session_id": pa.array(self.session_number[session].astype(str)),
            "timestamp": pa.array(stamp, type=pa.string()),
            "role": pa.array(np.array(["customer", "agent", "system"], dtype=object)[role], type=pa.string()),
            "agent": pa.array(names, type=pa.string()),
            "text": pa.array(text, type=pa.string()),
        })


def _session_lengths(rng: np.random.Generator, n_messages: int) -> np.ndarray:
    """Session lengths of 10-40 messages summing to exactly ``n_messages``."""
    lengths = rng.integers(10, 41, size=n_messages // 10 + 10)
    lengths = lengths[: int(np.searchsorted(np.cumsum(lengths), n_messages)) + 1]
    lengths[-1] -= lengths.sum() - n_messages
    return lengths[lengths > 0].astype(np.int64)


def _fill(template: str, variant: int) -> str:
    if "{" not in template:
        return template
    return template.format(
        o=f"{3_000_000_000_000_000 + variant * 7919 % 10**15:d}",
        p=PRODUCTS[variant % len(PRODUCTS)],
        m=f"{variant % 500 + 9}.{variant % 10}0",
        d=f"{variant % 12 + 1}月{variant % 28 + 1}日",
        n=variant % 9 + 1,
    )


def _pick(pool: list[str], variant: np.ndarray) -> list[str]:
    return [_fill(pool[v % len(pool)], v // 7) for v in variant.tolist()]


def _texts(kind: np.ndarray, variant: np.ndarray, soothing_pick: np.ndarray) -> np.ndarray:
    """Message texts for one chunk of codes."""
    text = np.empty(len(kind), dtype=object)
    simple = {
        CUSTOMER: CUSTOMER_LINES, COMPLAINT: COMPLAINT_LINES, COMPLAINT_REPLY_GOOD: COMPLAINT_GOOD,
        COMPLAINT_REPLY_BAD: COMPLAINT_BAD, FORBIDDEN: FORBIDDEN_LINES, RHETORICAL: RHETORICAL_LINES,
        EMOJI_ONLY: EMOJI_ONLY_LINES, SYSTEM: SYSTEM_LINES,
    }
    for code, pool in simple.items():
        where = kind == code
        if where.any():
            text[where] = _pick(pool, variant[where])
    where = kind == CUSTOMER
    tails = np.array(CUSTOMER_TAILS, dtype=object)
    text[where] = text[where] + tails[(variant[where] >> 11) % len(tails)]
    where = kind == SYSTEM_UNANSWERED
    text[where] = UNANSWERED_SYSTEM
    where = kind == SOOTHING
    text[where] = np.array(SOOTHING_LINES, dtype=object)[soothing_pick[where]]
    where = kind == AGENT
    if where.any():
        v = variant[where]
        prefix = np.array(AGENT_PREFIXES, dtype=object)[(v >> 3) % len(AGENT_PREFIXES)]
        suffix = np.array(AGENT_SUFFIXES, dtype=object)[(v >> 7) % len(AGENT_SUFFIXES)]
        tail = np.array(AGENT_TAILS, dtype=object)[(v >> 13) % len(AGENT_TAILS)]
        text[where] = prefix + np.array(_pick(AGENT_LINES, v), dtype=object) + tail + suffix
    return text


def _details(rows: np.ndarray) -> np.ndarray:
    """A detail unique to each of ``rows`` (global row numbers)."""
    out = np.empty(len(rows), dtype=object)
    for i, row in enumerate(rows.tolist()):
        out[i] = DETAILS[row % len(DETAILS)].format(u=row, v=row // 1000, w=row % 1000)
    return out


def write_log(plan: Plan, path: Path) -> None:
    """Write the log as UTF-8 CSV (.csv) or a workbook (.xlsx)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".part")
    if path.suffix.lower() == ".xlsx":
        _write_xlsx(plan, temporary)
    else:
        _write_csv(plan, temporary)
    temporary.replace(path)


def _write_csv(plan: Plan, path: Path) -> None:
    options = pa_csv.WriteOptions(include_header=True, quoting_style="needed")
    with pa_csv.CSVWriter(str(path), pa.schema([(c, pa.string()) for c in COLUMNS]), write_options=options) as writer:
        for table in plan.chunks():
            writer.write_table(table)


def _write_xlsx(plan: Plan, path: Path) -> None:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = workbook.add_worksheet("聊天记录")
    sheet.write_row(0, 0, COLUMNS)
    row = 1
    for table in plan.chunks():
        for values in zip(*(table.column(c).to_pylist() for c in COLUMNS)):
            sheet.write_row(row, 0, values)
            row += 1
    workbook.close()


def generate(n_messages: int, seed: int = 7, agents: int = 300, dirty: bool = True,
             distinct: float | None = None) -> pa.Table:
    """The whole log as one Arrow table (for small sizes and tests)."""
    return pa.concat_tables(Plan(n_messages, seed, agents, dirty, distinct).chunks())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("messages", type=int, help="number of messages (rows)")
    parser.add_argument("-o", "--output", type=Path, required=True, help=".csv or .xlsx")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--agents", type=int, default=300)
    parser.add_argument("--clean", action="store_true", help="no empty texts or bad times")
    parser.add_argument("--distinct", type=float, metavar="FRACTION",
                        help="give messages details of their own until about FRACTION of the texts are distinct (0.9)")
    args = parser.parse_args(argv)
    if args.distinct is not None and not 0 <= args.distinct <= 1:
        parser.error("--distinct is a fraction between 0 and 1")
    write_log(Plan(args.messages, args.seed, args.agents, dirty=not args.clean, distinct=args.distinct), args.output)
    print(f"wrote {args.messages} messages to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
