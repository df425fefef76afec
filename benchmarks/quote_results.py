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
    text = (RESULTS / f"{name}.md").read_text().splitlines()
    body = [line for line in text[1:] if line.strip()]
    how = [line for line in body if not line.startswith("|")]
    table = [line for line in body if line.startswith("|")]
    return "\n".join([*how, "", *table]) + "\n"


def main() -> None:
    readme = ROOT / "README.md"
    text = readme.read_text()
    new = BLOCK.sub(lambda m: m.group(1) + quoted(m.group("name")) + m.group(3), text)
    readme.write_text(new)
    names = [m.group("name") for m in BLOCK.finditer(new)]
    print(f"quoted {', '.join(names) or 'nothing'} into {readme.name}")


if __name__ == "__main__":
    main()
