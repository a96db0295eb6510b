"""Sheet names, headers and sentences of the workbooks, in Chinese and English."""

from __future__ import annotations

from typing import Any

from qa.model import REVIEW_COLUMNS

TRENDS_SHEET = ("趋势", "Trends")

LANGS = ("zh", "en")

SHEETS = {
    "summary": ("概览", "Summary"),
    "agents": ("客服评分", "Agents"),
    "findings": ("违规明细", "Findings"),
    "highlights": ("亮点", "Highlights"),
    "sessions": ("会话", "Sessions"),
    "transcripts": ("对话记录", "Transcripts"),
    "rules": ("规则", "Rules"),
    "rejected": ("异常行", "Rejected"),
}

WORDS = {
    # headers
    "agent": ("客服", "Agent"),
    "score": ("得分", "Score"),
    "sessions": ("会话数", "Sessions"),
    "messages_sent": ("发送消息数", "Messages sent"),
    "customer_messages": ("客户消息数", "Customer messages"),
    "frt_median": ("首次响应时间中位数(秒)", "First response, median (s)"),
    "frt_mean": ("首次响应时间平均(秒)", "First response, mean (s)"),
    "art": ("平均响应时长(秒)", "Average response time (s)"),
    "reply_rate": ("回复率", "Reply rate"),
    "qa_ratio": ("问答比", "Q/A ratio"),
    "findings": ("违规数", "Findings"),
    "per100": ("每百会话违规", "Findings per 100 sessions"),
    "rule_count": ("{label} 次数", "{label}: count"),
    "rule_per100": ("{label} 每百会话", "{label}: per 100 sessions"),
    "vetoes": ("一票否决次数", "Vetoes"),
    "time": ("时间", "Time"),
    "session": ("会话", "Session"),
    # The Sessions sheet's column of the agents taking part (only when a session was transferred).
    "session_agents": ("参与客服（转接顺序）", "Agents (in order of transfer)"),
    "rule": ("规则", "Rule"),
    "severity": ("严重程度", "Severity"),
    "reason": ("原因", "Reason"),
    "message_marked": ("消息（命中片段标红）", "Message (match in red)"),
    "context": ("客户消息（所回复的）", "Customer message (answered)"),
    "file": ("文件", "File"),
    "row": ("行号", "Row"),
    "review": REVIEW_COLUMNS["review"],
    "comment": REVIEW_COLUMNS["comment"],
    "started": ("开始时间", "Started"),
    "messages": ("消息数", "Messages"),
    "longest_wait": ("最长客户等待(秒)", "Longest customer wait (s)"),
    "rules_hit": ("违规规则", "Rules"),
    "veto": ("一票否决", "Veto"),
    "role": ("角色", "Role"),
    "sender": ("发送者", "Sender"),
    "message": ("消息", "Message"),
    "name": ("名称", "Name"),
    "check": ("检查类型", "Check type"),
    "points": ("扣分", "Points"),
    "status": ("状态", "Status"),
    "params": ("参数", "Parameters"),
    "what": ("说明", "What it checks"),
    "origin": ("来源", "Origin"),
    "config_file": ("配置文件", "Config file"),
    "rule_packs": ("规则包", "Rule packs"),
    "raw": ("原始内容", "Raw content"),
    "count": ("违规数", "Findings"),
    "agents_involved": ("涉及客服数", "Agents involved"),
    "main_issue": ("主要问题", "Main issue"),
    # summary
    "title": ("客服质检报告", "Customer-service QA report"),
    "inputs": ("输入文件", "Inputs"),
    "period": ("时间范围", "Period covered"),
    "rows_read": ("读取行数", "Rows read"),
    "rows_audited": ("审核行数", "Rows audited"),
    "rows_rejected": ("异常行数（见“异常行”）", "Rows rejected (see Rejected)"),
    "n_sessions": ("会话数", "Sessions"),
    "n_agents": ("客服数", "Agents"),
    "n_findings": ("违规数", "Findings"),
    "rules_version": ("规则版本", "Rules version"),
    "timezone": ("时区", "Timezone"),
    "scoring": ("评分方法", "Scoring"),
    "privacy": ("个人信息", "Personal data"),
    "notes": ("说明", "Notes"),
    "per_rule_title": ("各规则违规数", "Findings per rule"),
    "coaching_title": ("最需辅导的客服", "Agents most in need of coaching"),
    "chart_rules": ("各规则违规数", "Findings per rule"),
    "chart_agents": ("得分最低的客服", "Lowest-scoring agents"),
    "skipped_title": ("未运行的规则", "Rules skipped"),
    "scoring_title": ("评分参数", "Scoring parameters"),
    # values
    "masked": ("已脱敏（手机号、固定电话、身份证号、邮箱只保留部分字符）",
               "masked (mobile and landline numbers, ID-card numbers, e-mail keep a part)"),
    "unmasked": ("未脱敏（--no-mask）", "not masked (--no-mask)"),
    "no_times": ("无时间信息", "no times in the input"),
    "yes": ("是", "yes"),
    "applied": ("已运行", "applied"),
    "skipped": ("未运行：{reason}", "skipped: {reason}"),
    "scoring_text": (
        "每个会话100分起，每条违规按严重程度扣分（{points}），最低0分；一票否决的违规使会话得0分。客服得分 = 其会话得分的平均值。",
        "Each session starts at 100 and loses each finding's points ({points}), floor 0; a veto finding sets the session to 0. Agent score = mean of their session scores.",
    ),
    "veto_any": ("任何违规", "any finding"),
    "veto_from": ("{severity}及以上", "{severity} or worse"),
    "findings_capped": (
        "违规共 {total} 条，本表只列出前 {shown} 条；完整清单请用 --findings-csv 导出。",
        "{total} findings; this sheet lists the first {shown}. Use --findings-csv for the complete list.",
    ),
    "rows_capped": (
        "共 {total} 行，本表只列出前 {shown} 行；完整数据见 JSON 结果（--json）。",
        "{total} rows; this sheet lists the first {shown}. The JSON result (--json) has them all.",
    ),
    "transcripts_note": (
        "有违规的会话全文，得分从低到高；共 {flagged} 个，列出 {shown} 个。违规行标红，命中片段红色加粗。",
        "Full text of the flagged sessions, worst first: {flagged} flagged, {shown} shown. Flagged lines are shaded, the matched fragment red and bold.",
    ),
    "session_banner": (
        "会话 {session} · 客服 {agent} · 得分 {score} · 违规 {findings} 条",
        "Session {session} · agent {agent} · score {score} · {findings} findings",
    ),
    "and_more": ("……另有 {n} 个", "... and {n} more"),
    "scoring_file": ("评分文件", "Scoring file"),
    "items": ("{n} 项", "{n} items"),
    # finding ids, suppressions, trends
    "finding_id": REVIEW_COLUMNS["id"],
    "suppressed_title": ("已屏蔽的违规（--suppress，共 {n} 条；不计入违规和得分）",
                         "Suppressed findings (--suppress, {n}; not counted in findings or scores)"),
    "suppressed_note": ("{n} 条违规被屏蔽文件排除（见“规则”表）", "{n} findings suppressed (see Rules)"),
    "suppressed_capped": ("共 {total} 条，列出前 {shown} 条；完整清单见 JSON 结果（--json）。",
                          "{total} suppressed; the first {shown} are listed. The JSON result (--json) has them all."),
    "suppression": ("屏蔽条目", "Suppression"),
    "suppression_reason": ("屏蔽原因", "Why suppressed"),
    "trends_title": ("趋势：最近 {n} 次运行（共 {total} 次）", "Trends: the last {n} runs (of {total})"),
    "trends_note": (
        "历史文件 {path}。按所审核的时间排序；已复核的运行显示复核后的得分和违规率（误报不计）。",
        "History file {path}. Runs in the order of the period audited; reviewed runs show scores and rates after review (false positives excluded).",
    ),
    "history_note": ("本次运行已记入历史 {path}（{label}）", "This run is recorded in the history {path} ({label})"),
    "run": ("运行", "Run"),
    "ran_at": ("运行时间", "Ran at"),
    "reviewed_at": ("复核时间", "Reviewed"),
    "runs_title": ("运行记录", "Runs"),
    "agent_trend_title": ("客服得分", "Agent scores"),
    "rule_trend_title": ("各规则每百会话违规数", "Findings per 100 sessions by rule"),
    "suppressed_count": ("已屏蔽", "Suppressed"),
    # credits for good practice
    "credit": ("亮点", "Credit"),
    "credit_count": ("亮点：{label} 次数", "Credit {label}: count"),
    "credit_per100": ("亮点：{label} 每百会话", "Credit {label}: per 100 sessions"),
    "message_credited": ("消息（亮点片段标出）", "Message (credited part marked)"),
    "highlights_note": (
        "良好做法（亮点）与违规并列显示，不抵消违规；只有在 scoring.toml 的 [credits] 中设置了分数时才加分（本次：{bonus}）。",
        "Good practice, shown beside the findings, never hiding them; it earns points only when scoring.toml sets [credits] points (this run: {bonus}).",
    ),
    "bonus_off": ("不加分", "no bonus"),
    "bonus_on": ("每会话最多加 {max} 分", "at most {max} points per session"),
    "credits_capped": (
        "亮点共 {total} 条，本表只列出前 {shown} 条；完整清单见 JSON 结果（--json）。",
        "{total} credits; this sheet lists the first {shown}. The JSON result (--json) has them all.",
    ),
}

