"""`make mutation` reads its results here: the score per core module, and every mutant still alive.

The score is killed / (checked - equivalent): mutants recorded in docs/mutation-equivalents.txt
(one name a line, `#` starts the reason) cannot change behaviour and do not count against it.
"""

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code

ROOT = Path(__file__).resolve().parents[1]
EQUIVALENTS = ROOT / "docs" / "mutation-equivalents.txt"
KILLED = {"killed", "timeout", "caught by type check"}


def equivalents() -> set[str]:
    if not EQUIVALENTS.exists():
        return set()
    names = (line.split("#", 1)[0].strip() for line in EQUIVALENTS.read_text().splitlines())
    return {name for name in names if name}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fail-under", type=float, default=None, help="exit 1 when a module scores lower")
    args = parser.parse_args()
    metas = sorted((ROOT / "mutants").rglob("*.py.meta"))
    if not metas:
        print("no results: run `make mutation` first", file=sys.stderr)
        return 1
    known = equivalents()
    low = False
    alive: list[str] = []
    print(
        f"{'module':<34} "
        + " ".join(f"{h:>7}" for h in ("mutants", "checked", "killed", "alive", "equiv", "score"))
    )
    for meta in metas:
        module = str(meta.relative_to(ROOT / "mutants")).removesuffix(".meta")
        results = json.loads(meta.read_text())["exit_code_by_key"]
        statuses = {name: status_by_exit_code[code] for name, code in results.items()}
        checked = {name: s for name, s in statuses.items() if s != "not checked"}
        if not checked:
            continue
        counts = Counter(checked.values())
        killed = sum(counts[s] for s in KILLED)
        survivors = sorted(name for name, s in checked.items() if s not in KILLED)
        equivalent = [name for name in survivors if name in known]
        alive += [f"{name}  ({checked[name]})" for name in survivors if name not in known]
        denominator = len(checked) - len(equivalent)
        score = 100.0 * killed / denominator if denominator else 100.0
        low |= args.fail_under is not None and score < args.fail_under
        row = (len(statuses), len(checked), killed, len(survivors) - len(equivalent), len(equivalent))
        print(f"{module:<34} " + " ".join(f"{n:>7}" for n in row) + f" {score:>6.1f}%")
    if alive:
        print("\nalive (kill with a test, or record in docs/mutation-equivalents.txt with the reason):")
        print("\n".join(f"  {line}" for line in alive))
        print("see one with: .venv/bin/mutmut show <name>")
    return 1 if low else 0


if __name__ == "__main__":
    sys.exit(main())
