"""Command line: ``qa audit INPUT...`` and friends.

Exit codes: 0 the audit completed and no finding is at or above ``--fail-on``; 1 some finding
is; 2 usage, input, rule or output error (one line on stderr, no traceback unless --debug).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from qa.cli_base import ExitCode, guarded, main
from qa.errors import QAError

if TYPE_CHECKING:  # qa.model imports pandas; `qa --help` must start without it
    from qa.model import AuditResult

FAIL_ON_CHOICES = ["never", "minor", "major", "critical"]


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


def _print_summary(result: AuditResult, written: list[Path], stream, mask: bool = True) -> None:
    from qa.mask import result_masker
    from qa.model import UNKNOWN_AGENT

    masker = result_masker(result, mask)  # CI logs are an output channel too
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
    lines.extend(_rejection_lines(ingest.rejected))
    for skipped in result.skipped_rules:
        lines.append(f"skipped rule {skipped.rule}: {skipped.reason}")
    for note in ingest.notes:
        note = masker.text(note)
        lines.append(note if note.startswith("warning: ") else f"note: {note}")
    if len(result.agents):
        named = result.agents[result.agents["agent"] != UNKNOWN_AGENT]
        lowest = (named if len(named) else result.agents).head(5)
        lines.append(
            "lowest scores: " + ", ".join(f"{masker.agent(a.agent)} {a.score:.1f}" for a in lowest.itertuples(index=False))
        )
    for path in written:
        lines.append(f"wrote {path}")
    click.echo("\n".join(lines), file=stream)


def _rejection_kind(reason: str) -> str:
    """A reason without the value it quotes: "unparseable time '昨天'" counts with the others, and
    so does a duplicate of another row ("… as row 13" is "… as row N")."""
    return _ROW_NUMBER.sub("N", reason.split(" '", 1)[0])


_ROW_NUMBER = re.compile(r"(?<=\brow )\d+")


def _rejection_lines(rejected, top: int = 3) -> list[str]:
    """The most common rejection reasons, with counts and the first row of each (masked: the
    terminal is a channel too)."""
    from qa.mask import mask_text

    if not len(rejected):
        return []
    kinds = rejected["reason"].astype("str").map(_rejection_kind)
    lines = []
    for kind, count in kinds.value_counts().head(top).items():
        first = rejected[kinds == kind].iloc[0]
        lines.append(f"rejected: {count} × {kind} — example: row {first['row']} of {mask_text(str(first['file']))}: "
                     f"{mask_text(str(first['raw']))}")
    return lines


def _failing_findings(result: AuditResult, fail_on: str):
    from qa.model import Severity

    if fail_on == "never" or result.findings.empty:
        return result.findings.iloc[0:0]
    threshold = Severity(fail_on).rank
    ranks = result.findings["severity"].map(lambda s: Severity(s).rank)
    return result.findings[ranks >= threshold]


def _keep_limit(ctx: click.Context, param: click.Parameter, value):
    ctx.meta[f"qa.{param.name}"] = value
    return value


def _excel_limits(config):
    """--max-sheet-cells / --max-xlsx-part-mb over qa.toml over the defaults."""
    from qa.xlsxlimits import ExcelLimits

    meta = click.get_current_context().meta
    defaults = ExcelLimits()
    return ExcelLimits(
        max_sheet_cells=meta.get("qa.max_sheet_cells") or config.max_sheet_cells or defaults.max_sheet_cells,
        max_part_mb=meta.get("qa.max_xlsx_part_mb") or config.max_xlsx_part_mb or defaults.max_part_mb,
    )


def _input_options(function):
    """Options shared by every command that reads chat logs."""
    options = [
        click.option("--rules", "rule_paths", multiple=True, type=click.Path(path_type=Path),
                     help="Rule pack (file or folder) applied over the built-in rules (repeatable)."),
        click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
                     help="Config file (default: qa.toml or [tool.qa] in pyproject.toml here)."),
        click.option("--column", "column_pairs", multiple=True, metavar="FIELD=SOURCE",
                     help="Map a field (session_id, text, role, timestamp, seq, agent, sender) to a column."),
        click.option("--encoding", help="Input encoding (default: detected)."),
        click.option("--sheet", help="Excel sheet to read (default: every sheet with the required columns)."),
        click.option("--timezone", help="Timezone of times without offset, and of reports [default: Asia/Shanghai]."),
        click.option("--agent-pattern", help="Regex: sender nicknames matching it are agents."),
        click.option("--lang", type=click.Choice(["zh", "en"]), help="Language of reasons, sheets and headers [default: zh]."),
        # Kept out of the commands' signatures (expose_value=False): _settings reads them back.
        click.option("--max-sheet-cells", type=click.IntRange(min=1), expose_value=False, callback=_keep_limit,
                     help="Excel input: refuse a sheet whose values span more cells (rows x columns from A1) "
                          "[default: 20,000,000]."),
        click.option("--header-row", type=click.IntRange(min=1), expose_value=False, callback=_keep_limit,
                     help="Row of the column names, as the file shows it (1 = first line), in every input "
                          "[default: found in the first 30 rows]."),
        click.option("--max-xlsx-part-mb", type=click.IntRange(min=1), expose_value=False, callback=_keep_limit,
                     help="Excel input: refuse shared strings or a sheet that inflate to more MB [default: 512]."),
        click.option("--debug", is_flag=True, help="Show tracebacks."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _settings(config_path, rule_paths, column_pairs, encoding, sheet, timezone, agent_pattern, lang, config=None):
    """Resolve options: command line over the config file over defaults. Returns
    (config, AuditOptions, rules). ``config``: the config file already read from ``config_path``."""
    from qa.audit.run import AuditOptions, scoring_file
    from qa.config import load_config
    from qa.rules import load_rules, with_working_hours
    from qa.score import load_scoring

    config = config if config is not None else load_config(config_path)
    timezone = timezone or config.timezone or "Asia/Shanghai"
    _check_timezone(timezone)
    packs = list(config.rules) + list(rule_paths)
    options = AuditOptions(
        columns={**config.columns, **_parse_columns(column_pairs)},
        encoding=encoding or config.encoding,
        sheet=sheet or config.sheet,
        timezone=timezone,
        agent_pattern=agent_pattern or config.agent_pattern,
        rule_paths=packs,
        lang=lang or config.lang or "zh",
        excel_limits=_excel_limits(config),
        header_row=click.get_current_context().meta.get("qa.header_row"),
    )
    rules = load_rules(packs)
    if config.working_hours is not None:
        rules = with_working_hours(rules, config.working_hours)
    from qa.credits import load_credits

    load_scoring(scoring_file(packs), rule_ids=[rule.id for rule in rules],  # fail early, with file:line
                 credit_ids=[credit.id for credit in load_credits(packs)])
    return config, options, rules


def _describe_setup(config, options) -> None:
    if config.path is not None:
        click.echo(f"config: {config.path}", err=True)
    for pack in options.rule_paths:
        click.echo(f"rule pack: {pack}", err=True)


def _dash_is_stdout(_context, _parameter, value):
    """``-`` names standard output (written through, as any stream: qa.report.files); the summary goes to stderr."""
    if value is not None and str(value) == "-":
        if not os.path.exists("/dev/stdout"):
            raise click.BadParameter("'-' (standard output) needs /dev/stdout; give a file path")
        return Path("/dev/stdout")
    return value


@main.command()
@click.argument("inputs", nargs=-1)
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="Workbook to write (default reports/<first input>-qa.xlsx).")
@click.option("--json", "json_path", type=click.Path(path_type=Path), callback=_dash_is_stdout,
              help="Also write the machine-readable result (JSON) here ('-': standard output).")
@click.option("--findings-csv", "findings_csv", type=click.Path(path_type=Path),
              callback=_dash_is_stdout, help="Also write every finding as CSV (UTF-8 with BOM) here ('-': standard output).")
@click.option("--fail-on", type=click.Choice(FAIL_ON_CHOICES),
              help="Exit 1 when a finding is at or above this severity [default: never].")
@click.option("--mask/--no-mask", default=None,
              help="Mask phone numbers, ID numbers and e-mails in outputs [default: mask].")
@click.option("--timings", is_flag=True, help="Print the seconds each stage took (read, normalize, each rule, score, each output).")
@click.option("--suppress", "suppress_paths", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Suppression file from `qa review --emit-suppressions` (repeatable): matching findings are listed as suppressed, not scored.")
@click.option("--history", "history_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Record this run in a history database (e.g. reports/qa-history.sqlite) and add a Trends sheet.")
@click.option("--no-history", is_flag=True, help="Do not record this run, even if qa.toml sets history.")
@click.option("--out-of-core/--in-memory", "out_of_core", default=None,
              help="Audit in session partitions spilled to disk, in bounded memory "
                   "[default: automatic above 160 MiB of input].")
@click.option("--partitions", type=click.IntRange(min=1),
              help="Partitions for --out-of-core [default: one per 32 MB of input, rounded up to a multiple of --jobs].")
@click.option("--jobs", type=click.IntRange(min=1),
              help="Worker processes auditing sessions side by side, in memory (from 20,000 messages) "
                   "or out of core [default: one per core]; results are identical for any number.")
@click.option("--work-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the out-of-core or engine spill [default: the system's temporary folder].")
@click.option("--engine", type=click.Choice(["pandas", "dask", "spark"]), default="pandas", show_default=True,
              help="Where the audit runs: in this process (pandas), or on Dask or Spark (extras qa[dask], qa[spark]).")
@click.option("--spark-master", help="Spark master URL (e.g. local[4], yarn, spark://host:7077).")
@click.option("--spark-conf", "spark_conf", multiple=True, metavar="KEY=VALUE", help="Spark configuration (repeatable).")
@click.option("--dask-scheduler", help="Address of a Dask scheduler (default: a local cluster).")
@click.option("--table", help="Read a Spark catalog table instead of INPUT files (--engine spark).")
@click.option("--findings-parquet", type=click.Path(path_type=Path),
              help="Also write every finding as a Parquet dataset here (any engine).")
@click.option("--force", is_flag=True,
              help="Write a fresh workbook over one holding trainers' verdicts (复核) instead of carrying them over.")
@_input_options
def audit(inputs, output, json_path, findings_csv, fail_on, mask, timings, suppress_paths, history_path, no_history,
          out_of_core, partitions, jobs, work_dir, engine, spark_master, spark_conf, dask_scheduler, table, findings_parquet,
          force, rule_paths, config_path, column_pairs, encoding, sheet, timezone, agent_pattern, lang, debug) -> None:
    """Audit chat-log exports (CSV, TSV, XLSX; files, folders or globs) against the rules."""

    def action() -> int:
        from qa.engines import EngineOptions, parse_conf

        engine_options = EngineOptions(
            engine=engine, spark_master=spark_master, spark_conf=parse_conf(spark_conf),
            dask_scheduler=dask_scheduler, table=table, findings_parquet=findings_parquet,
            partitions=partitions, work_dir=work_dir,
        )
        engine_options.check()
        if not inputs and not table:
            raise QAError("give INPUT files or folders to audit (or --table NAME with --engine spark)")
        if engine != "pandas" and out_of_core is not None:
            raise QAError(f"--out-of-core/--in-memory choose the pandas engine's path; --engine {engine} "
                          "always works in partitions")
        if engine != "pandas" and jobs is not None:
            raise QAError(f"--jobs sets the pandas engine's worker processes; --engine {engine} "
                          "has its own (its cluster's workers)")
        # Slips in the arguments are told before the rules and the pipeline (pandas) load.
        from qa.config import configured_history, load_config

        config = load_config(config_path)
        _check_outputs_given(inputs, output or _default_output(inputs or [table]), json_path, findings_csv,
                             findings_parquet, None if no_history else (history_path or configured_history(config)))
        _check_workbook_path(output)
        config, options, rules = _settings(config_path, rule_paths, column_pairs, encoding, sheet,
                                           timezone, agent_pattern, lang, config=config)
        options.suppressions, history = _audit_setup(config, rules, suppress_paths, history_path, no_history)
        _check_audit_outputs(inputs, output or _default_output(inputs or [table]), json_path, findings_csv,
                             findings_parquet, history)
        _check_sheet(inputs, sheet)
        _describe_setup(config, options)
        return _run_audit(
            inputs, options, rules, output, json_path, findings_csv,
            fail_on or config.fail_on or "never",
            mask if mask is not None else (config.mask if config.mask is not None else True),
            timings,
            history=history,
            scale=_Scale(out_of_core, partitions, work_dir, jobs),
            config_path=config.path,
            engine_options=engine_options,
            force=force,
        )

    sys.exit(guarded(debug, action))


def _check_audit_outputs(inputs, output, json_path, findings_csv, findings_parquet, history) -> None:
    """Before auditing: no two outputs on one file, none of them an input (the input folders
    and globs expanded)."""
    from qa.ingest import expand_inputs

    try:
        files = expand_inputs(inputs) if inputs else []
    except QAError:  # the audit reports a missing input in its own words
        files = [p for p in inputs if Path(p).is_file()]
    _check_outputs_given(files, output, json_path, findings_csv, findings_parquet, history)


def _check_outputs_given(files, output, json_path, findings_csv, findings_parquet, history) -> None:
    """No two outputs on one file, none of them one of ``files`` (the input files named on the
    command line, before the pipeline loads; every input file, after)."""
    from qa.outputs import check_outputs

    check_outputs([("-o", output), ("--json", json_path), ("--findings-csv", findings_csv),
                   ("--findings-parquet", findings_parquet), ("--history", history)],
                  [p for p in files if Path(p).is_file()])


_WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")


def _check_workbook_path(output) -> None:
    """A common slip, in one line: a workbook path that is not .xlsx (xlsxwriter would write an
    Excel file under a name no program opens as one). Reads only the argument: it runs before
    the rules and the pipeline (pandas) are loaded."""
    if output is None or Path(output).suffix.lower() == ".xlsx":
        return
    raise QAError(f"-o {output}: the report is an Excel workbook, give a path ending in .xlsx "
                  "(--json and --findings-csv write the other formats)")


def _check_sheet(inputs, sheet) -> None:
    """Another common slip: --sheet for inputs that have no sheets."""
    if sheet and inputs:
        from qa.ingest import expand_inputs

        try:
            files = expand_inputs(inputs)
        except QAError:
            return  # the audit reports a missing input in its own words
        if files and not any(str(f).lower().endswith(_WORKBOOK_SUFFIXES) for f in files):
            raise QAError(f"--sheet {sheet}: no input is a workbook ({Path(files[0]).name} is a text file, "
                          "which has no sheets); leave out --sheet")


@dataclass(frozen=True)
class _Scale:
    """How to run the audit: in memory, or out of core in session partitions."""

    out_of_core: bool | None = None  # None: decide from the input size
    partitions: int | None = None
    work_dir: Path | None = None
    jobs: int | None = None  # worker processes for the partitions; None: one per core


def _audit_any_size(inputs, options, rules, scale: _Scale, timings: dict[str, float]):
    """In memory for ordinary inputs; out of core (bounded memory) when asked or when the
    inputs are larger than the automatic threshold. Both give identical results."""
    from qa.audit.run import AUTO_THRESHOLD_BYTES, input_bytes
    from qa.audit.run import audit as run_audit

    out_of_core = scale.out_of_core
    if out_of_core is None:
        out_of_core = scale.partitions is not None or input_bytes(inputs) > AUTO_THRESHOLD_BYTES
    if not out_of_core:
        options.jobs = scale.jobs
        return run_audit(list(inputs), options, rules=rules, timings=timings, progress=_progress())
    from qa.audit.outofcore import audit_out_of_core

    return audit_out_of_core(list(inputs), options, rules, partitions=scale.partitions,
                             work_dir=scale.work_dir, timings=timings, progress=_progress(), jobs=scale.jobs)


def _progress():
    """Stage announcements on stderr for a person watching a terminal; silent otherwise
    (CI logs and pipes get only the summary)."""
    if not sys.stderr.isatty():
        return None
    return lambda line: click.echo(f"qa: {line} …", err=True)


def _run_audit(inputs, options, rules, output, json_path, findings_csv, fail_on, mask, show_timings=False,
               history=None, scale: _Scale = _Scale(), config_path: Path | None = None,
               engine_options=None, force: bool = False) -> int:
    from qa.carryover import carry_reviews, earlier_reviews, refuse_reviewed_output
    from qa.report.excel.audit_book import write_workbook

    lang = options.lang
    timings: dict[str, float] = {}
    output = output or _default_output(inputs or [engine_options.table])
    # Trainers' verdicts in the workbook being replaced are carried over (or the run stops
    # here, before auditing, when that is not safe); --force writes a fresh one.
    earlier = None if force else earlier_reviews(output)
    if not force:
        for path in (json_path, findings_csv, engine_options.findings_parquet if engine_options else None):
            refuse_reviewed_output(path)
    if engine_options is not None and engine_options.engine != "pandas":
        from qa.engines import run_engine

        outcome = run_engine(inputs, options, rules, engine_options, mask=mask, timings=timings, progress=_progress())
        if outcome.result is None:  # too large to collect: scorecards and counts only
            from qa.mask import mask_text

            lines = outcome.summary_lines()
            click.echo("\n".join(mask_text(line) if mask else line for line in lines), err=True)
            failing = 0 if fail_on == "never" else outcome.findings_at_or_above(fail_on)
            return ExitCode.FINDINGS if failing else ExitCode.OK
        result = outcome.result
    else:
        result = _audit_any_size(inputs, options, rules, scale, timings)
        if engine_options is not None and engine_options.findings_parquet:
            from qa.engines import write_result_findings_parquet

            with _timed(timings, "write findings parquet"):
                write_result_findings_parquet(result, engine_options.findings_parquet, mask=mask)
    result.config_path = config_path
    parquet = engine_options.findings_parquet if engine_options is not None else None
    outputs = [output] + [p for p in (json_path, findings_csv, parquet) if p]
    _refuse_overwriting_inputs(outputs, result.ingest.files)
    carry = carry_reviews(earlier, result)
    with _timed(timings, "history"):
        trends = _after_audit(result, history, sys.stderr, mask=mask)
    # a run interrupted while its outputs are written is no run of the history (its record would stand
    # for outputs that were never written): the record it made is taken back
    with _recorded_only_if_written(trends, history):
        json_done, data = _beside(result, json_path, mask, lang=lang, trends=trends, carry=carry)
        with _timed(timings, "write workbook"):
            write_workbook(result, output, lang=lang, mask=mask, trends=trends, carry=carry, data=data)
        for line in carry.lines(lang) if carry is not None else []:
            click.echo(line, err=True)
        written = [output]
        if engine_options is not None and engine_options.findings_parquet:
            written.append(engine_options.findings_parquet)
        if json_path:
            # (beside the workbook, this is the wait for the forked writer after the workbook is done)
            with _timed(timings, "write json"):
                if json_done is None:
                    from qa.report.json_report import write_json

                    write_json(result, json_path, mask=mask)
                else:
                    json_done()
            written.append(json_path)
        if findings_csv:
            from qa.report.findings_csv import write_findings_csv

            with _timed(timings, "write findings csv"):
                write_findings_csv(result, findings_csv, lang=lang, mask=mask)
            written.append(findings_csv)
    _print_summary(result, written, sys.stderr, mask)
    if show_timings:
        for stage, seconds in timings.items():
            click.echo(f"timing: {stage}: {seconds:.3f} s", err=True)
    if result.ingest.refused:
        # One bad export in a folder does not stop the others' audit, but the run is no success.
        from qa.mask import result_masker

        why, more = result_masker(result, mask).text(result.ingest.refused[0][1]), len(result.ingest.refused) - 1
        click.echo(f"qa: error: {len(result.ingest.refused)} input file(s) not read, the others audited: "
                   f"{why}" + (f" (and {more} more, listed above)" if more else ""), err=True)
        return ExitCode.ERROR
    if not len(result.ingest.messages):
        # Never green on nothing: a nightly job must not pass on an export it could not read.
        what = "every row was rejected" if result.ingest.input_rows else "no readable rows"
        click.echo(f"qa: error: 0 rows audited ({what}); see the reasons above", err=True)
        return ExitCode.ERROR
    if not (result.ingest.messages["role"] == "agent").any():
        # Nothing an agent wrote was checked: the roles were not read (the warning above names the fix).
        click.echo("qa: error: no agent message audited (every message was read as a customer's or the system's); "
                   "use --agent-pattern REGEX or --column role=COLUMN", err=True)
        return ExitCode.ERROR

    failing = _failing_findings(result, fail_on)
    if len(failing):
        from qa.mask import result_masker

        failing = result_masker(result, mask).findings(failing)  # CI logs keep no personal data
        for finding in failing.itertuples(index=False):
            click.echo(f"{finding.file}:{finding.row} {finding.rule} {finding.severity} {finding.reason}")
        return ExitCode.FINDINGS
    return ExitCode.OK


def _audit_setup(config: Any, rules: list, suppress_paths: tuple, history_path: Path | None, no_history: bool):
    """For ``qa audit``: (suppressions for ``AuditOptions.suppressions`` or None, history file
    or None). History is recorded only when asked for (option or qa.toml)."""
    from qa.config import configured_history, configured_suppressions
    from qa.suppress import load_suppressions

    paths = [*configured_suppressions(config), *suppress_paths]
    suppressions = load_suppressions(paths, rules=rules) if paths else None
    history = None if no_history else (history_path or configured_history(config))
    return suppressions, history


def _after_audit(result: Any, history: Path | None, stream=None, *, mask: bool = True) -> Any:
    """For ``qa audit``, after the audit and before writing outputs: say what was suppressed,
    record the run in ``history`` (when given; agent names masked with ``mask``) and return
    the trends for the workbook."""
    from qa.suppress import suppressed_line

    stream = stream or sys.stderr
    line = suppressed_line(result)
    if line:
        click.echo(line, file=stream)
    if history is None:
        return None
    from qa.history import TREND_RUNS, load_trends, record_audit  # (not imported without a history)

    inputs = {Path(p).resolve() for p in result.ingest.files}
    if Path(history).resolve() in inputs:
        raise QAError(f"history {history} is one of the inputs; choose another --history")
    recorded = record_audit(history, result, mask=mask)
    trends = load_trends(history, last=TREND_RUNS, current=recorded.id)
    trends.current_key = recorded.run_key
    trends.current_label = recorded.label
    trends.recorded = recorded
    verb = "replaced" if recorded.replaced else "recorded"
    click.echo(
        f"history: {verb} run {recorded.label} in {history} ({trends.total_runs} runs; `qa history` shows trends)",
        file=stream,
    )
    return trends


@contextlib.contextmanager
def _recorded_only_if_written(trends: Any, history: Path | None):
    """Take back the history record :func:`_after_audit` made when the block (writing the outputs)
    does not finish — an error, Ctrl-C, SIGTERM. A record that replaced an earlier run of the same
    inputs and rules stays: the earlier one is gone already, and this one is a whole audit."""
    try:
        yield
    except BaseException:
        recorded = getattr(trends, "recorded", None)
        if history is not None and recorded is not None and not recorded.replaced:
            from qa.history import forget_run

            with contextlib.suppress(Exception):
                forget_run(history, recorded.id)
        raise


# Below this many messages the JSON is written after the workbook, in this process: a second
# process costs more than it saves. The forked writer shares the result's pages with this process:
# at 10M messages (out of core) the proportional set size summed over all processes stayed 3.07-3.08
# GiB with it and without, for 146.9 -> 133.7 s (session 15; the 3M limit of before was set on RSS
# summed over the processes, which counts the shared pages twice). Above the maximum, not measured.
JSON_BESIDE_MIN_MESSAGES = 200_000
JSON_BESIDE_MAX_MESSAGES = 12_000_000
_BESIDE: tuple | None = None  # what the forked writer writes (set just before the fork)


def _write_json_beside() -> None:
    from qa.report.json_report import write_json

    result, path, mask, _workbook = _BESIDE
    write_json(result, path, mask=mask)


def _data_cells_beside() -> list[str]:
    from qa.report.excel.audit_book import data_cells

    result, _path, mask, workbook = _BESIDE
    return data_cells(result, mask=mask, **workbook)


def _beside(result, json_path: Path | None, mask: bool, **workbook):
    """Start, in a forked process, the work of the outputs that this one need not do while it
    writes the workbook (both are single-threaded Python: on two cores they overlap): first the
    cells of the workbook's hidden data sheet (``workbook``: write_workbook's lang, trends and
    carry), then the JSON (when ``json_path``). Returns (a function that waits for the JSON and
    raises its error, or None to write it after the workbook; the ``data`` of write_workbook, or
    None) — both None for a small or a very large audit, or without fork on this platform. The
    child works from the same result, forked before the workbook is written: the bytes are those
    of the sequential run."""
    import os

    global _BESIDE
    if not JSON_BESIDE_MIN_MESSAGES <= len(result.ingest.messages) <= JSON_BESIDE_MAX_MESSAGES \
            or (os.cpu_count() or 1) < 2:
        return None, None
    import multiprocessing  # (not imported by a small audit)

    if "fork" not in multiprocessing.get_all_start_methods():
        return None, None
    from concurrent.futures import ProcessPoolExecutor

    _BESIDE = (result, json_path, mask, workbook)
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
    try:
        # one child, in this order: the workbook wants its data cells before the JSON is done
        cells = pool.submit(_data_cells_beside)
        json_future = pool.submit(_write_json_beside) if json_path else None
    finally:
        _BESIDE = None

    def done() -> None:
        try:
            json_future.result()
        finally:
            pool.shutdown()

    def data() -> list[str]:
        try:
            return cells.result()
        finally:
            if json_future is None:
                pool.shutdown()

    return (done if json_future is not None else None), data


@contextmanager
def _timed(timings: dict[str, float], stage: str):
    say = _progress()
    if say is not None:
        say(stage)
    started = time.perf_counter()
    yield
    timings[stage] = time.perf_counter() - started


def _check_timezone(name: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise QAError(f"unknown timezone '{name}'; use an IANA name such as Asia/Shanghai") from None


@main.group()
def rules() -> None:
    """Inspect, validate and test rules and rule packs."""


def _load_for_inspection(packs, config_path, deep: bool):
    """The rules of the config and ``packs``; ``deep`` as :func:`qa.rules.load_rules` (False
    when they are only shown: reading the files needs no pandas, so the command starts at once)."""
    from qa.config import load_config
    from qa.rules import load_rules, with_working_hours

    config = load_config(config_path)
    loaded = load_rules(list(config.rules) + list(packs), deep=deep)
    if config.working_hours is not None:
        loaded = with_working_hours(loaded, config.working_hours)
    return loaded


@rules.command("list")
@click.option("--rules", "rule_paths", multiple=True, type=click.Path(path_type=Path), help="Rule pack (repeatable).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), help="Config file.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def rules_list(rule_paths, config_path, debug) -> None:
    """List every rule: id, check type, severity, enabled, where it was defined, display name.

    Reads the rule files without compiling their patterns; `qa rules check` validates fully."""

    def action() -> int:
        loaded = _load_for_inspection(rule_paths, config_path, deep=False)
        width = max(len(rule.id) for rule in loaded)
        origins = [" + ".join(rule.origin) for rule in loaded]
        origin_width = max(len("defined in"), *map(len, origins))
        check_width = max(len("check"), *(len(rule.check) for rule in loaded))
        click.echo(f"{'id':<{width}}  {'check':<{check_width}} {'severity':<9} {'enabled':<8} "
                   f"{'defined in':<{origin_width}}  name")
        for rule, origin in zip(loaded, origins):
            click.echo(f"{rule.id:<{width}}  {rule.check:<{check_width}} {rule.severity.value:<9} "
                       f"{'yes' if rule.enabled else 'no':<8} {origin:<{origin_width}}  {_display_names(rule)}")
        return ExitCode.OK

    sys.exit(guarded(debug, action))


def _display_names(rule) -> str:
    """A rule's display names for the terminal: "服务禁语 / Forbidden phrase" (the id without [name])."""
    return " / ".join(dict.fromkeys(rule.label(lang) for lang in ("zh", "en")))


