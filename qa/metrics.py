"""Service metrics from the message table (standard 004): response times, reply rate, Q/A ratio.

Everything is computed on whole columns (numpy), never session by session in Python.

Definitions (system messages are dropped first: they never answer a customer and never
stop the clock):

- A **customer run** is a maximal sequence of consecutive customer messages in a session.
  It is **replied** when the next (non-system) message of the session is an agent message;
  its **response time** is that agent message's time minus the time of the run's FIRST
  message (a customer who writes three times in a row has waited since the first).
- **First response time** of a session: the response time of its first run, when the
  customer spoke first (the first non-system message is the customer's) and got a reply.
- **Longest customer wait** of a session: the longest response time of its replied runs.
- **Reply rate**: replied runs / all customer runs. **Q/A ratio** (问答比): customer messages
  per agent message.

Per-session metrics are attributed to the session's agent (the one who sent most of its
agent messages, :func:`qa.checks.stage.session_agents`), like its score. Times are seconds; they
are blank (NaN) when the input has no timestamps (:data:`NO_TIMES_NOTE` says so).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qa.model import Role, naive_times

NO_TIMES_NOTE = {
    "zh": "输入没有时间列：首次响应时间、平均响应时长和最长等待为空。",
    "en": "The input has no times: first response time, average response time and longest wait are blank.",
}

# Columns of session_metrics (index: session_id).
SESSION_METRIC_COLUMNS = [
    "started_at",
    "file",
    "messages",
    "customer_messages",
    "agent_messages",
    "customer_runs",
    "replied_runs",
    "first_response_s",
    "avg_response_s",
    "longest_wait_s",
]

# Per-agent metric columns made by agent_metrics (besides agent, sessions).
AGENT_METRIC_COLUMNS = [
    "messages",
    "customer_messages",
    "first_response_median_s",
    "first_response_mean_s",
    "avg_response_s",
    "reply_rate",
    "qa_ratio",
]

_NS_PER_SECOND = 1_000_000_000


def metrics_note(has_timestamps: bool, lang: str = "zh") -> str | None:
    """The note shown next to the metrics when they are blank for lack of times."""
    return None if has_timestamps else NO_TIMES_NOTE.get(lang, NO_TIMES_NOTE["en"])


def _nanoseconds(timestamps: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(int64 nanoseconds since the epoch, bool mask of missing times)."""
    values = naive_times(timestamps, "UTC").to_numpy(dtype="datetime64[ns]")
    missing = np.isnat(values)
    return values.view("int64"), missing


