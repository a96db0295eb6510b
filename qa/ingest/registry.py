"""The reader seam: the input formats, finding the input files, and reading each through the
reader of its format.

Formats are discovered the way check types are (:mod:`qa.checks`): every module of this
package that defines ``FORMAT`` (a :class:`qa.ingest.table.Format`) is one, so adding a format
is adding a module. A file goes to the format of its extension, unless its first bytes are
another format's signature (a workbook saved as .xls that is really .xlsx, a Parquet file
named .parq or .xlsx): a format that declares signatures is trusted by content, not name.
"""

from __future__ import annotations

import glob
import os
import re
import zipfile
from collections.abc import Sequence

from qa.errors import InputError
from qa.ingest.encoding import head_text
from qa.ingest.table import Format, ReadOptions, Source
from qa.plugins import discover

# Modules of the package that are not formats (imported anyway by the formats).
_NOT_FORMATS = {"build", "columns", "encoding", "headings", "markup", "registry", "roles", "stream", "table", "times",
                "transcript"}
# The first bytes looked at: enough for every signature, and for telling text (a header line) apart.
_SNIFF_BYTES = 4096
_MARKUP_SNIFF_BYTES = 1 << 20
# The format of files without a signature that hold delimited text, whatever their name.
TEXT_FORMAT = "delimited text"
HTML_TABLE_FORMAT = "HTML table"
SPREADSHEETML_FORMAT = "Excel 2003 XML"
CHAT_TEXT_FORMAT = "chat transcript text"
MHTML_FORMAT = "MHTML archive"
_HTML_TABLE = re.compile(r"<(?:table|tr|td)[\s>]", re.IGNORECASE)
# Delimited text has a tab, comma or semicolon in its lines (a text without any is no table).
_DELIMITER = re.compile(r"[\t,;]")


#: The input formats by name.
FORMATS: dict[str, Format] = discover(__package__, [os.path.dirname(__file__)], "FORMAT", Format, _NOT_FORMATS)
#: Every file name ending a format reads, in the order the formats were found.
EXTENSIONS: tuple[str, ...] = tuple(ext for form in FORMATS.values() for ext in form.extensions)