def _format_value(value) -> str:
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return "; ".join(
            f"{item.get('name')}: " + ", ".join(
                f"{k}={_format_value(v)}" for k, v in item.items() if k != "name"
            )
            for item in value
        )
    if isinstance(value, list):
        shown = ", ".join(map(str, value[:12]))
        return f"[{shown}{', …' if len(value) > 12 else ''}] ({len(value)})"
    return repr(value)


@rules.command("explain")
@click.argument("rule_id")
@click.option("--rules", "rule_paths", multiple=True, type=click.Path(path_type=Path), help="Rule pack (repeatable).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), help="Config file.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def rules_explain(rule_id, rule_paths, config_path, debug) -> None:
    """Show a rule's docs (what / why / bad / good) and its effective parameters."""

    def action() -> int:
        loaded = {rule.id: rule for rule in _load_for_inspection(rule_paths, config_path, deep=False)}
        if rule_id not in loaded:
            raise QAError(f"no rule '{rule_id}'; known: {', '.join(sorted(loaded))}")
        rule = loaded[rule_id]
        click.echo(f"{rule.id}  (check: {rule.check}, severity: {rule.severity.value}, "
                   f"{'enabled' if rule.enabled else 'disabled'})")
        click.echo(f"name: {_display_names(rule)}")
        click.echo(f"defined in: {' + '.join(rule.origin)}")
        context = " (with the customer message answered)" if rule.suppress_context else ""
        click.echo(f"suppressible by text: {'yes' + context if rule.suppress_by_text else 'no'}")
        if rule.yields_to:
            yields = ", ".join(f"{other} ({least.value} or worse)" if least else other for other, least in rule.yields_to)
            click.echo(f"yields to: {yields} — no finding on a message that rule found")
        if rule.asked_from:
            asked = ", ".join(f"{other} ({', '.join(categories)})" if categories else other
                              for other, categories in rule.asked_from)
            click.echo(f"asked from: {asked} — that rule's finding in a sentence asked as a question is this rule's too")
        for key, title in (("what", "What it does"), ("why", "Why it matters"), ("bad", "Bad"),
                           ("good", "Good"), ("source", "Source")):
            if rule.docs.get(key):
                click.echo(f"\n## {title}\n{rule.docs[key].strip()}")
        click.echo("\n## Parameters (effective)")
        for key, value in rule.params.items():
            click.echo(f"{key} = {_format_value(value)}")
        return ExitCode.OK

    sys.exit(guarded(debug, action))


def _warn_unscreened_patterns(loaded) -> None:
    """Warn of a pattern rule whose patterns are not all RE2-valid (a look-around, \\s, a
    back-reference): it still works, but every message is then searched in Python instead of
    being screened in one vectorised pass, many times slower on a day's log."""
    from qa.checks.pattern import matcher_for
    from qa.regexutil import re2_valid

    for rule in loaded:
        if rule.check != "pattern":
            continue
        matcher = matcher_for(rule.params)
        if matcher.prefilter is None:
            slow = [source for source in matcher.sources if not re2_valid(source)]
            shown = slow[0] if slow else ""
            shown = shown if len(shown) <= 60 else shown[:59] + "…"
            click.echo(f"warning: {rule.id}: {len(slow)} pattern(s) not RE2-valid (look-arounds, \\s, back-references), "
                       f"so every message is searched in Python, slower: {shown}", err=True)


@rules.command("check")
@click.argument("packs", nargs=-1, type=click.Path(path_type=Path))
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), help="Config file.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def rules_check(packs, config_path, debug) -> None:
    """Validate rule packs (and the built-in rules); problems print as file:line: what."""

    def action() -> int:
        loaded = _load_for_inspection(packs, config_path, deep=True)
        from qa.audit.run import scoring_file
        from qa.credits import load_credits
        from qa.score import load_scoring

        load_scoring(scoring_file(list(packs)), rule_ids=[rule.id for rule in loaded],
                     credit_ids=[credit.id for credit in load_credits(list(packs))])
        _warn_unscreened_patterns(loaded)
        click.echo(f"ok: {len(loaded)} rules valid")
        return ExitCode.OK

    sys.exit(guarded(debug, action))