def session_metrics(messages: pd.DataFrame, *, has_timestamps: bool | None = None) -> pd.DataFrame:
    """One row per session (index ``session_id``, sorted): :data:`SESSION_METRIC_COLUMNS`.

    ``messages`` is the canonical message table (sorted by session, then time). When
    ``has_timestamps`` is None it is true when any timestamp is present.
    """
    n_messages = len(messages)
    session_ids = messages["session_id"]
    codes, uniques = pd.factorize(session_ids, sort=True)
    n_sessions = len(uniques)
    # Runs need each session's messages contiguous and in conversation order. The table is
    # sorted by session then time; a stable sort by code keeps that order if it is not.
    if n_messages > 1 and (np.diff(codes) < 0).any():
        order = np.argsort(codes, kind="stable")
        messages = messages.iloc[order]
        codes = codes[order]

    role = messages["role"]
    is_agent = (role == Role.AGENT.value).to_numpy(dtype=bool, na_value=False)
    is_customer = (role == Role.CUSTOMER.value).to_numpy(dtype=bool, na_value=False)

    if has_timestamps is None:
        has_timestamps = bool(messages["timestamp"].notna().any()) if n_messages else False
    if has_timestamps and n_messages:
        times, missing = _nanoseconds(messages["timestamp"])
    else:
        times = np.zeros(n_messages, dtype="int64")
        missing = np.ones(n_messages, dtype=bool)

    frame = pd.DataFrame(index=pd.Index(uniques, name="session_id"))
    frame["started_at"] = _first_times(messages["timestamp"], codes, n_sessions, missing)
    # Codes now ascend, so the first row of each session follows each change of code.
    first_rows = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]) if n_messages else np.array([], "int64")
    files = messages["source_file"] if "source_file" in messages else pd.Series("", index=messages.index)
    frame["file"] = files.to_numpy(dtype=object)[first_rows]
    frame["messages"] = np.bincount(codes, minlength=n_sessions).astype("int64")
    frame["customer_messages"] = np.bincount(codes, weights=is_customer, minlength=n_sessions).astype("int64")
    frame["agent_messages"] = np.bincount(codes, weights=is_agent, minlength=n_sessions).astype("int64")

    # The conversation without system messages.
    keep = is_agent | is_customer
    session = codes[keep]
    customer = is_customer[keep]
    time_ns = times[keep]
    time_missing = missing[keep]
    count = len(session)

    same_as_previous = np.zeros(count, dtype=bool)
    same_as_previous[1:] = session[1:] == session[:-1]
    same_as_next = np.zeros(count, dtype=bool)
    same_as_next[:-1] = same_as_previous[1:]
    previous_customer = np.zeros(count, dtype=bool)
    previous_customer[1:] = customer[:-1]
    next_customer = np.zeros(count, dtype=bool)
    next_customer[:-1] = customer[1:]

    run_starts = np.flatnonzero(customer & ~(same_as_previous & previous_customer))
    run_ends = np.flatnonzero(customer & ~(same_as_next & next_customer))
    run_session = session[run_starts]
    # The message after a run's end is, when in the same session, an agent message.
    replied = same_as_next[run_ends]
    reply_at = np.minimum(run_ends + 1, max(count - 1, 0))
    timed = replied & ~time_missing[run_starts] & ~time_missing[reply_at]
    wait = np.full(len(run_starts), np.nan)
    wait[timed] = (time_ns[reply_at[timed]] - time_ns[run_starts[timed]]) / _NS_PER_SECOND
    # A session ordered by seq against its times would give a negative wait: count it as 0.
    np.maximum(wait, 0.0, out=wait, where=timed)

    frame["customer_runs"] = np.bincount(run_session, minlength=n_sessions).astype("int64")
    frame["replied_runs"] = np.bincount(run_session, weights=replied, minlength=n_sessions).astype("int64")

    first_response = np.full(n_sessions, np.nan)
    opens_session = ~same_as_previous[run_starts] & timed
    first_response[run_session[opens_session]] = wait[opens_session]
    frame["first_response_s"] = first_response

    timed_count = np.bincount(run_session[timed], minlength=n_sessions)
    wait_total = np.bincount(run_session[timed], weights=wait[timed], minlength=n_sessions)
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["avg_response_s"] = np.where(timed_count > 0, wait_total / np.maximum(timed_count, 1), np.nan)
    longest = np.full(n_sessions, -np.inf)
    np.maximum.at(longest, run_session[timed], wait[timed])
    frame["longest_wait_s"] = np.where(np.isfinite(longest), longest, np.nan)

    for column in ("first_response_s", "avg_response_s", "longest_wait_s"):
        frame[column] = frame[column].round(3)
    return frame[SESSION_METRIC_COLUMNS]


def _first_times(timestamps: pd.Series, codes: np.ndarray, n_sessions: int, missing: np.ndarray) -> pd.Series:
    """Earliest time of each session as naive local time (NaT when none)."""
    timestamps = naive_times(timestamps)
    if len(timestamps) == 0 or missing.all():
        return pd.Series(pd.NaT, index=range(n_sessions), dtype="datetime64[ns]").to_numpy()
    earliest = pd.Series(timestamps.to_numpy()).groupby(codes).min()
    return earliest.reindex(range(n_sessions)).to_numpy()


def agent_metrics(sessions: pd.DataFrame) -> pd.DataFrame:
    """Per-agent service metrics from the session table (index ``agent``, sorted).

    ``sessions`` needs ``agent`` and the columns of :func:`session_metrics`. The average
    response time is pooled over all replied runs of the agent's sessions (a session with
    many questions weighs more than a one-question chat).
    """
    grouped = sessions.groupby("agent", sort=True)
    timed_runs = sessions["replied_runs"].where(sessions["avg_response_s"].notna(), 0)
    response_total = (sessions["avg_response_s"].fillna(0.0) * timed_runs).groupby(sessions["agent"]).sum()
    timed_total = timed_runs.groupby(sessions["agent"]).sum()
    runs = grouped["customer_runs"].sum()
    replied = grouped["replied_runs"].sum()
    agent_messages = grouped["agent_messages"].sum()
    customer_messages = grouped["customer_messages"].sum()
    result = pd.DataFrame(
        {
            "messages": agent_messages.astype("int64"),
            "customer_messages": customer_messages.astype("int64"),
            "first_response_median_s": grouped["first_response_s"].median(),
            "first_response_mean_s": grouped["first_response_s"].mean(),
            "avg_response_s": response_total / timed_total.where(timed_total > 0),
            "reply_rate": replied / runs.where(runs > 0),
            "qa_ratio": customer_messages / agent_messages.where(agent_messages > 0),
        }
    )
    for column in ("first_response_median_s", "first_response_mean_s", "avg_response_s"):
        result[column] = result[column].astype("float64").round(1)
    result["reply_rate"] = result["reply_rate"].astype("float64").round(4)
    result["qa_ratio"] = result["qa_ratio"].astype("float64").round(2)
    return result
