"""Emergency detection on the development set of driver utterances written apart from the rules.

The figures are held at what the rules reach today, so a change that loses any of them fails here. The set
is `data/emergency_utterances_dev.jsonl` (see `data/README.md`); `python -m scripts.emergency_eval` prints
the same figures and, with `--misses`, every utterance judged wrong.
"""

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