@rules.command("test")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--rules", "rule_paths", multiple=True, type=click.Path(path_type=Path),
              help="Rule pack the cases run against (default: the packs given as PATHS).")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def rules_test(paths, rule_paths, debug) -> None:
    """Run rule test cases (*.cases.toml beside a pack, or case files); exit 1 on any failure.

    With no PATHS, runs the built-in rules' own cases when run from a source checkout."""

    def action() -> int:
        import tempfile

        from qa.casetest import CaseRunner, compare, load_case_files
        from qa.rulefiles import builtin_rules_dir
        from qa.rules import load_rules

        case_files: list[Path] = []
        packs: list[Path] = list(rule_paths)
        targets = list(paths) or [builtin_rules_dir().parent / "tests" / "rules"]
        for target in targets:
            if target.is_dir():
                found = sorted(target.glob("*.cases.toml")) or sorted(
                    p for p in target.glob("*.toml") if _is_case_file(p)
                )
                case_files.extend(found)
                if not rule_paths and any(p for p in target.glob("*.toml") if not _is_case_file(p)):
                    packs.append(target)
            elif target.is_file():
                case_files.append(target)
            else:
                raise QAError(f"no such file or folder: {target}")
        if not case_files:
            raise QAError("no test cases found (case files are <name>.cases.toml beside a pack)")
        loaded = load_rules(packs)
        try:
            cases = load_case_files(case_files)
        except ValueError as error:
            raise QAError(str(error)) from None
        failures = 0
        with tempfile.TemporaryDirectory() as work:
            # Cases that share a layout are audited together, each still judged on its own.
            runner = CaseRunner(cases, Path(work), rules=loaded)
            for index, case in enumerate(cases):
                try:
                    problems = compare(case, runner.findings(index))
                except LookupError as error:
                    problems = [str(error)]
                if problems:
                    failures += 1
                    click.echo(f"FAIL {case.id} ({case.source})")
                    for problem in problems:
                        click.echo(f"     {problem}")
        click.echo(f"{len(cases) - failures} passed, {failures} failed")
        return ExitCode.FINDINGS if failures else ExitCode.OK

    sys.exit(guarded(debug, action))


