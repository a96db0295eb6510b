"""Build the platform-shaped sample exports in samples/ (invented chats, written the way each
platform's export looks: title lines, cover sheet, merged and two-level headers, split date and
time). Run ``python tests/export_samples.py`` to rewrite them; samples/README.md lists what each
must flag, and tests/test_samples.py and tests/test_exports.py hold them to it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
DAY = dt.date(2026, 11, 20)

# (session, time, who, text); who: c = customer, a:NAME = agent, auto:NAME = auto-reply sent
# under an agent's nickname, main = the shop's main account, sys = system, bot = robot.
QIANNIU_SHOP = "暖暖家居旗舰店"
QIANNIU = [
    ("QN-20001", "09:02:10", "c", "在吗，这个四件套有1.8米的吗"),
    ("QN-20001", "09:02:12", "auto:小美", "【自动回复】亲，欢迎光临暖暖家居，客服稍后为您服务～"),
    ("QN-20001", "09:02:40", "a:小美", "在的亲，1.8米的有货，您看下要哪个颜色呢？"),
    ("QN-20001", "09:03:30", "c", "灰色的"),
    ("QN-20001", "09:03:50", "a:小美", "好的，灰色1.8米现货，今天下单今天发哦"),
    ("QN-20001", "09:04:10", "c", "好的谢谢"),
    ("QN-20001", "09:04:20", "a:小美", "不客气，祝您生活愉快～"),
    ("QN-20002", "09:10:00", "c", "你好，我昨天买的被子能改地址吗"),
    ("QN-20002", "09:10:01", "auto:阿杰", "【自动回复】亲，欢迎光临暖暖家居，客服稍后为您服务～"),
    ("QN-20002", "09:18:05", "a:阿杰", "亲，不好意思让您久等了，订单还没发货，可以改的，新地址是哪里呢？"),
    ("QN-20002", "09:18:40", "c", "杭州市西湖区文三路100号"),
    ("QN-20002", "09:19:10", "a:阿杰", "好的，已经帮您改好了，您在订单里核对一下哦"),
    ("QN-20002", "09:19:30", "c", "看到了，谢谢"),
    ("QN-20003", "09:25:00", "c", "请问我的快递到哪里了，显示三天没更新了"),
    ("QN-20003", "09:25:40", "main", "亲，我帮您查一下物流哦"),
    ("QN-20003", "09:26:30", "main", "这不是我们的问题，你找快递去"),
    ("QN-20003", "09:27:00", "c", "好吧"),
    ("QN-20004", "09:40:00", "c", "请问枕头可以机洗吗"),
    ("QN-20004", "09:40:30", "main", "亲，这款枕芯可以机洗的，建议用洗衣袋轻柔模式哦"),
    ("QN-20004", "09:41:00", "c", "好的"),
    ("QN-20004", "09:41:10", "main", "还有其他可以帮您的吗"),
    ("QN-20004", "09:41:30", "c", "没有了谢谢"),
    ("QN-20005", "10:05:00", "c", "这个收纳箱能叠几层"),
    ("QN-20005", "10:05:20", "a:小美", "可以叠3层的亲"),
    ("QN-20005", "10:06:00", "c", "叠3层会不会塌啊"),
    ("QN-20005", "10:06:30", "a:小美", "我已经说过很多遍了，可以叠3层，不会塌"),
    ("QN-20005", "10:07:00", "c", "哦"),
    ("QN-20006", "10:20:00", "c", "有优惠券吗"),
    ("QN-20006", "10:20:01", "auto:阿杰", "【自动回复】亲，欢迎光临暖暖家居，客服稍后为您服务～"),
    ("QN-20006", "10:23:30", "a:阿杰", "亲，店铺首页可以领满200减20的券哦"),
    ("QN-20006", "10:24:00", "c", "领到了"),
    ("QN-20006", "10:24:10", "a:阿杰", "好的呢，有问题随时找我哦"),
    ("QN-20007", "10:40:00", "c", "我想问下退货运费谁出"),
    ("QN-20007", "10:40:20", "a:小美", "亲，七天无理由退货的话运费是您这边承担哦，有运费险的可以抵扣"),
    ("QN-20007", "10:41:00", "sys", "会话已转交给暖暖家居旗舰店:阿杰"),
    ("QN-20007", "10:41:30", "a:阿杰", "亲您好，我是阿杰，您的订单有运费险的哦"),
    ("QN-20007", "10:42:00", "c", "好的明白了"),
    ("QN-20008", "11:00:00", "c", "毛毯是什么材质的"),
    ("QN-20008", "11:00:02", "auto:小美", "【自动回复】亲，欢迎光临暖暖家居，客服稍后为您服务～"),
    ("QN-20008", "11:01:00", "a:小美", "亲，是法兰绒的，亲肤不掉毛哦"),
    ("QN-20008", "11:01:40", "c", "可以送礼吗，有礼盒吗"),
    ("QN-20008", "11:02:10", "a:小美", "有的亲，拍下时备注礼盒就可以，免费的哦"),
    ("QN-20008", "11:02:40", "c", "好的"),
]
QIANNIU_CUSTOMERS = {
    "QN-20001": "tb_552190", "QN-20002": "爱吃橘子的猫", "QN-20003": "tb_778801", "QN-20004": "小熊软糖",
    "QN-20005": "tb_334455", "QN-20006": "星星点灯", "QN-20007": "tb_900871", "QN-20008": "夏天的风",
}

DONGDONG = [
    ("9900120001", "09:05:10", "c", "你好，这台电视送挂架吗"),
    ("9900120001", "09:05:40", "a", "您好，这款电视是送挂架的，安装师傅上门免费安装哦"),
    ("9900120001", "09:06:20", "c", "安装要预约吗"),
    ("9900120001", "09:06:50", "a", "签收后会有师傅联系您预约时间的"),
    ("9900120001", "09:07:10", "c", "好的"),
    ("9900120002", "09:20:00", "c", "洗衣机启动不了，显示E3"),
    ("9900120002", "09:20:30", "a", "您好，E3一般是门没关好，您再用力关一下门试试呢"),
    ("9900120002", "09:22:00", "c", "关好了还是不行"),
    ("9900120002", "09:22:40", "a", "那我也帮不了你，你打品牌售后电话吧"),
    ("9900120002", "09:23:10", "c", "行吧"),
    ("9900120003", "10:00:00", "c", "请问这个空调是一级能效吗"),
    ("9900120003", "10:00:02", "a", "【自动回复】您好，欢迎光临优品电器，客服马上为您服务"),
    ("9900120003", "10:06:10", "a", "您好，是新一级能效的哦，一晚上大概1度电"),
    ("9900120003", "10:07:00", "c", "好的，我下单了"),
    ("9900120003", "10:07:20", "a", "好的，感谢您的支持"),
    ("9900120004", "10:30:00", "c", "冰箱可以开发票吗"),
    ("9900120004", "10:30:02", "a", "【自动回复】您好，欢迎光临优品电器，客服马上为您服务"),
    ("9900120004", "10:31:30", "a", "可以的，下单时选择电子发票，确认收货后自动开具"),
    ("9900120004", "10:32:00", "c", "单位抬头也可以吗"),
    ("9900120004", "10:32:30", "a", "可以的，填写单位名称和税号就行"),
    ("9900120004", "10:33:00", "c", "好的谢谢"),
    ("9900120005", "11:10:00", "c", "热水器什么时候能送到"),
    ("9900120005", "11:10:40", "a", "您好，您的订单预计明天上午送达"),
    ("9900120005", "11:11:20", "c", "能约下午送吗"),
    ("9900120005", "11:11:50", "a", "可以的，我给您备注下午配送"),
    ("9900120005", "11:12:20", "c", "谢谢"),
]
DONGDONG_CUSTOMERS = {
    "9900120001": "jd_7a3f9c21", "9900120002": "jd_51e0b7d4", "9900120003": "jd_c2d9e811",
    "9900120004": "jd_0f6a2b37", "9900120005": "jd_9b47ce05",
}
DONGDONG_AGENTS = {
    "9900120001": "youpin_小王", "9900120002": "youpin_小李", "9900120003": "youpin_小王",
    "9900120004": "youpin_小李", "9900120005": "youpin_小王",
}

# who: c = 用户; a = 客服 (文本/图片); bot = 客服 with 消息类型 机器人; sys = 系统 with 消息类型 系统
FEIGE = [
    ("FG77310001", "09:12:00", "c", "这双跑鞋偏码吗"),
    ("FG77310001", "09:12:01", "bot", "您好，欢迎来到轻风运动官方旗舰店，有什么可以帮您？"),
    ("FG77310001", "09:12:50", "a", "亲，这款是标准码，平时穿多大拍多大就可以"),
    ("FG77310001", "09:13:30", "c", "那我拍42的"),
    ("FG77310001", "09:13:50", "a", "好的亲，42码有现货"),
    ("FG77310002", "09:30:00", "c", "我买的运动裤什么时候发货"),
    ("FG77310002", "09:30:01", "bot", "您好，欢迎来到轻风运动官方旗舰店，有什么可以帮您？"),
    ("FG77310002", "09:38:20", "a", "亲，抱歉久等了，您的订单今天下午就发出哦"),
    ("FG77310002", "09:39:00", "c", "好的"),
    ("FG77310002", "09:39:20", "sys", "会话已结束"),
    ("FG77310003", "10:02:00", "c", "这个衣服能不能水洗"),
    ("FG77310003", "10:02:30", "a", "亲，可以水洗的，建议30度以下"),
    ("FG77310003", "10:03:10", "c", "会缩水吗"),
    ("FG77310003", "10:03:40", "a", "详情页第一张就写了不会缩水，难道你没看到吗？"),
    ("FG77310003", "10:04:10", "c", "没注意"),
    ("FG77310004", "10:20:00", "c", "[图片]"),
    ("FG77310004", "10:20:10", "c", "这个颜色还有吗"),
    ("FG77310004", "10:20:40", "a", "有的亲，这个是雾霾蓝，各个尺码都有"),
    ("FG77310004", "10:21:10", "c", "好的谢谢"),
    ("FG77310004", "10:21:30", "a", "不客气哦，祝您购物愉快"),
    ("FG77310005", "11:00:00", "c", "护膝有小号吗"),
    ("FG77310005", "11:00:01", "bot", "您好，欢迎来到轻风运动官方旗舰店，有什么可以帮您？"),
    ("FG77310005", "11:03:30", "a", "亲，有S码的，适合膝围30到34厘米"),
    ("FG77310005", "11:04:00", "c", "好的"),
]
FEIGE_CUSTOMERS = {"FG77310001": "跑步的阿飞", "FG77310002": "用户8830211", "FG77310003": "橘子汽水",
                   "FG77310004": "用户5512987", "FG77310005": "周末去爬山"}
FEIGE_AGENTS = {"FG77310001": "轻风-小鹿", "FG77310002": "轻风-大熊", "FG77310003": "轻风-小鹿",
                "FG77310004": "轻风-大熊", "FG77310005": "轻风-小鹿"}

# who: c = 访客, a = 客服, bot = 机器人, sys = 系统
QIYU = [
    ("QY-8840001", "09:15:00", "c", "请问这个面霜适合干皮吗"),
    ("QY-8840001", "09:15:01", "bot", "您好，我是花漾智能助理，请问有什么可以帮您？"),
    ("QY-8840001", "09:15:40", "a", "亲，适合的，这款是滋润型的"),
    ("QY-8840001", "09:16:20", "c", "孕妇能用吗"),
    ("QY-8840001", "09:16:50", "a", "成分温和，孕期也可以用的，您放心"),
    ("QY-8840001", "09:17:20", "c", "好的"),
    ("QY-8840002", "09:40:00", "c", "我的订单能加急发吗"),
    ("QY-8840002", "09:40:01", "bot", "您好，我是花漾智能助理，请问有什么可以帮您？"),
    ("QY-8840002", "09:47:30", "a", "亲，久等了，已经帮您备注加急，今天就发"),
    ("QY-8840002", "09:48:00", "c", "谢谢"),
    ("QY-8840003", "10:10:00", "c", "优惠券在哪里领"),
    ("QY-8840003", "10:10:30", "a", "亲，商品页面往下拉就能看到领券入口哦"),
    ("QY-8840003", "10:11:30", "c", "我找了没找到"),
    ("QY-8840003", "10:12:00", "a", "你不会自己看吗？往下拉就有"),
    ("QY-8840003", "10:12:30", "c", "找到了"),
    ("QY-8840004", "10:30:00", "c", "口红有小样吗"),
    ("QY-8840004", "10:30:30", "a", "有的亲，满199送口红小样哦"),
    ("QY-8840004", "10:31:00", "sys", "会话已转接至客服花漾-七七"),
    ("QY-8840004", "10:31:20", "a", "亲您好，我是七七，小样已经给您备注了"),
    ("QY-8840004", "10:31:50", "c", "好的谢谢"),
    ("QY-8840005", "11:20:00", "c", "卸妆水是多少毫升的"),
    ("QY-8840005", "11:20:40", "a", "亲，是400毫升的大瓶装"),
    ("QY-8840005", "11:21:10", "c", "好的"),
]
QIYU_CUSTOMERS = {"QY-8840001": "访客3382", "QY-8840002": "小雨点", "QY-8840003": "访客7719",
                  "QY-8840004": "柠檬不酸", "QY-8840005": "访客1206"}
QIYU_AGENTS = {"QY-8840001": "花漾-小桃", "QY-8840002": "花漾-Lily", "QY-8840003": "花漾-小桃",
               "QY-8840004": "花漾-小桃", "QY-8840005": "花漾-Lily"}
QIYU_TRANSFER_TO = {"QY-8840004": "花漾-七七"}


def _by_time(rows):
    """Interleave sessions by time, as the platforms export them (stable within a second)."""
    return sorted(rows, key=lambda row: row[1])


def write_qianniu(path: Path) -> None:
    """千牛: title and metadata lines above the header; roles only from nicknames."""
    out = io.StringIO(newline="")
    out.write(f"{QIANNIU_SHOP} 聊天记录导出\r\n")
    out.write(f"导出时间：2026-11-21 08:30:12,时间范围：{DAY} 00:00:00 至 {DAY} 23:59:59\r\n")
    out.write("\r\n")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["会话ID", "发送人", "接收人", "发送时间", "消息内容"])
    current: dict[str, str] = {}
    for session, _, who, _ in QIANNIU:  # a customer's first message goes to the serving agent
        if session not in current and who.startswith(("a:", "auto:")):
            current[session] = f"{QIANNIU_SHOP}:{who.split(':', 1)[1]}"
        elif session not in current and who == "main":
            current[session] = QIANNIU_SHOP
    for session, time, who, text in _by_time(QIANNIU):
        buyer = QIANNIU_CUSTOMERS[session]
        if who == "c":
            sender, receiver = buyer, current.get(session, f"{QIANNIU_SHOP}:小美")
        elif who == "main":
            sender, receiver = QIANNIU_SHOP, buyer
            current[session] = QIANNIU_SHOP
        elif who == "sys":
            sender, receiver = "系统消息", buyer
        else:
            nick = f"{QIANNIU_SHOP}:{who.split(':', 1)[1]}"
            sender, receiver = nick, buyer
            current[session] = nick
        writer.writerow([session, sender, receiver, f"{DAY} {time}", text])
    path.write_bytes(b"\xef\xbb\xbf" + out.getvalue().encode("utf-8"))


def _time(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


def write_dongdong(path: Path) -> None:
    """咚咚: a cover sheet, then a sheet with a merged title, a metadata line and split 日期/时间."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    cover = book.active
    cover.title = "说明"
    cover["A1"] = "京东咚咚 聊天记录导出"
    cover["A1"].font = Font(size=16, bold=True)
    cover.merge_cells("A1:D1")
    for row, (key, value) in enumerate(
        [("店铺", "优品电器京东自营旗舰店"), ("导出时间", "2026-11-21 08:00"),
         ("记录条数", len(DONGDONG)), ("说明", "本文件由咚咚工作台导出，仅供内部质检使用")], start=3):
        cover.cell(row=row, column=1, value=key)
        cover.cell(row=row, column=2, value=value)
    sheet = book.create_sheet("聊天记录")
    sheet["A1"] = f"咚咚聊天记录 {DAY}"
    sheet["A1"].font = Font(size=14, bold=True)
    sheet["A1"].alignment = Alignment(horizontal="center")
    sheet.merge_cells("A1:F1")
    sheet["A2"] = f"导出账号：youpin_admin    共 {len(DONGDONG)} 条"
    sheet.append(["会话ID", "咚咚账号", "是否客服发送", "日期", "时间", "消息内容"])
    for session, time, who, text in _by_time(DONGDONG):
        agent = who == "a"
        account = DONGDONG_AGENTS[session] if agent else DONGDONG_CUSTOMERS[session]
        sheet.append([session, account, "是" if agent else "否", DAY, _time(time), text])
        sheet.cell(row=sheet.max_row, column=4).number_format = "yyyy-mm-dd"
        sheet.cell(row=sheet.max_row, column=5).number_format = "hh:mm:ss"
    book.save(path)