def format_of(path: str) -> Format:
    """The format that reads ``path``: by signature for formats that declare one, else by
    extension (raises InputError for an extension no format reads). A file named as a format
    with a signature but holding delimited text instead (many tools write tab-separated text
    as .xls) is delimited text; one holding an HTML or XML page is refused, naming it."""
    by_name = _format_by_name(path)
    if not by_name.magic:
        # delimited text has no signature (it refuses binary content itself); a chat transcript in text
        # named .txt is told by its lines
        if by_name.name == TEXT_FORMAT and CHAT_TEXT_FORMAT in FORMATS and _is_chat_text(path):
            return FORMATS[CHAT_TEXT_FORMAT]
        return by_name
    try:
        with open(path, "rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError:
        return by_name  # the reader says why it cannot read the file
    if head.startswith(by_name.magic):
        return by_name
    signed = next((form for form in FORMATS.values() if form.magic and head.startswith(form.magic)), None)
    if signed is not None:
        return signed
    text = head_text(head)
    if text is None:
        return by_name  # damaged or unknown binary content: its reader refuses it
    if MHTML_FORMAT in FORMATS and _is_mime_archive(text):
        return FORMATS[MHTML_FORMAT]  # Excel's "single file web page", or a saved console page, named .xls
    if text.lstrip().startswith("<") and SPREADSHEETML_FORMAT in FORMATS and _is_spreadsheetml(text):
        return FORMATS[SPREADSHEETML_FORMAT]  # an old ERP's "Excel" export: Excel 2003 XML named .xls
    if text.lstrip().startswith("<") and HTML_TABLE_FORMAT in FORMATS and _holds_a_table(path):
        return FORMATS[HTML_TABLE_FORMAT]  # a web console's "Excel" export: an HTML table named .xls
    if text.lstrip().startswith("<"):
        raise InputError(f"cannot read {path}: it is an HTML or XML page named {os.path.splitext(path)[1]}, not a "
                         "workbook; open it in Excel and save it as .xlsx or CSV")
    if _DELIMITER.search(text):
        return FORMATS[TEXT_FORMAT]
    return by_name


def _is_chat_text(path: str) -> bool:
    """Whether a text file is a chat transcript (see :mod:`qa.ingest.chattext`), from its first part."""
    from qa.ingest.chattext import looks_like_chat_text

    try:
        with open(path, "rb") as handle:
            head = head_text(handle.read(_SNIFF_BYTES * 16))
    except OSError:
        return False
    return head is not None and looks_like_chat_text(head)


def _is_mime_archive(head: str) -> bool:
    from qa.ingest.mhtml import is_mime_archive

    return is_mime_archive(head)


def _is_spreadsheetml(head: str) -> bool:
    """Whether a markup file's head is an Excel 2003 XML workbook (its namespace, or Excel's
    processing instruction)."""
    return "urn:schemas-microsoft-com:office:spreadsheet" in head or 'progid="Excel.Sheet"' in head


def _holds_a_table(path: str) -> bool:
    """Whether a markup file has an HTML table in its first part (Excel's HTML export opens with a
    long style sheet)."""
    try:
        with open(path, "rb") as handle:
            return _HTML_TABLE.search(handle.read(_MARKUP_SNIFF_BYTES).decode("latin-1")) is not None
    except OSError:
        return False


def _format_by_name(path: str) -> Format:
    """The format of ``path``'s extension (InputError for an extension no format reads)."""
    lower = path.lower()
    by_name = next((form for form in FORMATS.values() if lower.endswith(form.extensions)), None)
    if by_name is None:
        raise InputError(f"unsupported file type: {path} (use {_listed(' or ')})")
    return by_name


def open_source(path: str, options: ReadOptions, chunk_rows: int | None) -> Source:
    """``path`` opened by the reader of its format (see :class:`qa.ingest.table.Source`), with a
    note when that is not the format its name says."""
    form = format_of(path)
    source = form.open(path, options, chunk_rows)
    named = _format_by_name(path)
    if form is not named and form.name == TEXT_FORMAT:
        source.notes.add(f"{{files}} holds delimited text, not the {named.name} its name says: read as text", path)
    return source


def _listed(last: str) -> str:
    names = list(EXTENSIONS)
    return ", ".join(names[:-1]) + last + names[-1]


# --------------------------------------------------------------------------- finding inputs


def expand_inputs(inputs: Sequence[str]) -> list[str]:
    """Turn files, directories and globs into a list of supported files, each once (raises
    InputError for a missing input, as :func:`load_inputs` does)."""
    return _expand_inputs(inputs)


def _expand_inputs(inputs: Sequence[str]) -> list[str]:
    """Turn files, directories and globs into a list of supported files, each once."""
    if isinstance(inputs, str):  # a lone path would otherwise be read letter by letter
        inputs = [inputs]
    if not inputs:
        raise InputError("no input files given")
    paths: list[str] = []
    seen: set[str] = set()
    for item in inputs:
        for path in _expand_one(str(item)):
            key = os.path.realpath(path)
            if key not in seen:
                seen.add(key)
                paths.append(path)
    return paths


def _expand_one(item: str) -> list[str]:
    if item == "-" or (os.path.exists(item) and not os.path.isfile(item) and not os.path.isdir(item)):
        # (an export is read more than once: its format, its header, then its rows)
        raise InputError(f"cannot read {'standard input' if item == '-' else item}: a pipe or device, not a file; "
                         "save the export to a file and name the file")
    if os.path.isdir(item):
        found = [p for p in _folder_files(item) if _is_listed_input(p)]
        if not found:
            skipped = "; ".join(f"skipped {os.path.basename(p)}: {why}" for p, why in skipped_inputs([item]))
            raise InputError(f"no supported files in {item} ({_listed(', ')})" + (f"; {skipped}" if skipped else ""))
        return found
    if os.path.isfile(item):
        if not _has_supported_extension(item):
            raise InputError(f"unsupported file type: {item} (use {_listed(' or ')})")
        return [item]
    if glob.has_magic(item):
        found = [p for p in _glob_files(item) if _is_listed_input(p)]
        if not found:
            raise InputError(f"no supported files match {item}")
        return found
    raise InputError(f"no such file: {item}")


def _folder_files(folder: str) -> list[str]:
    """Every file in ``folder`` and its sub-folders (a day a folder), sorted by path; hidden folders
    (.git, __MACOSX) are not searched."""
    found = []
    for root, folders, names in os.walk(folder):
        folders[:] = sorted(name for name in folders if not name.startswith(".") and name != "__MACOSX")
        found.extend(os.path.join(root, name) for name in names)
    return sorted(found)


def _glob_files(pattern: str) -> list[str]:
    """The files ``pattern`` matches (``**`` any depth), a matched folder's files included."""
    found = []
    for path in sorted(glob.glob(pattern, recursive=True)):
        found.extend(_folder_files(path) if os.path.isdir(path) else [path] if os.path.isfile(path) else [])
    return list(dict.fromkeys(found))


def skipped_inputs(inputs: Sequence[str]) -> list[tuple[str, str]]:
    """The files a folder or glob among ``inputs`` holds that are not read, each with the
    reason (a file is never silently ignored)."""
    if isinstance(inputs, str):
        inputs = [inputs]
    skipped = []
    for item in map(str, inputs):
        if os.path.isdir(item):
            found = _folder_files(item)
        elif not os.path.isfile(item) and glob.has_magic(item):
            found = _glob_files(item)
        else:
            continue
        for path in found:
            name = os.path.basename(path)
            if name.startswith("~$"):
                skipped.append((path, "an Excel lock file"))
            elif name.startswith("."):
                continue  # hidden files (.DS_Store, .gitkeep) are not exports
            elif name.lower().startswith("readme"):
                skipped.append((path, "a readme, not a chat export"))
            elif not _has_supported_extension(name):
                skipped.append((path, "not a chat export (unsupported file type)"))
            elif is_side_file(path):
                skipped.append((path, "not a chat export (a program's side file)"))
            elif is_qa_report(path):
                skipped.append((path, "a qa report, not a chat export"))
    return skipped


# The start of the other reports qa writes: its JSON, and its findings CSV's header (zh or en)
_QA_JSON_HEAD = re.compile(rb'^\{\s*"version":\s*\d+,\s*"summary":\s*\{"input_rows":')
# (the first four columns of qa.report.findings_csv.CSV_COLUMNS, after the BOM; not imported: that module needs pandas)
_QA_CSV_HEADS = tuple(("\ufeff" + head).encode("utf-8") for head in ("时间,客服,会话,规则,", "time,agent,session_id,rule,"))


def is_qa_report(path: str) -> bool:
    """Whether ``path`` is a report qa wrote (a workbook with a ``qa_data`` sheet, its JSON, its
    findings CSV): a report saved in the folder of the exports, or in a folder inside it, must not
    stop the next night's run of that folder. Only the start of the file is read (of a workbook,
    its sheet list: a few KB of the zip)."""
    lowered = path.lower()
    if lowered.endswith((".json", ".csv")):
        try:
            with open(path, "rb") as handle:
                head = handle.read(256)
        except OSError:
            return False
        return bool(_QA_JSON_HEAD.match(head)) if lowered.endswith(".json") else head.startswith(_QA_CSV_HEADS)
    if not lowered.endswith((".xlsx", ".xlsm")):
        return False
    try:
        with zipfile.ZipFile(path) as book, book.open("xl/workbook.xml") as part:
            head = part.read(1 << 20)
    except (OSError, KeyError, zipfile.BadZipFile, RuntimeError):
        return False  # not a readable workbook: its reader says why
    return b'name="qa_data"' in head


def _has_supported_extension(path: str) -> bool:
    return path.lower().endswith(EXTENSIONS)


def _is_listed_input(path: str) -> bool:
    """Whether a file found by a directory or glob is a chat log rather than a side file."""
    name = os.path.basename(path)
    if name.startswith((".", "~$")):  # hidden files, Excel lock files
        return False
    if name.lower().startswith("readme"):
        return False
    return _has_supported_extension(name) and not is_qa_report(path) and not is_side_file(path)


# Extensions that also name a program's side files (settings.xml, manifest.json): in a folder, such a file is
# an export only when its head says so.
_SIDE_EXTENSIONS = (".json", ".xml")
# what a chat export in JSON names near its top (a message's text and its time or sender)
_JSON_TEXT_KEY = re.compile(r'"(?:text|content|msg|message|msg_content|内容|消息内容|聊天内容)"\s*:', re.IGNORECASE)


def is_side_file(path: str) -> bool:
    """Whether a .json / .xml file found in a folder is a side file (settings, a manifest), not an
    export: an XML file without the Excel 2003 workbook namespace, a JSON file naming no message text
    in its first part."""
    if not path.lower().endswith(_SIDE_EXTENSIONS):
        return False
    try:
        with open(path, "rb") as handle:
            head = handle.read(_MARKUP_SNIFF_BYTES).decode("utf-8", "replace")
    except OSError:
        return False  # its reader says why it cannot be read
    if path.lower().endswith(".xml"):
        return not _is_spreadsheetml(head)
    return _JSON_TEXT_KEY.search(head) is None