def _is_case_file(path: Path) -> bool:
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    return "case" in data and "rule" in data


@main.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--base-rules", "base_paths", multiple=True, type=click.Path(path_type=Path),
              help="Rule pack of the current rules (repeatable; default: the built-in rules and the config's packs).")
@click.option("--examples", default=5, show_default=True, help="Examples shown per rule for added and removed findings.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the diff as JSON.")
@_input_options
def diff(inputs, base_paths, examples, json_path, rule_paths, config_path, column_pairs, encoding, sheet,
         timezone, agent_pattern, lang, debug) -> None:
    """Preview a rule change: audit INPUTS with the base rules and with --rules, and report
    the findings added and removed per rule and each agent's change in score."""

    def action() -> int:
        from qa.audit.run import audit as run_audit
        from qa.diff import diff_audits, print_diff, write_diff_json

        if not rule_paths:  # (both sides would be the same rules: a diff of nothing that passes)
            raise QAError("qa diff needs --rules NEW, the rule pack whose change to preview")

        config, options, new_rules = _settings(config_path, rule_paths, column_pairs, encoding, sheet,
                                               timezone, agent_pattern, lang)
        # The base side is what the config alone (plus --base-rules) gives: its packs, its
        # working hours and its scoring file, never the new pack's.
        _, base_options, base_rules = _settings(config_path, base_paths, column_pairs, encoding, sheet,
                                                timezone, agent_pattern, lang)
        base = run_audit(list(inputs), base_options, rules=base_rules)
        changed = run_audit(list(inputs), options, rules=new_rules)
        report = diff_audits(base, changed, examples=examples)
        print_diff(report, click.echo)
        if json_path:
            from qa.outputs import check_outputs

            check_outputs([("--json", json_path)], base.ingest.files)
            write_diff_json(report, json_path)
            click.echo(f"wrote {json_path}", err=True)
        return ExitCode.OK

    sys.exit(guarded(debug, action))


from qa import cli_review  # noqa: E402,F401  (registers qa review, qa history on main)
