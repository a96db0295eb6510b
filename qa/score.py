"""The score stage: per-session and per-agent scores and metrics from findings and messages.

Scoring parameters live in ``scoring.toml`` beside the built-in rules (rules data, editable
by QA staff, shown in the workbook):

- each session starts at 100 and loses each finding's points: by the finding's severity
  (``[points]``: minor 2, major 5, critical 20) unless ``[rules.<id>] points`` overrides;
- a veto rule (一票否决, ``veto = true`` or ``veto = "<severity>"``) sets the session to 0;
- the score never goes below 0;
- credits for good practice (:mod:`qa.credits`) are counted per session and agent; they
  earn bonus points only when ``[credits]`` gives points (default: none): a session gains
  the points of its credits, at most ``max_bonus`` (default 5), and its score is
  ``100 - deductions + bonus`` kept within 0..100 (a bonus offsets deductions, never lifts a
  session above 100); a vetoed session stays 0;
- an agent's score is the mean of the scores of the sessions they took part in, shown next to
  findings per rule as counts and per 100 sessions (fair to busy agents) and vetoes;
- a session transferred between agents (转接: more than one agent sent agent messages in it)
  keeps one row with all its findings and its responsible agent (the one who sent most of its
  agent messages), and is scored for the agents by its **parts** (:func:`score_parts`): one per
  agent taking part, scored like a session from the findings and credits on that agent's
  messages (a finding on a customer message or a message without an agent is the responsible
  agent's), with the reply times of that agent's replies. A vetoed part does not zero the others.

Session columns (``result.sessions``, one row per session, sorted by session id):
``session_id, agent, started_at, file, messages, customer_messages, agent_messages,
customer_runs, replied_runs, first_response_s, avg_response_s, longest_wait_s, findings,
findings_by_rule, points_deducted, veto, score, credits, credits_by_id, bonus_points, agents``
(``agents``: the agents taking part, in order of their first message). Parts (``result.parts``)
have the same columns, ``agent`` being the part's.

Agent columns (``result.agents``, one row per agent, worst first): ``agent, score, sessions,
messages, customer_messages, first_response_median_s, first_response_mean_s,
avg_response_s, reply_rate, qa_ratio, findings, findings_per_100_sessions,
findings_by_rule, per_100_sessions_by_rule, vetoes, credits`` (``credits``: ``{credit id: count,
…, "per_100_sessions": {credit id: rate, …}}``). See :mod:`qa.metrics` for the metrics.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qa.errors import RuleError
from qa.metrics import (
    AGENT_METRIC_COLUMNS,
    PART_METRIC_COLUMNS,
    SESSION_METRIC_COLUMNS,
    agent_metrics,
    part_metrics,
    session_metrics,
)
from qa.model import UNKNOWN_AGENT, Role, Severity
from qa.tomlfile import line_of, parse_toml, read_text

SCORING_FILE = "scoring.toml"
START_SCORE = 100.0
DEFAULT_POINTS = {"minor": 2.0, "major": 5.0, "critical": 20.0}
DEFAULT_MAX_BONUS = 5.0
PER_100 = "per_100_sessions"  # the key of agents' credits rates, beside the credit ids

SESSION_COLUMNS = [
    "session_id",
    "agent",
    *SESSION_METRIC_COLUMNS,
    "findings",
    "findings_by_rule",
    "points_deducted",
    "veto",
    "score",
    "credits",
    "credits_by_id",
    "bonus_points",
    "agents",
]

AGENT_COLUMNS = [
    "agent",
    "score",
    "sessions",
    *AGENT_METRIC_COLUMNS,
    "findings",
    "findings_per_100_sessions",
    "findings_by_rule",
    "per_100_sessions_by_rule",
    "vetoes",
    "credits",
]

_SEVERITIES = tuple(s.value for s in Severity)
_RANK = {s.value: s.rank for s in Severity}


@dataclass(frozen=True)
class RuleScoring:
    """A rule's own scoring: points per severity that override the defaults, and its veto."""

    points: dict[str, float] = field(default_factory=dict)
    veto: str | None = None  # the lowest severity whose findings veto the session