SEVERITY = {"minor": ("轻微", "minor"), "major": ("严重", "major"), "critical": ("致命", "critical")}
ROLE = {"customer": ("客户", "customer"), "agent": ("客服", "agent"), "system": ("系统", "system")}

def word(key: str, lang: str, **values: Any) -> str:
    """The text of ``WORDS[key]`` in ``lang``, formatted with ``values``."""
    text = WORDS[key][0 if lang == "zh" else 1]
    return text.format(**values) if values else text


def words(lang: str, *keys: str) -> list[str]:
    """The texts of ``WORDS[key]`` for each of ``keys`` in ``lang`` (a row of headers)."""
    return [word(key, lang) for key in keys]


# The headers the Findings sheets of the audit and review workbooks share (qa review finds the
# Review and Comment columns by them).
FINDING_HEADERS = (
    "time", "agent", "session", "rule", "severity", "reason", "message_marked", "context", "file", "row", "review",
    "comment",
)


def pick(pair: tuple[Any, Any], lang: str) -> Any:
    """The member of a (zh, en) pair for ``lang``."""
    return pair[0 if lang == "zh" else 1]


def severity_word(value: str, lang: str) -> str:
    """A severity's word in ``lang`` (unknown values as they are)."""
    pair = SEVERITY.get(value)
    return pick(pair, lang) if pair else str(value)