def write_feige(path: Path) -> None:
    """飞鸽: a two-level header (会话信息 / 消息信息 group cells merged over the real names)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "会话消息明细"
    # 消息内容 spans both header rows (a vertical merge: the cell under it is empty).
    sheet.append(["会话信息", None, None, "消息信息", None, None, "消息内容"])
    sheet.append(["会话编号", "用户昵称", "客服昵称", "消息发送方", "消息发送时间", "消息类型", None])
    sheet.merge_cells("A1:C1")
    sheet.merge_cells("D1:F1")
    sheet.merge_cells("G1:G2")
    for session, time, who, text in _by_time(FEIGE):
        sender, kind = {"c": ("用户", "文本"), "a": ("客服", "文本"), "bot": ("客服", "机器人"),
                        "sys": ("系统", "系统")}[who]
        if text.startswith("[图片]"):
            kind = "图片"
        sheet.append([session, FEIGE_CUSTOMERS[session], FEIGE_AGENTS[session], sender,
                      f"{DAY} {time}", kind, text])
    book.save(path)


def write_qiyu(path: Path) -> None:
    """七鱼: 访客/客服/机器人/系统 roles and a date column beside a time column (UTF-8 with BOM)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["会话ID", "访客名称", "客服名称", "发送方", "发送日期", "发送时间", "消息内容"])
    agent_now = dict(QIYU_AGENTS)
    for session, time, who, text in _by_time(QIYU):
        sender = {"c": "访客", "a": "客服", "bot": "机器人", "sys": "系统"}[who]
        if who == "sys" and session in QIYU_TRANSFER_TO:
            agent_now[session] = QIYU_TRANSFER_TO[session]
        agent = agent_now[session] if who == "a" else ""
        writer.writerow([session, QIYU_CUSTOMERS[session], agent, sender, DAY.strftime("%Y/%m/%d"), time, text])
    path.write_bytes(b"\xef\xbb\xbf" + out.getvalue().encode("utf-8"))


def main() -> None:
    write_qianniu(SAMPLES / "qianniu-export.csv")
    write_dongdong(SAMPLES / "dongdong-export.xlsx")
    write_feige(SAMPLES / "feige-export.xlsx")
    write_qiyu(SAMPLES / "qiyu-chats.csv")


if __name__ == "__main__":
    main()
