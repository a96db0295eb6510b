"""The ``qa`` command group and what every subcommand shares: exit codes and one-line errors.

Subcommands register on :data:`main` (:mod:`qa.cli`: audit, rules, diff; :mod:`qa.cli_review`:
review, history).
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
import traceback
from enum import IntEnum

import click

from qa import __version__
from qa.errors import QAError

# At exit, after every other exit handler (this one is registered first, so it runs last), the
# objects still alive are set aside from the garbage collector: the interpreter's own collections
# at shutdown then skip them instead of walking the tens of thousands of objects an audit leaves
# (pandas, pyarrow, the compiled rules), which took a tenth of a second, a tenth of a small
# audit. Nothing is lost: the process ends next, outputs are closed and the caches written by then.
atexit.register(gc.freeze)


class ExitCode(IntEnum):
    """Process exit codes, a contract for CI pipelines."""

    OK = 0
    FINDINGS = 1
    ERROR = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="qa")
def main() -> None:
    """qa: batch quality inspection (客服质检) of customer-service chat logs."""


def guarded(debug: bool, action) -> int:
    """Run ``action``; turn every error into one line on stderr and exit code 2. SIGTERM and
    SIGHUP unwind like Ctrl-C, so temporary files and spill folders are removed on them too."""
    from qa.outputs import signals_raise

    try:
        with signals_raise():
            return action()
    except (QAError, click.BadParameter) as error:
        if debug:
            traceback.print_exc()
        message = error.format_message() if isinstance(error, click.ClickException) else str(error)
        if isinstance(error, QAError):
            from qa.mask import mask_text

            message = mask_text(message)  # an input error may quote a cell (a phone number): stderr is a channel too
        click.echo(f"qa: error: {message}", err=True)
        return ExitCode.ERROR
    except BrokenPipeError:
        # The reader of stdout went away (qa rules list | head): no traceback, no message on a
        # pipe nobody reads, and no second error when Python flushes stdout at exit.
        _silence_stdout()
        return ExitCode.ERROR
    except KeyboardInterrupt as error:
        click.echo(f"qa: interrupted ({getattr(error, 'name', 'SIGINT')}); temporary files removed", err=True)
        return ExitCode.ERROR
    except Exception as error:  # an internal error still gets one line, and a hint
        if debug:
            traceback.print_exc()
        click.echo(f"qa: internal error: {type(error).__name__}: {error} (run with --debug for details)", err=True)
        return ExitCode.ERROR


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real stdout: nothing left to flush
        pass
