"""Classifier speed: cold start, one classification (p50/p99) and batch throughput.

Prints figures; asserts nothing about time. Texts come from the test suite's cases.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    started = time.perf_counter()
    from nlp import Classifier

    classifier = Classifier.load_default()
    cold = time.perf_counter() - started

    from tests.nlp.test_classifier import CASES

    texts = [text for text, _ in CASES]
    batch = (texts * (5000 // len(texts) + 1))[:5000]
    for text in texts:  # warm caches as a running server would be
        classifier.classify(text)

    timings = []
    for text in batch:
        t0 = time.perf_counter()
        classifier.classify(text)
        timings.append(time.perf_counter() - t0)
    timings.sort()
    total = sum(timings)
    print(f"cold start (import + dictionary load): {cold * 1000:.0f} ms")
    print(
        f"one classification: p50 {statistics.median(timings) * 1000:.3f} ms, "
        f"p99 {timings[int(len(timings) * 0.99) - 1] * 1000:.3f} ms "
        f"(texts of {min(map(len, texts))}-{max(map(len, texts))} characters)"
    )
    print(f"batch: {len(batch) / total:.0f} classifications per second")


if __name__ == "__main__":
    main()
