"""Emergency detection measured on labelled driver utterances: recall and precision, per type and overall.

    python -m scripts.emergency_eval tests/conversation/data/emergency_utterances_dev.jsonl [--misses]

Each line is a JSON object with `text` and `label` (Accident, Breakdown, Medical, Other or none). "Switch" is
the decision that matters most (leave the check-in or not); the type is judged on the right switches.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path

from app.conversation.understanding import detect_emergency

TYPES = ("Accident", "Breakdown", "Medical", "Other")


@dataclass
class Scores:
    total: int = 0
    switch_recall: float = 0.0  # emergencies that switched the call
    switch_precision: float = 0.0  # switches that were emergencies
    hard_negative_switches: int = 0  # hard negatives wrongly switched
    type_accuracy: float = 0.0  # right type among the emergencies that switched
    per_type: dict[str, tuple[float, float]] = field(default_factory=dict)  # type -> (recall, precision)
    misses: list[tuple[str, str, str]] = field(default_factory=list)  # (label, predicted, text)


def _ratio(hits: int, of: int) -> float:
    return hits / of if of else 1.0


def evaluate(path: Path) -> Scores:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    scores = Scores(total=len(rows))
    predicted = [(row, detect_emergency(row["text"]) or "none") for row in rows]
    emergencies = [(r, p) for r, p in predicted if r["label"] != "none"]
    switched = [(r, p) for r, p in predicted if p != "none"]
    scores.switch_recall = _ratio(sum(p != "none" for _, p in emergencies), len(emergencies))
    scores.switch_precision = _ratio(sum(r["label"] != "none" for r, _ in switched), len(switched))
    scores.hard_negative_switches = sum(1 for r, p in predicted if r.get("hard_negative") and p != "none")
    caught = [(r, p) for r, p in emergencies if p != "none"]
    scores.type_accuracy = _ratio(sum(r["label"] == p for r, p in caught), len(caught))
    for kind in TYPES:
        labelled = [p for r, p in predicted if r["label"] == kind]
        said = [r["label"] for r, p in predicted if p == kind]
        scores.per_type[kind] = (
            _ratio(sum(p == kind for p in labelled), len(labelled)),
            _ratio(sum(label == kind for label in said), len(said)),
        )
    scores.misses = [(r["label"], p, r["text"]) for r, p in predicted if r["label"] != p]
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--misses", action="store_true", help="print every utterance judged wrong")
    args = parser.parse_args()
    s = evaluate(args.path)
    print(f"{args.path}: {s.total} utterances")
    print(f"switch    recall {s.switch_recall:6.1%}   precision {s.switch_precision:6.1%}")
    print(f"hard negatives switched: {s.hard_negative_switches}")
    print(f"type accuracy on caught emergencies: {s.type_accuracy:6.1%}")
    for kind, (recall, precision) in s.per_type.items():
        print(f"{kind:<10}recall {recall:6.1%}   precision {precision:6.1%}")
    if args.misses:
        for label, got, text in s.misses:
            print(f"  {label:>9} -> {got:<9} {text}")


if __name__ == "__main__":
    main()
