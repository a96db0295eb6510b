"""Errors that end a run with exit code 2 and one line on stderr."""


class QAError(Exception):
    """A problem the user can fix; its message is shown as one line, without a traceback."""


class InputError(QAError):
    """An input file cannot be read or lacks a required column."""


class RuleError(QAError):
    """A rule file is invalid; the message names the file (and line or key)."""


class OutputError(QAError):
    """An output cannot be written (locked, same as an input, unwritable folder)."""
