"""Emergency detection on the development set of driver utterances written apart from the rules.

The figures are held at what the rules reach today, so a change that loses any of them fails here. The set
is `data/emergency_utterances_dev.jsonl` (see `data/README.md`); `python -m scripts.emergency_eval` prints
the same figures and, with `--misses`, every utterance judged wrong.
"""

import json
from pathlib import Path

from scripts.emergency_eval import evaluate

DEV = Path(__file__).parent / "data" / "emergency_utterances_dev.jsonl"


def test_dev_set_switch_recall_and_precision_hold() -> None:
    scores = evaluate(DEV)
    assert scores.total >= 150
    assert scores.switch_recall >= 1.0
    assert scores.switch_precision >= 1.0
    assert scores.hard_negative_switches == 0


def test_dev_set_type_figures_hold() -> None:
    scores = evaluate(DEV)
    assert scores.type_accuracy >= 1.0
    for kind, (recall, precision) in scores.per_type.items():
        assert (recall, precision) >= (1.0, 1.0), kind


GENERALISATION = Path(__file__).parent / "data" / "emergency_utterances_generalisation.jsonl"


def test_generalisation_set_switch_recall_and_precision_hold() -> None:
    # Wording apart from the dev set's: tires shredding, wheels coming off, air lines, fluids spraying, limp
    # mode, coupling failures, falls and broken bones, stroke signs, shootings, tornadoes, shifted loads,
    # and hard negatives such as "my cab's a wreck" or a closure caused by someone else's crash.
    scores = evaluate(GENERALISATION)
    assert scores.total >= 250
    assert scores.switch_recall >= 1.0
    assert scores.switch_precision >= 1.0
    assert scores.hard_negative_switches == 0


def test_generalisation_set_type_figures_hold() -> None:
    scores = evaluate(GENERALISATION)
    assert scores.type_accuracy >= 1.0
    for kind, (recall, precision) in scores.per_type.items():
        assert (recall, precision) >= (1.0, 1.0), kind


def test_every_family_match_passes_its_cheap_gate() -> None:
    # The gates spare the family patterns on most turns; a gate missing a word would silently lose recall.
    from app.extraction.rules.emergency_type import _GATED_PATTERNS

    texts = [
        json.loads(line)["text"] for path in (DEV, GENERALISATION) for line in path.read_text().splitlines()
    ]
    gated = [(pattern, gate) for _, pattern, gate in _GATED_PATTERNS if gate]
    assert len(gated) == 4
    for text in texts:
        for pattern, gate in gated:
            if pattern.search(text):
                assert any(word in " " + text.lower() for word in gate), (text, pattern.pattern[:40])


HELD_OUT = Path(__file__).parent / "data" / "emergency_utterances_heldout.jsonl"


def test_held_out_set_keeps_what_it_scored_when_it_was_opened() -> None:
    # The third kept aside (95 utterances) and scored only at the end, never tuned on (data/README.md):
    # switch recall 94.9 %, precision 96.6 %, 2 hard negatives switched. Held here so no later change
    # loses ground on the one set nobody fitted the rules to.
    scores = evaluate(HELD_OUT)
    assert scores.total == 95
    assert scores.switch_recall >= 56 / 59  # 94.9 %
    assert scores.switch_precision >= 56 / 58  # 96.6 %
    assert scores.hard_negative_switches <= 2
    assert scores.type_accuracy >= 1.0
