"""How long the crisis-word detector takes: start-up (the Russian dictionaries, the lists) and per message.

Reads every message of the labelled set (``tests/data/crisis_labelled.tsv``) many times over, first
with a cold word cache (each message as the first one of its words), then warm, as in the running bot.

    .venv/bin/python -m bench.crisis
    .venv/bin/python -m bench.crisis --rounds 200
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from bot.services import crisis

ROOT = Path(__file__).resolve().parent.parent
LABELLED = ROOT / "tests" / "data" / "crisis_labelled.tsv"


def messages() -> list[str]:
    lines = LABELLED.read_text(encoding="utf-8").splitlines()
    return [line.split("\t", 2)[2] for line in lines if line and not line.startswith("#")]


def main(rounds: int) -> None:
    started = time.perf_counter()
    crisis._morph()
    analyser = time.perf_counter() - started
    started = time.perf_counter()
    detector = crisis.CrisisDetector.from_dir(ROOT / "content" / "crisis")
    lists = time.perf_counter() - started
    texts = messages()

    cold: list[float] = []
    for text in texts:
        began = time.perf_counter()
        detector.detect(text)
        cold.append(time.perf_counter() - began)
    warm: list[float] = []
    for _ in range(rounds):
        for text in texts:
            began = time.perf_counter()
            detector.detect(text)
            warm.append(time.perf_counter() - began)
    warm.sort()

    def us(seconds: float) -> str:
        return f"{seconds * 1e6:.0f} µs"

    print(f"start-up: analyser {analyser * 1000:.0f} ms, lists ({detector.size} entries) {lists * 1000:.0f} ms")
    print(f"first sight of each message ({len(texts)}): mean {us(statistics.fmean(cold))}, max {us(max(cold))}")
    print(
        f"per message, warm ({len(warm)}): mean {us(statistics.fmean(warm))}, "
        f"p99 {us(warm[int(len(warm) * 0.99)])}, max {us(warm[-1])}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    main(parser.parse_args().rounds)
