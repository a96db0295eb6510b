"""``qa review`` and ``qa history`` (registered on :data:`qa.cli_base.main`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from qa.cli_base import ExitCode, guarded, main
from qa.config import configured_history
from qa.errors import QAError


def _default_review_output(first: Path) -> Path:
    stem = first.stem[:-9] if first.stem.endswith("-reviewed") else first.stem
    return first.with_name(f"{stem}-reviewed.xlsx")


@main.command()
@click.argument("reports", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Rescored workbook to write (default: <first report>-reviewed.xlsx beside it).")
@click.option("--emit-suppressions", "suppress_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the false positives as a suppression file for `qa audit --suppress` (merged into an existing one).")
@click.option("--history", "history_path", type=click.Path(dir_okay=False, path_type=Path),
              help="History to update with the reviewed scores [default: qa.toml's, else the one the audit recorded in].")
@click.option("--no-history", is_flag=True, help="Do not update any history.")
@click.option("--top", default=5, show_default=True, type=click.IntRange(min=1),
              help="False-positive messages listed per rule.")
@click.option("--lang", type=click.Choice(["zh", "en"]), help="Language of the workbook [default: the reviewed workbook's].")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Config file (default: qa.toml or [tool.qa] in pyproject.toml here).")
@click.option("--force", is_flag=True, help="Overwrite the output even when it holds verdicts this review does not.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def review(reports, output, suppress_path, history_path, no_history, top, lang, config_path, force, debug) -> None:
    """Read reviewed workbooks (Review / 复核: 确认, 误报, 待定), rescore without false positives,
    report each rule's measured precision, and write the rescored workbook."""

    def action() -> int:
        from qa.config import load_config
        from qa.report.excel.review_book import write_review_workbook
        from qa.review import format_review, read_reviewed_workbook, review_workbooks

        config = load_config(config_path)
        workbooks = [read_reviewed_workbook(path) for path in reports]
        result = review_workbooks(workbooks, lang=lang or getattr(config, "lang", None))
        target = output or _default_review_output(Path(reports[0]))
        resolved = {Path(p).resolve() for p in reports}
        for path in (target, suppress_path):
            if path is not None and Path(path).resolve() in resolved:
                raise QAError(f"output {path} is one of the reviewed workbooks; choose another path")
        if not force:  # a reviewed workbook reviewed further must not lose that work
            from qa.carryover import refuse_losing_reviews

            refuse_losing_reviews(target, result.verdicts)

        from qa.outputs import check_outputs

        check_outputs([("-o", target), ("--emit-suppressions", suppress_path), ("--history", history_path)])
        trends, note = _update_history(result, history_path, no_history, config)
        write_review_workbook(result, target, lang=result.lang, trends=trends, history_note=note)

        lines = format_review(result, top=top)
        click.echo("\n".join(lines))
        if suppress_path is not None:
            _emit(result, suppress_path)
        click.echo(f"history: {note}", err=True)
        click.echo(f"wrote {target}", err=True)
        return ExitCode.OK

    sys.exit(guarded(debug, action))


def _update_history(review: Any, history_path: Path | None, no_history: bool, config: Any) -> tuple[Any, str]:
    """Store the reviewed scores; returns (trends for the workbook or None, a sentence)."""
    from qa.history import TREND_RUNS, apply_review, load_trends
    from qa.review import history_paths, history_updates

    if no_history:
        return None, "not updated (--no-history)"
    explicit = history_path or configured_history(config)
    if explicit is not None:
        targets = [Path(explicit)]
    else:
        stored = [Path(p) for p in history_paths(review)]
        targets = [p for p in stored if p.is_file()]
        if not targets:
            if stored:
                return None, f"not updated: {stored[0]} (where the audit was recorded) is not here; use --history PATH"
            return None, "not updated: the audit was not recorded in a history (qa audit --history)"
    updates = history_updates(review)
    if not updates:
        return None, "not updated: the audit was not recorded in a history (qa audit --history)"
    done, missing = [], []
    for target in targets:
        updated, not_found = apply_review(target, updates)
        done += [f"{label} in {target}" for label in updated]
        missing += not_found
    trends = load_trends(targets[0], last=TREND_RUNS)
    if done:
        note = "updated run " + ", ".join(done)
        if missing:
            note += f" ({len(missing)} reviewed audit(s) not in it)"
    else:
        note = f"not updated: {targets[0]} has no run of the reviewed audit (audited again since, with other inputs or rules?)"
    return trends, note


def _emit(review: Any, path: Path) -> None:
    from qa.review import suppression_entries
    from qa.suppress import write_suppressions

    entries, skipped = suppression_entries(review)
    added, kept = write_suppressions(path, entries)
    message = f"suppressions: {added} new in {path}"
    if kept:
        message += f" ({kept} kept from before)"
    click.echo(message, err=True)
    for rule in skipped:
        click.echo(f"suppressions: {rule} false positives left out: they depend on timing, not text "
                   "(adjust the rule or working hours instead)", err=True)


@main.command("history")
@click.option("--agent", help="Show one agent (name, or part of it): a row per run with score and metrics.")
@click.option("--last", default=10, show_default=True, type=click.IntRange(min=1), help="Runs to show.")
@click.option("--history", "history_path", type=click.Path(dir_okay=False, path_type=Path),
              help="History file [default: qa.toml's history, else reports/qa-history.sqlite].")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Config file (default: qa.toml or [tool.qa] in pyproject.toml here).")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def history(agent, last, history_path, config_path, debug) -> None:
    """Show recorded runs: each agent's score and each rule's findings per 100 sessions over
    the last runs (the workbook's Trends sheet, in the terminal)."""

    def action() -> int:
        from qa.config import load_config
        from qa.history import DEFAULT_HISTORY, format_trends, load_trends

        path = history_path or configured_history(load_config(config_path)) or DEFAULT_HISTORY
        trends = load_trends(path, last=last, agent=agent)
        click.echo("\n".join(format_trends(trends, agent_detail=agent is not None)))
        return ExitCode.OK

    sys.exit(guarded(debug, action))
