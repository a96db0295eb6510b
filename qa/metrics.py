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
agent messages, :func:`qa.checks.stage.session_agents`), like its score; in a session
transferred between agents each agent's part has its own (:func:`part_metrics`): the runs that
agent replied to. Times are seconds; they
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

    runs = _customer_runs(messages, codes, has_timestamps)
    frame = pd.DataFrame(index=pd.Index(uniques, name="session_id"))
    frame["started_at"] = _first_times(messages["timestamp"], codes, n_sessions, runs.missing)
    # Codes now ascend, so the first row of each session follows each change of code.
    first_rows = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]) if n_messages else np.array([], "int64")
    files = messages["source_file"] if "source_file" in messages else pd.Series("", index=messages.index)
    frame["file"] = files.to_numpy(dtype=object)[first_rows]
    frame["messages"] = np.bincount(codes, minlength=n_sessions).astype("int64")
    frame["customer_messages"] = np.bincount(codes, weights=runs.is_customer, minlength=n_sessions).astype("int64")
    frame["agent_messages"] = np.bincount(codes, weights=runs.is_agent, minlength=n_sessions).astype("int64")
    for column, values in _run_stats(runs, runs.run_session, n_sessions).items():
        frame[column] = values
    return frame[SESSION_METRIC_COLUMNS]


# Columns of part_metrics, in the order of SESSION_METRIC_COLUMNS (without started_at and file).
PART_METRIC_COLUMNS = [
    "messages", "customer_messages", "agent_messages", "customer_runs", "replied_runs", "first_response_s",
    "avg_response_s", "longest_wait_s",
]


def part_metrics(messages: pd.DataFrame, part_of_agent_message: np.ndarray, default_part: np.ndarray,
                 n_parts: int, *, has_timestamps: bool | None = None) -> pd.DataFrame:
    """Per part of a session (one agent's share of a transferred chat, :func:`qa.score.score_parts`):
    :data:`PART_METRIC_COLUMNS`, index ``0..n_parts-1``.

    ``messages`` holds whole sessions in the canonical order (sorted by session, then time; no
    reordering here). ``part_of_agent_message``: the part of each agent message (-1 for other
    messages); ``default_part``: per session in order of appearance, the part that gets what no
    agent sent (its responsible agent's). A customer run belongs to the part of the agent message
    that replied to it; the unreplied run a session may end with, like a finding on a customer
    message, to ``default_part``. A part's customer messages are those of its runs; its messages,
    its agent and customer messages.
    """
    n_messages = len(messages)
    codes = np.r_[0, np.cumsum(messages["session_id"].to_numpy(dtype=object)[1:]
                               != messages["session_id"].to_numpy(dtype=object)[:-1])] if n_messages else np.zeros(0, np.int64)
    codes = codes.astype(np.int64)
    runs = _customer_runs(messages, codes, has_timestamps)
    kept_part = np.asarray(part_of_agent_message, dtype=np.int64)[runs.kept]
    agent_at = np.flatnonzero(kept_part >= 0)
    run_part = np.where(runs.replied, kept_part[runs.reply_at], np.asarray(default_part, dtype=np.int64)[runs.run_session])
    frame = pd.DataFrame(index=pd.RangeIndex(n_parts))
    customer_at = np.flatnonzero(runs.customer)
    run_of_customer = np.searchsorted(runs.run_starts, customer_at, side="right") - 1
    customer_messages = np.bincount(run_part[run_of_customer], minlength=n_parts).astype("int64")
    agent_messages = np.bincount(kept_part[agent_at], minlength=n_parts).astype("int64")
    frame["messages"] = customer_messages + agent_messages
    frame["customer_messages"] = customer_messages
    frame["agent_messages"] = agent_messages
    for column, values in _run_stats(runs, run_part, n_parts).items():
        frame[column] = values
    return frame[PART_METRIC_COLUMNS]


class _Runs:
    """The customer runs of a sorted table of whole sessions (see the module's definitions)."""

    def __init__(self, **values: np.ndarray) -> None:
        self.__dict__.update(values)


def _customer_runs(messages: pd.DataFrame, codes: np.ndarray, has_timestamps: bool | None) -> _Runs:
    """The runs of ``messages`` (each session contiguous, in conversation order; ``codes``: the
    session of each row as ascending integers). Positions of runs and replies index the
    conversation without system messages (``kept``: its rows in ``messages``)."""
    n_messages = len(messages)
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
    # The message after a run's end is, when in the same session, an agent message.
    replied = same_as_next[run_ends]
    reply_at = np.minimum(run_ends + 1, max(count - 1, 0))
    timed = replied & ~time_missing[run_starts] & ~time_missing[reply_at]
    wait = np.full(len(run_starts), np.nan)
    wait[timed] = (time_ns[reply_at[timed]] - time_ns[run_starts[timed]]) / _NS_PER_SECOND
    # A session ordered by seq against its times would give a negative wait: count it as 0.
    np.maximum(wait, 0.0, out=wait, where=timed)
    return _Runs(
        is_agent=is_agent, is_customer=is_customer, missing=missing, kept=np.flatnonzero(keep), session=session,
        customer=customer, run_starts=run_starts, run_session=session[run_starts], replied=replied,
        reply_at=reply_at, timed=timed, wait=wait, opens_session=~same_as_previous[run_starts] & timed,
    )


def _run_stats(runs: _Runs, group: np.ndarray, n_groups: int) -> dict[str, np.ndarray]:
    """Per group (``group``: each run's, 0..n_groups-1): runs, replied runs, the first response
    (of a run opening its session), the mean and the longest wait of the timed runs."""
    timed, wait = runs.timed, runs.wait
    first_response = np.full(n_groups, np.nan)
    opens = runs.opens_session
    first_response[group[opens]] = wait[opens]
    timed_count = np.bincount(group[timed], minlength=n_groups)
    wait_total = np.bincount(group[timed], weights=wait[timed], minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        average = np.where(timed_count > 0, wait_total / np.maximum(timed_count, 1), np.nan)
    longest = np.full(n_groups, -np.inf)
    np.maximum.at(longest, group[timed], wait[timed])
    return {
        "customer_runs": np.bincount(group, minlength=n_groups).astype("int64"),
        "replied_runs": np.bincount(group, weights=runs.replied, minlength=n_groups).astype("int64"),
        "first_response_s": first_response.round(3),
        "avg_response_s": average.round(3),
        "longest_wait_s": np.where(np.isfinite(longest), longest, np.nan).round(3),
    }


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
