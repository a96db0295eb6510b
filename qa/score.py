"""The score stage: per-session and per-agent scores from findings.

Each session starts at 100 and loses its findings' points (by severity); an agent's score is
the mean of their sessions' scores. Issue #4 extends this with the scoring file and metrics.
"""

from __future__ import annotations

import pandas as pd

from qa.model import Role

DEFAULT_POINTS = {"minor": 2.0, "major": 5.0, "critical": 20.0}


def score_sessions(
    messages: pd.DataFrame, findings: pd.DataFrame, agents_by_session: pd.Series
) -> pd.DataFrame:
    """One row per session: session_id, agent, messages, findings, score (sorted by session)."""
    sizes = messages.groupby("session_id", sort=True).size().rename("messages")
    sessions = sizes.to_frame()
    sessions["agent"] = agents_by_session.reindex(sessions.index).to_numpy()
    agent_messages = (
        messages[messages["role"] == Role.AGENT.value].groupby("session_id").size()
    )
    sessions["agent_messages"] = agent_messages.reindex(sessions.index, fill_value=0).astype("int64")
    if len(findings):
        points = findings["severity"].map(DEFAULT_POINTS).fillna(0.0)
        deducted = points.groupby(findings["session_id"]).sum()
        counts = findings.groupby("session_id").size()
    else:
        deducted = pd.Series(dtype="float64")
        counts = pd.Series(dtype="int64")
    sessions["findings"] = counts.reindex(sessions.index, fill_value=0).astype("int64")
    deduction = deducted.reindex(sessions.index, fill_value=0.0)
    sessions["score"] = (100.0 - deduction).clip(lower=0.0).round(1)
    return sessions.reset_index()[["session_id", "agent", "messages", "agent_messages", "findings", "score"]]


def score_agents(sessions: pd.DataFrame) -> pd.DataFrame:
    """One row per agent: sessions, messages they sent, findings, mean session score; worst first."""
    grouped = sessions.groupby("agent", sort=True)
    agents = pd.DataFrame(
        {
            "sessions": grouped.size(),
            "messages": grouped["agent_messages"].sum(),
            "findings": grouped["findings"].sum(),
            "score": grouped["score"].mean().round(1),
        }
    ).reset_index()
    return agents.sort_values(["score", "agent"], kind="stable").reset_index(drop=True)