REVIEW_SHEETS = {
    "review": ("复核结果", "Review"),
    "agents": ("客服评分", "Agents"),
    "findings": ("违规明细", "Findings"),
    "sessions": ("会话", "Sessions"),
}

REVIEW_WORDS = {
    "review_title": ("复核结果：误报不扣分后的得分与规则准确率", "Review: scores without false positives, and measured rule precision"),
    "workbooks": ("复核的工作簿", "Reviewed workbooks"),
    "audits": ("审核", "Audits"),
    "verdicts": ("复核结论", "Verdicts"),
    "verdict_counts": ("列出 {listed} 条，已复核 {reviewed} 条：确认 {confirmed}，误报 {false}，待定 {pending}",
                       "{listed} listed, {reviewed} reviewed: {confirmed} confirmed, {false} false positive, {pending} pending"),
    "history": ("历史记录", "History"),
    "rescoring": ("重新评分", "Rescoring"),
    "rescoring_text": ("误报不扣分、不触发一票否决；确认、待定和未复核的违规照常扣分。客服得分 = 其会话得分的平均值。",
                       "False positives deduct no points and veto nothing; confirmed, pending and unreviewed findings still deduct. Agent score = mean of their session scores."),
    "quality_title": ("各规则实测准确率（准确率 = 确认 /（确认 + 误报））", "Measured precision per rule (confirmed / (confirmed + false positive))"),
    "listed": ("列出的违规", "Findings listed"),
    "reviewed": ("已复核", "Reviewed"),
    "confirmed": ("确认", "Confirmed"),
    "false_positive": ("误报", "False positive"),
    "pending": ("待定", "Pending"),
    "unreviewed": ("未复核", "Unreviewed"),
    "precision": ("准确率", "Precision"),
    "judged": ("样本数（确认+误报）", "n (confirmed + false)"),
    "fp_title": ("最常见的误报消息（用于修改规则；--emit-suppressions 可生成屏蔽文件）",
                 "Most frequent false positives (to fix the rules; --emit-suppressions turns them into a suppression file)"),
    "fp_text": ("消息（标准化前的示例）", "Message (as shown)"),
    "times": ("次数", "Times"),
    "comments": ("复核备注", "Comments"),
    "report": ("报告", "Report"),
    "score_before": ("复核前得分", "Score before review"),
    "score_after": ("复核后得分", "Score after review"),
    "change": ("变化", "Change"),
    "false_positives": ("误报数", "False positives"),
    "findings_after": ("复核后违规数", "Findings after review"),
    "credits_total": ("亮点数", "Credits"),
    "reviewer": ("复核人", "Reviewer"),
    "reviewed_in": ("复核来源", "Reviewed in"),
    "points_after": ("复核后扣分", "Points after review"),
    "session_before": ("会话得分（复核前）", "Session score before"),
    "session_after": ("会话得分（复核后）", "Session score after"),
}


def review_word(key: str, lang: str, **values: Any) -> str:
    """The text of ``REVIEW_WORDS[key]`` in ``lang``, formatted with ``values``."""
    text = REVIEW_WORDS[key][0 if lang == "zh" else 1]
    return text.format(**values) if values else text
