"""Command line: ``qa audit INPUT...`` and friends.

Exit codes: 0 the audit completed and no finding is at or above ``--fail-on``; 1 some finding
is; 2 usage, input, rule or output error (one line on stderr, no traceback unless --debug).
"""

from __future__ import annotations

import sys
import time
import traceback
from contextlib import contextmanager
from enum import IntEnum
from pathlib import Path

import click

from qa import __version__
from qa.errors import QAError
from qa.model import AuditResult, Severity

FAIL_ON_CHOICES = ["never", "minor", "major", "critical"]


class ExitCode(IntEnum):
    """Process exit codes, a contract for CI pipelines."""

    OK = 0
    FINDINGS = 1
    ERROR = 2


def _parse_columns(pairs: tuple[str, ...]) -> dict[str, str]:
    columns: dict[str, str] = {}
    for pair in pairs:
        field, sep, source = pair.partition("=")
        if not sep or not field.strip() or not source.strip():
            raise click.BadParameter(f"'{pair}' is not FIELD=SOURCE (e.g. text=消息内容)", param_hint="--column")
        columns[field.strip()] = source.strip()
    return columns


def _default_output(inputs: tuple[str, ...]) -> Path:
    first = Path(inputs[0].rstrip("/\\"))
    stem = first.stem if first.suffix else first.name
    stem = stem.replace("*", "").replace("?", "") or "audit"
    return Path("reports") / f"{stem}-qa.xlsx"


def _refuse_overwriting_inputs(outputs: list[Path], input_files: list[str]) -> None:
    resolved_inputs = {Path(p).resolve() for p in input_files}
    for output in outputs:
        if output.resolve() in resolved_inputs:
            raise QAError(f"output {output} is one of the inputs; choose another path with -o/--json")


def _print_summary(result: AuditResult, written: list[Path], stream) -> None:
    ingest = result.ingest
    lines = [
        f"audited {len(ingest.messages)} of {ingest.input_rows} rows "
        f"({len(ingest.rejected)} rejected) in {len(result.sessions)} sessions, {len(result.agents)} agents",
    ]
    if len(result.findings):
        counts = result.findings["rule"].value_counts().sort_index()
        lines.append(f"findings: {len(result.findings)} (" + ", ".join(f"{r} {n}" for r, n in counts.items()) + ")")
    else:
        lines.append("findings: 0")
    for skipped in result.skipped_rules:
        lines.append(f"skipped rule {skipped.rule}: {skipped.reason}")
    for note in ingest.notes:
        lines.append(f"note: {note}")
    if len(result.agents):
        lowest = result.agents.head(5)
        lines.append(
            "lowest scores: " + ", ".join(f"{a.agent} {a.score:.1f}" for a in lowest.itertuples(index=False))
        )
    for path in written:
        lines.append(f"wrote {path}")
    click.echo("\n".join(lines), file=stream)


def _failing_findings(result: AuditResult, fail_on: str):
    if fail_on == "never" or result.findings.empty:
        return result.findings.iloc[0:0]
    threshold = Severity(fail_on).rank
    ranks = result.findings["severity"].map(lambda s: Severity(s).rank)
    return result.findings[ranks >= threshold]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="qa")
def main() -> None:
    """qa: batch quality inspection (客服质检) of customer-service chat logs."""