@dataclass(frozen=True)
class Scoring:
    """The loaded scoring parameters."""

    points: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_POINTS))
    rules: dict[str, RuleScoring] = field(default_factory=dict)
    path: Path | None = None
    credit_points: dict[str, float] = field(default_factory=dict)  # [credits] <id> = points
    max_bonus: float = DEFAULT_MAX_BONUS  # bonus points one session gains at most

    def check_credit_ids(self, credit_ids: Iterable[str]) -> None:
        """Refuse ``[credits]`` keys naming no loaded credit (a typo would score nothing)."""
        known = set(credit_ids)
        for credit_id in self.credit_points:
            if credit_id not in known:
                text = self.path.read_text(encoding="utf-8") if self.path and self.path.is_file() else ""
                raise RuleError(
                    f"{self.path}:{line_of(text, f'credits.{credit_id}')}: [credits] {credit_id} names no loaded "
                    f"credit (known: {', '.join(sorted(known)) or 'none'}; or max_bonus)"
                )

    def points_for(self, rule: str, severity: str) -> float:
        """Points one finding of ``rule`` at ``severity`` costs."""
        own = self.rules.get(rule)
        if own is not None and severity in own.points:
            return own.points[severity]
        return self.points.get(severity, 0.0)

    def vetoes(self, rule: str, severity: str) -> bool:
        """Whether one finding of ``rule`` at ``severity`` sets its session to 0."""
        own = self.rules.get(rule)
        if own is None or own.veto is None:
            return False
        return _RANK.get(severity, 0) >= _RANK[own.veto]

    def check_rule_ids(self, rule_ids: Iterable[str]) -> None:
        """Refuse ``[rules.<id>]`` tables naming a rule that is not loaded (a typo would
        otherwise silently score with the defaults)."""
        known = set(rule_ids)
        for rule_id in self.rules:
            if rule_id not in known:
                text = self.path.read_text(encoding="utf-8") if self.path and self.path.is_file() else ""
                line = line_of(text, f"rules.{rule_id}")
                raise RuleError(
                    f"{self.path}:{line}: [rules.{rule_id}] names no loaded rule "
                    f"(known: {', '.join(sorted(known)) or 'none'})"
                )


