"""Scoring: points per severity, per-rule overrides, veto, floor, agent aggregates, scoring.toml."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from test_metrics import table

from qa.checks.stage import session_agents
from qa.errors import RuleError
from qa.rules import builtin_rules_dir
from qa.score import (
    AGENT_COLUMNS,
    SESSION_COLUMNS,
    Scoring,
    default_scoring,
    load_scoring,
    parse_scoring,
    score_agents,
    score_sessions,
)

# Four sessions: A handles S1..S3, B handles S4.
ROWS = [
    ("S1", "10:00:00", "customer", "", "在吗"),
    ("S1", "10:00:10", "agent", "A", "在的"),
    ("S2", "10:10:00", "customer", "", "在吗"),
    ("S2", "10:10:10", "agent", "A", "在的"),
    ("S3", "10:20:00", "customer", "", "在吗"),
    ("S3", "10:20:10", "agent", "A", "在的"),
    ("S4", "10:30:00", "customer", "", "在吗"),
    ("S4", "10:30:10", "agent", "B", "在的"),
]


def findings(*items):
    """items: (session, rule, severity)."""
    return pd.DataFrame(items, columns=["session_id", "rule", "severity"])


def scored(found, scoring=None):
    messages = table(ROWS)
    sessions = score_sessions(messages, found, session_agents(messages), scoring=scoring)
    return sessions.set_index("session_id"), sessions


def scoring_from(text: str, tmp_path: Path) -> Scoring:
    path = tmp_path / "scoring.toml"
    path.write_text(text, encoding="utf-8")
    return load_scoring(path)


PLAIN = Scoring(points={"minor": 2.0, "major": 5.0, "critical": 20.0})


def test_points_per_severity_and_counts():
    by_id, sessions = scored(
        findings(("S1", "forbidden-phrase", "major"), ("S1", "repeated-soothing", "minor"), ("S2", "x", "critical")),
        PLAIN,
    )
    assert list(sessions.columns) == SESSION_COLUMNS
    assert by_id.loc["S1", "score"] == 93.0  # 100 - 5 - 2
    assert by_id.loc["S1", "points_deducted"] == 7.0
    assert by_id.loc["S1", "findings"] == 2
    assert by_id.loc["S1", "findings_by_rule"] == {"forbidden-phrase": 1, "repeated-soothing": 1}
    assert by_id.loc["S2", "score"] == 80.0
    assert by_id.loc["S3", "score"] == 100.0 and by_id.loc["S3", "findings_by_rule"] == {}
    assert not by_id["veto"].any()


def test_floor_at_zero():
    by_id, _ = scored(findings(*[("S1", "x", "critical")] * 6), PLAIN)
    assert by_id.loc["S1", "score"] == 0.0
    assert by_id.loc["S1", "points_deducted"] == 120.0


def test_per_rule_points_override(tmp_path):
    scoring = scoring_from(
        "[points]\nminor = 1\n\n[rules.a]\npoints = 8\n\n[rules.b]\npoints = { major = 3 }\n", tmp_path
    )
    assert scoring.points_for("a", "minor") == 8.0
    assert scoring.points_for("b", "major") == 3.0
    assert scoring.points_for("b", "critical") == 20.0  # default kept
    assert scoring.points_for("c", "minor") == 1.0
    by_id, _ = scored(findings(("S1", "a", "minor"), ("S1", "b", "major"), ("S1", "c", "minor")), scoring)
    assert by_id.loc["S1", "score"] == 88.0  # 100 - 8 - 3 - 1


def test_veto_sets_session_to_zero(tmp_path):
    scoring = scoring_from('[rules.a]\nveto = true\n\n[rules.b]\nveto = "critical"\n', tmp_path)
    by_id, _ = scored(
        findings(("S1", "a", "minor"), ("S2", "b", "major"), ("S3", "b", "critical")),
        scoring,
    )
    assert (by_id.loc["S1", "score"], by_id.loc["S1", "veto"]) == (0.0, True)
    assert (by_id.loc["S2", "score"], by_id.loc["S2", "veto"]) == (95.0, False)
    assert (by_id.loc["S3", "score"], by_id.loc["S3", "veto"]) == (0.0, True)


def test_agent_score_is_mean_of_sessions_with_per_100(tmp_path):
    scoring = scoring_from('[rules.abuse]\nveto = true\n', tmp_path)
    _, sessions = scored(findings(("S1", "f", "major"), ("S1", "f", "major"), ("S2", "abuse", "critical")), scoring)
    agents = score_agents(sessions, rule_ids=["f", "abuse", "never"])
    assert list(agents.columns) == AGENT_COLUMNS
    assert list(agents["agent"]) == ["A", "B"]  # worst first
    a = agents.iloc[0]
    assert a.score == pytest.approx((90 + 0 + 100) / 3, abs=0.05)
    assert (a.sessions, a.messages, a.findings, a.vetoes) == (3, 3, 3, 1)
    assert a.findings_per_100_sessions == 100.0
    assert a.findings_by_rule == {"abuse": 1, "f": 2, "never": 0}
    assert a.per_100_sessions_by_rule == {"abuse": 33.3, "f": 66.7, "never": 0.0}
    b = agents.iloc[1]
    assert (b.score, b.findings, b.vetoes, b.findings_by_rule) == (100.0, 0, 0, {"abuse": 0, "f": 0, "never": 0})


def test_no_findings_and_no_sessions():
    _, sessions = scored(findings(), PLAIN)
    assert (sessions["score"] == 100.0).all()
    agents = score_agents(sessions)
    assert list(agents["score"]) == [100.0, 100.0]
    empty = score_agents(sessions.iloc[0:0])
    assert list(empty.columns) == AGENT_COLUMNS and len(empty) == 0


def test_finding_severity_not_rule_severity_sets_points():
    """forbidden-phrase is major, but its abuse category is critical: the finding says which."""
    by_id, _ = scored(findings(("S1", "forbidden-phrase", "critical")), PLAIN)
    assert by_id.loc["S1", "score"] == 80.0


def test_builtin_scoring_file():
    path = builtin_rules_dir() / "scoring.toml"
    assert path.is_file()
    scoring = default_scoring()
    assert scoring.points == {"minor": 2.0, "major": 5.0, "critical": 20.0}
    assert scoring.path == path
    # Abuse (the critical category of forbidden-phrase) is 一票否决; its major phrases are not.
    assert scoring.vetoes("forbidden-phrase", "critical")
    assert not scoring.vetoes("forbidden-phrase", "major")


@pytest.mark.parametrize(
    "text, line, words",
    [
        ("bonus = 1\n\n[points]\nminor = 2\n", 1, "unknown key 'bonus'"),
        ("[points]\nminor = 2\n\n[weights]\nx = 1\n", 4, "unknown key 'weights'"),
        ("[points]\nminor = 2\n\nbonus = 1\n", 4, "unknown key 'points.bonus'"),
        ("[points]\nminor = 2\nsevere = 3\n", 3, "points.severe"),
        ("[points]\nmajor = -1\n", 2, "points.major"),
        ('[points]\nmajor = "5"\n', 2, "points.major"),
        ("[rules.a]\npoints = 3\nweight = 2\n", 3, "rules.a.weight"),
        ('[rules.a]\nveto = "yes"\n', 2, "rules.a.veto"),
        ("[rules.a]\npoints = { fatal = 3 }\n", 2, "rules.a.points.fatal"),
    ],
)
def test_strict_validation_names_file_line_and_key(tmp_path, text, line, words):
    path = tmp_path / "scoring.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RuleError) as error:
        load_scoring(path)
    message = str(error.value)
    assert message.startswith(f"{path}:{line}:"), message
    assert words in message


def test_invalid_toml_and_missing_file(tmp_path):
    with pytest.raises(RuleError, match="not valid TOML"):
        parse_scoring("[points\n", tmp_path / "s.toml")
    with pytest.raises(RuleError, match="not found"):
        load_scoring(tmp_path / "missing.toml")


def test_unknown_rule_id_refused_when_rules_known(tmp_path):
    path = tmp_path / "scoring.toml"
    path.write_text("[points]\nminor = 2\n\n[rules.forbiden-phrase]\nveto = true\n", encoding="utf-8")
    load_scoring(path)  # rule ids unknown: accepted
    with pytest.raises(RuleError) as error:
        load_scoring(path, rule_ids=["forbidden-phrase"])
    assert str(error.value).startswith(f"{path}:4:")
    assert "forbiden-phrase" in str(error.value)
