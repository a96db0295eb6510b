"""Compare how qa reads export files with what their writer says a correct reading is.

A folder of export files (kept outside the repository, written by someone who did not read the
code) holds an ``EXPECTED.md`` with one section per file, ``## <file name>``, and in it a line

    **Expected:** N message rows, S sessions; customer C, agent A, robot R, system Y. Agents (k): a, b.

(robots are system rows to qa). For each file this prints OK, DIFF (with both readings) or ERR
(the one-line error qa gives), so reader changes can be checked against every shape at once:

    python benchmarks/read_check.py /work/evalsets/shapes /work/evalsets/shapes2
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa.errors import InputError  # noqa: E402
from qa.ingest import load_inputs  # noqa: E402

_EXPECTED = re.compile(r"\*\*Expected:\*\*\s*(\d+) message rows, (\d+) sessions; customer (\d+), agent (\d+), "
                       r"robot (\d+), system (\d+)\. Agents \(\d+\): ([^\n]*)")


def check(folder: Path) -> int:
    """Print one line per file of ``folder``'s EXPECTED.md; the number of files read otherwise."""
    differ = 0
    for section in re.split(r"\n## ", (folder / "EXPECTED.md").read_text(encoding="utf-8"))[1:]:
        name = section.split("\n", 1)[0].strip()
        found = _EXPECTED.search(section)
        if not found:
            print(f"?    {name} (no expected line)")
            continue
        rows, sessions, customer, agent, robot, system = map(int, found.groups()[:6])
        agents = sorted(a.strip().rstrip(".") for a in found.group(7).split(","))
        expected = (rows, sessions, customer, agent, robot + system)
        try:
            result = load_inputs([str(folder / name)])
        except InputError as error:
            print(f"ERR  {name}: {error}")
            differ += 1
            continue
        m = result.messages
        got = (len(m), m["session_id"].nunique(), int((m["role"] == "customer").sum()),
               int((m["role"] == "agent").sum()), int((m["role"] == "system").sum()))
        got_agents = sorted(set(m.loc[m["role"] == "agent", "agent"]))
        if got == expected and got_agents == agents:
            print(f"OK   {name} (rows, sessions, customer, agent, system) {got}, {len(result.rejected)} rejected")
        else:
            differ += 1
            print(f"DIFF {name} read {got} {got_agents}, expected {expected} {agents}")
    return differ


def main(argv: list[str]) -> int:
    """Check every folder named; exit 1 when a file is not read as expected."""
    return 1 if sum(check(Path(folder)) for folder in argv) else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