def _points_value(value: Any, path: Path, text: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise RuleError(f"{path}:{line_of(text, key)}: {key} must be a number of points >= 0, got {value!r}")
    return float(value)


def _severity_points(raw: Any, path: Path, text: str, key: str) -> dict[str, float]:
    if not isinstance(raw, dict):
        raise RuleError(f"{path}:{line_of(text, key)}: {key} must be a table of minor/major/critical points")
    points = {}
    for severity, value in raw.items():
        if severity not in _SEVERITIES:
            raise RuleError(
                f"{path}:{line_of(text, f'{key}.{severity}')}: unknown key '{key}.{severity}' "
                f"(allowed: {', '.join(_SEVERITIES)})"
            )
        points[severity] = _points_value(value, path, text, f"{key}.{severity}")
    return points


def parse_scoring(text: str, path: Path) -> Scoring:
    """Validate a scoring file's text strictly: unknown keys are refused with file:line."""
    data = parse_toml(text, path, RuleError)
    for key in data:
        if key not in ("points", "rules", "credits"):
            raise RuleError(f"{path}:{line_of(text, key)}: unknown key '{key}' (allowed: points, rules, credits)")
    credit_points: dict[str, float] = {}
    max_bonus = DEFAULT_MAX_BONUS
    raw_credits = data.get("credits", {})
    if not isinstance(raw_credits, dict):
        raise RuleError(f"{path}:{line_of(text, 'credits')}: credits must be a table [credits]")
    for name, value in raw_credits.items():
        number = _points_value(value, path, text, f"credits.{name}")
        if name == "max_bonus":
            max_bonus = number
        else:
            credit_points[name] = number
    points = dict(DEFAULT_POINTS)
    if "points" in data:
        points.update(_severity_points(data["points"], path, text, "points"))
    rules: dict[str, RuleScoring] = {}
    raw_rules = data.get("rules", {})
    if not isinstance(raw_rules, dict):
        raise RuleError(f"{path}:{line_of(text, 'rules')}: rules must be tables [rules.<rule-id>]")
    for rule_id, raw in raw_rules.items():
        key = f"rules.{rule_id}"
        if not isinstance(raw, dict):
            raise RuleError(f"{path}:{line_of(text, key)}: {key} must be a table")
        for name in raw:
            if name not in ("points", "veto"):
                raise RuleError(
                    f"{path}:{line_of(text, f'{key}.{name}')}: unknown key '{key}.{name}' (allowed: points, veto)"
                )
        own_points: dict[str, float] = {}
        if "points" in raw:
            value = raw["points"]
            if isinstance(value, dict):
                own_points = _severity_points(value, path, text, f"{key}.points")
            else:
                number = _points_value(value, path, text, f"{key}.points")
                own_points = {severity: number for severity in _SEVERITIES}
        veto: str | None = None
        if "veto" in raw:
            value = raw["veto"]
            if value is True:
                veto = Severity.MINOR.value
            elif value is False:
                veto = None
            elif isinstance(value, str) and value in _SEVERITIES:
                veto = value
            else:
                raise RuleError(
                    f"{path}:{line_of(text, f'{key}.veto')}: {key}.veto must be true, false or a "
                    f"severity ({', '.join(_SEVERITIES)}); got {value!r}"
                )
        rules[rule_id] = RuleScoring(points=own_points, veto=veto)
    return Scoring(points=points, rules=rules, path=path, credit_points=credit_points, max_bonus=max_bonus)


def load_scoring(path: Path | None = None, *, rule_ids: Iterable[str] | None = None,
                 credit_ids: Iterable[str] | None = None) -> Scoring:
    """Load ``path``, or ``scoring.toml`` beside the built-in rules. With ``rule_ids``, a
    ``[rules.<id>]`` table naming an unknown rule is refused; with ``credit_ids``, a
    ``[credits]`` key naming an unknown credit."""
    if path is None:
        from qa.rules import builtin_rules_dir

        path = builtin_rules_dir() / SCORING_FILE
    path = Path(path)
    if not path.is_file():
        raise RuleError(f"{path}: scoring file not found")
    scoring = parse_scoring(read_text(path, RuleError), path)
    if rule_ids is not None:
        scoring.check_rule_ids(rule_ids)
    if credit_ids is not None:
        scoring.check_credit_ids(credit_ids)
    return scoring


_DEFAULT_SCORING: Scoring | None = None


def default_scoring() -> Scoring:
    """The built-in scoring file, loaded once."""
    global _DEFAULT_SCORING
    if _DEFAULT_SCORING is None:
        _DEFAULT_SCORING = load_scoring()
    return _DEFAULT_SCORING


def _finding_points(findings: pd.DataFrame, scoring: Scoring) -> pd.DataFrame:
    """Findings grouped by (session, rule, severity) with count, points and veto."""
    grouped = findings.groupby(["session_id", "rule", "severity"], sort=True).size().rename("count").reset_index()
    pairs = grouped[["rule", "severity"]].drop_duplicates().reset_index(drop=True)
    rule_severity = list(zip(pairs["rule"].tolist(), pairs["severity"].tolist()))
    pairs["unit_points"] = [scoring.points_for(rule, severity) for rule, severity in rule_severity]
    pairs["veto"] = [scoring.vetoes(rule, severity) for rule, severity in rule_severity]
    grouped = grouped.merge(pairs, on=["rule", "severity"], how="left", sort=False)
    grouped["points"] = grouped["unit_points"].astype("float64") * grouped["count"]
    return grouped


def score_sessions(
    messages: pd.DataFrame,
    findings: pd.DataFrame,
    agents_by_session: pd.Series,
    *,
    scoring: Scoring | None = None,
    has_timestamps: bool | None = None,
    credits: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per session (sorted by session id) with its agent, metrics, findings, credits
    and score.

    ``findings`` is the report finding table (needs ``session_id``, ``rule``, ``severity``);
    ``credits`` the credit table (``session_id``, ``credit``), counted and, when the scoring
    gives credits points, turned into a bonus;
    ``agents_by_session`` maps session id to its (responsible) agent; ``agents`` lists the agents
    taking part (:func:`session_agent_lists`). Columns: :data:`SESSION_COLUMNS`.
    """
    scoring = scoring or default_scoring()
    sessions = session_metrics(messages, has_timestamps=has_timestamps)
    sessions.insert(0, "agent", agents_by_session.reindex(sessions.index).fillna(UNKNOWN_AGENT).astype("str").to_numpy())
    _add_scores(sessions, findings, credits, scoring, sessions.index)
    sessions["agents"] = session_agent_lists(messages, sessions["agent"]).to_numpy()
    return sessions.reset_index()[SESSION_COLUMNS]


def _add_scores(table: pd.DataFrame, findings: pd.DataFrame, credits: pd.DataFrame | None, scoring: Scoring,
                index: pd.Index) -> None:
    """Add the finding, credit and score columns to ``table`` (one row per key of ``index``;
    ``findings`` and ``credits`` name their row's key in ``session_id``)."""
    if len(findings):
        grouped = _finding_points(findings, scoring)
        by_session = grouped.groupby("session_id", sort=True)
        counts = by_session["count"].sum()
        deducted = by_session["points"].sum()
        vetoed = by_session["veto"].any()
        per_rule = grouped.groupby(["session_id", "rule"], sort=True)["count"].sum()
        rule_dicts: dict[Any, dict[str, int]] = {}
        levels = per_rule.index
        for session_id, rule, count in zip(
            levels.get_level_values(0).tolist(), levels.get_level_values(1).tolist(), per_rule.tolist()
        ):
            rule_dicts.setdefault(session_id, {})[rule] = count
    else:
        counts = pd.Series(dtype="int64")
        deducted = pd.Series(dtype="float64")
        vetoed = pd.Series(dtype="bool")
        rule_dicts = {}

    table["findings"] = counts.reindex(index, fill_value=0).astype("int64").to_numpy()
    table["findings_by_rule"] = [rule_dicts.get(session_id) or {} for session_id in index.tolist()]
    table["points_deducted"] = deducted.reindex(index, fill_value=0.0).astype("float64").round(1).to_numpy()
    table["veto"] = vetoed.reindex(index, fill_value=False).astype(bool).to_numpy()
    credit_counts, credit_dicts, bonus = _session_credits(credits, index, scoring)
    table["credits"] = credit_counts
    table["credits_by_id"] = credit_dicts
    table["bonus_points"] = bonus
    bonus = table["bonus_points"] if scoring.credit_points else None  # else the score only deducts
    table["score"] = session_scores(table["points_deducted"], table["veto"], bonus)


def _owners(messages: pd.DataFrame, responsible: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Who sent each agent message, for the parts of sessions: (rows of the agent messages, their
    owner's name); an agent message without a name is the responsible agent's (``responsible``:
    session id -> agent), as its findings are."""
    is_agent = (messages["role"] == Role.AGENT.value).to_numpy(dtype=bool, na_value=False)
    rows = np.flatnonzero(is_agent)
    names = messages["agent"].to_numpy(dtype=object)[rows]
    unnamed = names == ""
    if unnamed.any():
        names = names.copy()
        names[unnamed] = responsible.reindex(messages["session_id"].to_numpy(dtype=object)[rows][unnamed]).to_numpy(dtype=object)
    return rows, names


def session_agent_lists(messages: pd.DataFrame, responsible: pd.Series) -> pd.Series:
    """The agents taking part in each session (index: ``responsible``'s session ids), in order of
    their first message: those who sent an agent message in it; a session without agent messages
    lists its responsible agent (``responsible``: session id -> agent), so every session has one
    part at least and its responsible agent always takes part."""
    chosen = responsible.astype(object).tolist()
    # One list per agent, shared by their sessions (a list per session cost ~70 MB at 1M sessions);
    # nothing changes these lists in place.
    alone = {name: [name] for name in set(chosen)}
    lists = pd.Series([alone[name] for name in chosen], index=responsible.index, dtype=object)
    if not len(messages):
        return lists
    # On integer codes (factorized session ids and agent names), as qa.checks.stage.session_agents:
    # the string columns as Python objects cost ~0.4 s per million messages.
    is_agent = (messages["role"] == Role.AGENT.value).to_numpy(dtype=bool, na_value=False)
    rows = np.flatnonzero(is_agent)
    if not len(rows):
        return lists
    session_codes, session_values = pd.factorize(messages["session_id"])
    agent_codes, agent_values = pd.factorize(messages["agent"])
    sessions = session_codes[rows].astype(np.int64)
    owners = agent_codes[rows].astype(np.int64)
    agent_names = np.asarray(agent_values, dtype=object)
    unnamed = agent_names[owners] == ""
    if unnamed.any():  # the responsible agent's, as the findings on them are
        chosen_of_session = responsible.reindex(np.asarray(session_values, dtype=object)).to_numpy(dtype=object)
        agent_names = np.concatenate([agent_names, chosen_of_session])  # a name of its own per session, deduplicated below
        owners[unnamed] = len(agent_values) + sessions[unnamed]
        owner_codes, owner_values = pd.factorize(agent_names)
        owners, agent_names = owner_codes[owners].astype(np.int64), np.asarray(owner_values, dtype=object)
    width = max(len(agent_names), 1)
    pairs, first = np.unique(sessions * width + owners, return_index=True)
    pair_session = pairs // width
    several = np.bincount(pair_session, minlength=len(session_values)) > 1
    if not several.any():
        return lists  # one agent each: their responsible agent
    chosen = several[pair_session]
    order = np.lexsort((first[chosen], pair_session[chosen]))
    pair_session, pair_owner = pair_session[chosen][order], (pairs % width)[chosen][order]
    grouped: dict[str, list[str]] = {}
    for code, owner in zip(pair_session.tolist(), pair_owner.tolist()):
        grouped.setdefault(session_values[code], []).append(agent_names[owner])
    return pd.Series([grouped.get(sid, agents) for sid, agents in zip(lists.index.tolist(), lists.tolist())],
                     index=lists.index, dtype=object)


def score_parts(
    messages: pd.DataFrame,
    findings: pd.DataFrame,
    sessions: pd.DataFrame,
    *,
    scoring: Scoring | None = None,
    has_timestamps: bool | None = None,
    credits: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The parts of the transferred sessions (more than one agent in ``sessions["agents"]``): one
    row per (session, agent taking part), in session id order, then the agents' order, with
    :data:`SESSION_COLUMNS` (``agent``: the part's agent; ``started_at``, ``file`` and ``agents``:
    the session's). A part is scored like a session from the findings and credits on its agent's
    messages (their ``agent``, which names the responsible agent for a customer message or a
    message without an agent); its reply-time metrics count the customer runs its agent replied
    to (:func:`qa.metrics.part_metrics`). Sessions of one agent have no parts: their agent's part
    is the session itself (:func:`scorecard_rows`). Empty when no session was transferred.
    """
    scoring = scoring or default_scoring()
    several = sessions["agents"].map(len).to_numpy() > 1 if len(sessions) else np.zeros(0, dtype=bool)
    if not several.any():
        return pd.DataFrame({column: sessions[column].iloc[:0] for column in SESSION_COLUMNS})
    moved = sessions[several]
    part_sessions = np.repeat(moved["session_id"].to_numpy(dtype=object), moved["agents"].map(len).to_numpy())
    part_agents = np.array([agent for agents in moved["agents"].tolist() for agent in agents], dtype=object)
    keys = pd.MultiIndex.from_arrays([part_sessions, part_agents])
    n_parts = len(keys)
    responsible = pd.Series(moved["agent"].to_numpy(dtype=object), index=moved["session_id"].to_numpy(dtype=object))
    default_of_session = pd.Series(keys.get_indexer(pd.MultiIndex.from_arrays(
        [responsible.index.to_numpy(dtype=object), responsible.to_numpy(dtype=object)])), index=responsible.index)

    # The messages of the transferred sessions, each session's together in its canonical order.
    inside = messages["session_id"].isin(moved["session_id"]).to_numpy()
    subset = messages[inside]
    codes, _ = pd.factorize(subset["session_id"], sort=True)
    if len(codes) > 1 and (np.diff(codes) < 0).any():
        subset = subset.iloc[np.argsort(codes, kind="stable")]
    rows, names = _owners(subset, responsible)
    part_of_message = np.full(len(subset), -1, dtype=np.int64)
    part_of_message[rows] = keys.get_indexer(pd.MultiIndex.from_arrays(
        [subset["session_id"].to_numpy(dtype=object)[rows], names]))
    ids = subset["session_id"].to_numpy(dtype=object)
    appearance = ids[np.r_[True, ids[1:] != ids[:-1]]] if len(ids) else ids
    metrics = part_metrics(subset, part_of_message, default_of_session.reindex(appearance).to_numpy(np.int64),
                           n_parts, has_timestamps=has_timestamps)

    parts = pd.DataFrame({"session_id": pd.Series(part_sessions, dtype="str"), "agent": pd.Series(part_agents, dtype="str")})
    position = np.repeat(np.flatnonzero(several), moved["agents"].map(len).to_numpy())
    for column in ("started_at", "file"):
        parts[column] = sessions[column].to_numpy()[position]
    for column in PART_METRIC_COLUMNS:
        parts[column] = metrics[column].to_numpy()
    index = pd.RangeIndex(n_parts)
    _add_scores(parts, _by_part(findings, keys, default_of_session), _by_part(credits, keys, default_of_session),
                scoring, index)
    parts["agents"] = sessions["agents"].to_numpy()[position]
    return parts[SESSION_COLUMNS]


def _by_part(table: pd.DataFrame | None, keys: pd.MultiIndex, default_of_session: pd.Series) -> pd.DataFrame | None:
    """The rows of ``table`` (findings or credits) in the transferred sessions, with ``session_id``
    replaced by the number of their part (by their ``agent``; the responsible agent's part when
    the agent takes no part or the table names none)."""
    if table is None or not len(table):
        return table
    inside = table["session_id"].isin(default_of_session.index).to_numpy()
    table = table[inside]
    sessions = table["session_id"].to_numpy(dtype=object)
    if "agent" in table:
        part = keys.get_indexer(pd.MultiIndex.from_arrays([sessions, table["agent"].to_numpy(dtype=object)]))
    else:
        part = np.full(len(table), -1, dtype=np.intp)
    missing = part < 0
    if missing.any():
        part[missing] = default_of_session.reindex(sessions[missing]).to_numpy(np.int64)
    return table.assign(session_id=part.astype(np.int64))


def scorecard_rows(sessions: pd.DataFrame, parts: pd.DataFrame | None) -> pd.DataFrame:
    """What the agent scorecards are made of: each session of one agent as it is, each
    transferred session (one that has parts) by its parts; in session id order (the order every
    path sums an agent's sessions in)."""
    if parts is None or not len(parts):
        return sessions
    kept = sessions[~sessions["session_id"].isin(parts["session_id"]).to_numpy()]
    rows = pd.concat([kept, parts[list(sessions.columns)]], ignore_index=True)
    return rows.sort_values("session_id", kind="stable").reset_index(drop=True)


def session_scores(deducted: pd.Series, vetoed: pd.Series, bonus: pd.Series | None = None) -> pd.Series:
    """The session score: :data:`START_SCORE` minus the points deducted, plus the bonus points
    of credits (``bonus``; None when the scoring gives none), within 0..START_SCORE (no upper
    cap without bonus); 0 for a vetoed session; one decimal. The audit and ``qa review``'s
    rescoring both score with it."""
    if bonus is not None:
        score = (START_SCORE - deducted + bonus).clip(lower=0.0, upper=START_SCORE)
    else:
        score = (START_SCORE - deducted).clip(lower=0.0)
    return score.where(~vetoed, 0.0).round(1)


def _session_credits(credits: pd.DataFrame | None, index: pd.Index, scoring: Scoring
                     ) -> tuple[np.ndarray, list[dict[str, int]], np.ndarray]:
    """Per session: the number of credits, the count per credit id, the bonus points (the
    credits' points from ``[credits]``, at most ``max_bonus``)."""
    n = len(index)
    if credits is None or not len(credits):
        return np.zeros(n, dtype=np.int64), [{} for _ in range(n)], np.zeros(n, dtype=np.float64)
    grouped = credits.groupby(["session_id", "credit"], sort=True).size()
    dicts: dict[str, dict[str, int]] = {}
    points: dict[str, float] = {}
    levels = grouped.index
    for session_id, credit, count in zip(
        levels.get_level_values(0).tolist(), levels.get_level_values(1).tolist(), grouped.tolist()
    ):
        dicts.setdefault(session_id, {})[credit] = int(count)
        points[session_id] = points.get(session_id, 0.0) + scoring.credit_points.get(credit, 0.0) * count
    ids = index.tolist()
    counts = np.array([sum((dicts.get(s) or {}).values()) for s in ids], dtype=np.int64)
    bonus = np.array([min(points.get(s, 0.0), scoring.max_bonus) for s in ids], dtype=np.float64).round(1)
    return counts, [dicts.get(s) or {} for s in ids], bonus


def score_agents(sessions: pd.DataFrame, *, rule_ids: Iterable[str] | None = None,
                 credit_ids: Iterable[str] | None = None, parts: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per agent, worst first: score (mean of their session scores), metrics,
    findings (total, per rule, per 100 sessions) and vetoes. Columns: :data:`AGENT_COLUMNS`.

    ``parts``: the parts of the transferred sessions (:func:`score_parts`): an agent is then
    scored on their part of each session they took part in (:func:`scorecard_rows`).
    ``rule_ids`` lists the rules every agent gets a (possibly zero) count for; by default
    the rules that have findings; ``credit_ids`` likewise for the credits.
    """
    sessions = scorecard_rows(sessions, parts)
    if sessions.empty:
        return pd.DataFrame({column: pd.Series([], dtype="object") for column in AGENT_COLUMNS})
    grouped = sessions.groupby("agent", sort=True)
    agents = agent_metrics(sessions)
    agents["sessions"] = grouped.size()
    agents["score"] = grouped["score"].mean().round(1)
    agents["findings"] = grouped["findings"].sum().astype("int64")
    agents["findings_per_100_sessions"] = (agents["findings"] * 100.0 / agents["sessions"]).round(1)
    agents["vetoes"] = grouped["veto"].sum().astype("int64")

    # Findings per rule, as counts and per 100 sessions.
    columns, counts, per_100 = _counts_per_agent(sessions, "findings", "findings_by_rule", agents, rule_ids)
    agents["findings_by_rule"] = [{rule: int(count) for rule, count in zip(columns, row)} for row in counts]
    agents["per_100_sessions_by_rule"] = [{rule: float(value) for rule, value in zip(columns, row)} for row in per_100]
    agents["credits"] = _agent_credits(sessions, agents, credit_ids)
    agents = agents.reset_index()
    agents = agents.sort_values(
        ["score", "vetoes", "findings_per_100_sessions", "agent"],
        ascending=[True, False, False, True],
        kind="stable",
    ).reset_index(drop=True)
    return agents[AGENT_COLUMNS]


def _agent_credits(sessions: pd.DataFrame, agents: pd.DataFrame, credit_ids: Iterable[str] | None) -> list[dict]:
    """Per agent: ``{credit id: count, …, "per_100_sessions": {credit id: rate, …}}``."""
    columns, counts, per_100 = _counts_per_agent(sessions, "credits", "credits_by_id", agents, credit_ids)
    out = []
    for agent_counts, rates in zip(counts, per_100):
        record: dict = {credit: int(count) for credit, count in zip(columns, agent_counts)}
        record[PER_100] = {credit: float(rate) for credit, rate in zip(columns, rates)}
        out.append(record)
    return out


def _counts_per_agent(
    sessions: pd.DataFrame, total: str, by_id: str, agents: pd.DataFrame, ids: Iterable[str] | None,
) -> tuple[list[str], list[list[int]], list[list[float]]]:
    """Sum the sessions' ``{id: count}`` dicts (column ``by_id``) per agent: the ids (``ids``,
    when given, plus any counted), each agent's counts and its counts per 100 sessions, in the
    order of ``agents``' index. Only sessions with a ``total`` above 0 are expanded (few are)."""
    if by_id in sessions:
        counted = sessions[sessions[total] > 0]
        long = [
            (agent, key, count)
            for agent, counts in zip(counted["agent"].tolist(), counted[by_id].tolist())
            for key, count in counts.items()
        ]
    else:
        long = []
    if long:
        table = pd.DataFrame(long, columns=["agent", "id", "count"])
        per_id = table.pivot_table(index="agent", columns="id", values="count", aggfunc="sum", fill_value=0)
    else:
        per_id = pd.DataFrame(index=agents.index)
    columns = sorted(set(ids) | set(per_id.columns)) if ids is not None else sorted(per_id.columns)
    per_id = per_id.reindex(index=agents.index, columns=columns, fill_value=0).fillna(0).astype("int64")
    per_100 = per_id.mul(100.0).div(agents["sessions"], axis=0).round(1)
    return columns, per_id.to_numpy().tolist(), per_100.to_numpy().tolist()
