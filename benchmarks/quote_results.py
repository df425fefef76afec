"""Copy the tables of benchmarks/results/*.md into README.md between their markers.

README.md holds `<!-- results:NAME -->` ... `<!-- /results:NAME -->` blocks; each is replaced by
the table of benchmarks/results/NAME.md (its lines starting with '|') and the sentence that says
how it was run (its first paragraph). Run after a benchmark:

    .venv/bin/python benchmarks/quote_results.py
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
BLOCK = re.compile(r"(<!-- results:(?P<name>[\w-]+) -->\n).*?(<!-- /results:(?P=name) -->)", re.S)


def quoted(name: str) -> str:
    """The how-it-was-run lines, then each table (a results file may hold several)."""
    text = (RESULTS / f"{name}.md").read_text().splitlines()
    how: list[str] = []
    tables: list[list[str]] = []
    in_table = False
    for line in text[1:]:
        if line.startswith("|"):
            if not in_table:
                tables.append([])
            tables[-1].append(line)
            in_table = True
        else:
            in_table = False
            if line.strip():
                how.append(line)
    blocks = ["\n".join(t) for t in tables]
    return "\n".join(how) + "\n\n" + "\n\n".join(blocks) + "\n"


def main() -> None:
    readme = ROOT / "README.md"
    text = readme.read_text()
    new = BLOCK.sub(lambda m: m.group(1) + quoted(m.group("name")) + m.group(3), text)
    readme.write_text(new)
    names = [m.group("name") for m in BLOCK.finditer(new)]
    print(f"quoted {', '.join(names) or 'nothing'} into {readme.name}")


if __name__ == "__main__":
    main()