@main.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Workbook to write (default reports/<first input>-qa.xlsx).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the machine-readable result (JSON) here.")
@click.option("--findings-csv", "findings_csv", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write every finding as CSV (UTF-8 with BOM) here.")
@click.option("--rules", "rule_paths", multiple=True, type=click.Path(path_type=Path),
              help="Extra rule file or folder, applied over the built-in rules (repeatable).")
@click.option("--column", "column_pairs", multiple=True, metavar="FIELD=SOURCE",
              help="Map a field (session_id, text, role, timestamp, seq, agent, sender) to a column.")
@click.option("--encoding", help="Input encoding (default: detected).")
@click.option("--sheet", help="Excel sheet to read (default: the first with the required columns).")
@click.option("--timezone", default="Asia/Shanghai", show_default=True, help="Timezone of times without offset, and of reports.")
@click.option("--agent-pattern", help="Regex: sender nicknames matching it are agents.")
@click.option("--fail-on", type=click.Choice(FAIL_ON_CHOICES), default="never", show_default=True,
              help="Exit 1 when a finding is at or above this severity.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="Language of reasons, sheet names and headers.")
@click.option("--no-mask", is_flag=True, help="Do not mask phone numbers, ID numbers and e-mails in outputs.")
@click.option("--timings", is_flag=True, help="Print the seconds each stage took (read, normalize, each rule, score, each output).")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def audit(inputs, output, json_path, findings_csv, rule_paths, column_pairs, encoding, sheet, timezone,
          agent_pattern, fail_on, lang, no_mask, timings, debug) -> None:
    """Audit chat-log exports (CSV, TSV, XLSX; files, folders or globs) against the rules."""
    try:
        code = _run_audit(inputs, output, json_path, findings_csv, rule_paths, column_pairs, encoding,
                          sheet, timezone, agent_pattern, fail_on, lang, not no_mask, timings)
    except (QAError, click.BadParameter) as error:
        if debug:
            traceback.print_exc()
        message = error.format_message() if isinstance(error, click.ClickException) else str(error)
        click.echo(f"qa: error: {message}", err=True)
        sys.exit(ExitCode.ERROR)
    except KeyboardInterrupt:
        click.echo("qa: interrupted", err=True)
        sys.exit(ExitCode.ERROR)
    except Exception as error:  # an internal error still gets one line, and a hint
        if debug:
            traceback.print_exc()
        click.echo(f"qa: internal error: {type(error).__name__}: {error} (run with --debug for details)", err=True)
        sys.exit(ExitCode.ERROR)
    sys.exit(code)


def _run_audit(inputs, output, json_path, findings_csv, rule_paths, column_pairs, encoding, sheet,
               timezone, agent_pattern, fail_on, lang, mask, show_timings=False) -> int:
    from qa.pipeline import AuditOptions, audit as run_audit
    from qa.report.excel import write_workbook
    from qa.report.json_report import write_json

    _check_timezone(timezone)
    options = AuditOptions(
        columns=_parse_columns(column_pairs),
        encoding=encoding,
        sheet=sheet,
        timezone=timezone,
        agent_pattern=agent_pattern,
        rule_paths=list(rule_paths),
        lang=lang,
    )
    timings: dict[str, float] = {}
    result = run_audit(list(inputs), options, timings=timings)
    output = output or _default_output(inputs)
    outputs = [output] + [p for p in (json_path, findings_csv) if p]
    _refuse_overwriting_inputs(outputs, result.ingest.files)

    with _timed(timings, "write workbook"):
        write_workbook(result, output, lang=lang, mask=mask)
    written = [output]
    if json_path:
        with _timed(timings, "write json"):
            write_json(result, json_path)
        written.append(json_path)
    if findings_csv:
        from qa.report.findings_csv import write_findings_csv

        with _timed(timings, "write findings csv"):
            write_findings_csv(result, findings_csv, lang=lang, mask=mask)
        written.append(findings_csv)
    _print_summary(result, written, sys.stderr)
    if show_timings:
        for stage, seconds in timings.items():
            click.echo(f"timing: {stage}: {seconds:.3f} s", err=True)

    failing = _failing_findings(result, fail_on)
    if len(failing):
        for finding in failing.itertuples(index=False):
            click.echo(f"{finding.file}:{finding.row} {finding.rule} {finding.severity} {finding.reason}")
        return ExitCode.FINDINGS
    return ExitCode.OK


@contextmanager
def _timed(timings: dict[str, float], stage: str):
    started = time.perf_counter()
    yield
    timings[stage] = time.perf_counter() - started


def _check_timezone(name: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise QAError(f"unknown timezone '{name}'; use an IANA name such as Asia/Shanghai") from None
