"""Print the rules extractor's per-field accuracy on the shared labelled transcripts as a Markdown table."""

import json
import sys
from collections import Counter
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # runnable as `python scripts/measure_extractor.py` from the repo root

from app.extraction.rules import extract_with_rules  # noqa: E402
from tests.support.fixtures import TRANSCRIPTS_DIR  # noqa: E402


def measure(fixtures_dir: Path) -> tuple[Counter[str], Counter[str]]:
    """(right, total) per field; a field counts only for fixtures whose expected dict has it."""
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for path in sorted(fixtures_dir.glob("*.json")):
        fixture = json.loads(path.read_text())
        got = extract_with_rules(fixture["transcript"]).result.model_dump()
        for field, expected in fixture["expected"].items():
            total[field] += 1
            right[field] += got.get(field) == expected
    return right, total


def render(right: Counter[str], total: Counter[str]) -> str:
    lines = ["| field | right / total |", "| --- | --- |"]
    lines += [f"| {field} | {right[field]} / {total[field]} |" for field in total]
    lines.append(f"| **overall** | {sum(right.values())} / {sum(total.values())} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(*measure(TRANSCRIPTS_DIR)))
