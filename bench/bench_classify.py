"""Classifier speed: cold start, one classification (p50/p99) and batch throughput.

Run `python bench/bench_classify.py`. Prints figures and asserts nothing about time. The texts
are the test suite's complaint cases, repeated to about 5,000.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BATCH = 5000
COLD_RUNS = 3
COLD_SCRIPT = """
import time
started = time.perf_counter()
from nlp import Classifier
Classifier.load_default()
print(time.perf_counter() - started)
"""


def case_texts() -> list[str]:
    """The complaint texts of tests/nlp/test_classifier.py (loaded by path, not as a package)."""
    path = ROOT / "tests" / "nlp" / "test_classifier.py"
    spec = importlib.util.spec_from_file_location("nlp_classifier_cases", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [text for text, _ in module.CASES]


def fresh_process_start() -> list[float]:
    """Seconds for import + load_default in new interpreters (what `hotline classify` pays)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = []
    for _ in range(COLD_RUNS):
        done = subprocess.run(
            [sys.executable, "-c", COLD_SCRIPT], capture_output=True, text=True, check=True, env=env
        )
        runs.append(float(done.stdout.strip()))
    return runs


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    rank = max(1, round(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def main() -> None:
    cache = Path(tempfile.gettempdir()) / "jieba.cache"
    cache_before = cache.exists()
    started = time.perf_counter()
    from nlp import Classifier

    imported = time.perf_counter()
    classifier = Classifier.load_default()
    loaded = time.perf_counter()
    fresh = fresh_process_start()

    texts = case_texts()
    batch = (texts * (BATCH // len(texts) + 1))[:BATCH]
    for text in texts:  # warm up as a running server would be
        classifier.classify(text)

    timings = []
    for text in batch:
        t0 = time.perf_counter()
        classifier.classify(text)
        timings.append(time.perf_counter() - t0)
    timings.sort()

    t0 = time.perf_counter()
    for text in batch:
        classifier.classify(text)
    batch_seconds = time.perf_counter() - t0
    characters = sum(map(len, batch))

    print(f"python {platform.python_version()} on {platform.machine()}")
    print(
        f"cold start in this process: import {1000 * (imported - started):.0f} ms + "
        f"load_default {1000 * (loaded - imported):.0f} ms "
        f"(jieba cache {'present' if cache_before else 'absent'} at start)"
    )
    print(
        "cold start in a fresh interpreter (import + load_default): "
        + ", ".join(f"{1000 * run:.0f}" for run in fresh)
        + " ms"
    )
    print(
        f"one classification over {len(batch)} texts of {min(map(len, texts))}-"
        f"{max(map(len, texts))} characters: p50 {1e6 * statistics.median(timings):.0f} µs, "
        f"p99 {1e6 * percentile(timings, 0.99):.0f} µs, max {1e6 * timings[-1]:.0f} µs"
    )
    print(
        f"batch: {len(batch)} texts in {batch_seconds:.2f} s = "
        f"{len(batch) / batch_seconds:.0f} texts/s, "
        f"{characters / batch_seconds / 1000:.0f}k chars/s"
    )


if __name__ == "__main__":
    main()
