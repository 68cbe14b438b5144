"""Classifier speed: cold start (from import to the first classification), one
classification (p50/p95/p99) and batch throughput, for the rules and danger model alone, for
what `hotline classify` and the console run (rules, danger model and the shipped base model),
and with a centre's learned model on top.

Run `python bench/bench_classify.py` from a fresh process. Prints figures, with the load
average of the machine before and after, and asserts nothing about time. The texts
are every labelled set of tests/data (agents' summaries, long spoken complaints, dialect and
speech-recognition transcripts), repeated to 5,000; the centre's model is trained on the
352-row labelled set as if those were its saved tickets.
"""

from __future__ import annotations

import csv
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT / "tests" / "data"
BATCH = 5000
COLD_RUNS = 3
# Passes over the batch; their median is the throughput (one pass can lose the CPU to others).
BATCH_PASSES = 3
COLD_SCRIPT = """
import sys, time
started = time.perf_counter()
from hotline.classification import build_classifier
from hotline.config import NlpConfig
imported = time.perf_counter()
classifier = build_classifier(NlpConfig(model_path=sys.argv[1], data_dir=sys.argv[2]))
built = time.perf_counter()
classifier.classify("和平路38号门口井盖丢失 井口敞开，晚上有人差点掉下去")
done = time.perf_counter()
print(imported - started, built - imported, done - built, done - started)
"""
SETS = (
    "dev_complaints.csv",
    "heldout_split.csv",
    "labelled_complaints.csv",
    "heldout_complaints.csv",
)


def labelled(name: str) -> list[tuple[str, str]]:
    with (DATA / name).open(encoding="utf-8") as handle:
        return [(row["text"], row["department"]) for row in csv.DictReader(handle)]


def fresh_process_start(model_path: str, data_dir: str = "") -> list[tuple[float, ...]]:
    """Seconds of import, build, first classification and their total, in new interpreters
    (what `hotline classify` pays before its first answer)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = []
    for _ in range(COLD_RUNS):
        done = subprocess.run(
            [sys.executable, "-c", COLD_SCRIPT, model_path, data_dir],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        runs.append(tuple(float(part) for part in done.stdout.split()))
    return runs


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    rank = max(1, round(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def measure(classify: Callable[[str], object], batch: list[str]) -> tuple[list[float], list[float]]:
    """Per-text seconds (sorted, one pass) and the seconds of each of BATCH_PASSES passes
    over the whole batch."""
    for text in batch[:500]:  # warm up as a running server would be
        classify(text)
    timings = []
    for text in batch:
        t0 = time.perf_counter()
        classify(text)
        timings.append(time.perf_counter() - t0)
    timings.sort()
    passes = []
    for _ in range(BATCH_PASSES):
        t0 = time.perf_counter()
        for text in batch:
            classify(text)
        passes.append(time.perf_counter() - t0)
    return timings, passes


def report(name: str, batch: list[str], timings: list[float], passes: list[float]) -> None:
    rates = [len(batch) / seconds for seconds in passes]
    print(
        f"{name}: one classification p50 {1e6 * statistics.median(timings):.0f} µs, "
        f"p95 {1e6 * percentile(timings, 0.95):.0f} µs, "
        f"p99 {1e6 * percentile(timings, 0.99):.0f} µs, max {1e6 * timings[-1]:.0f} µs; "
        f"batch {statistics.median(rates):.0f} texts/s, median of "
        + ", ".join(f"{rate:.0f}" for rate in rates)
        + f" ({sum(map(len, batch)) / min(passes) / 1000:.0f}k chars/s at best)"
    )


def cold(runs: list[tuple[float, ...]]) -> str:
    return "; ".join(
        f"{1000 * total:.0f} ms (= {1000 * imported:.0f} + {1000 * built:.0f} + {1000 * first:.0f})"
        for imported, built, first, total in runs
    )


def load() -> str:
    return "load average " + ", ".join(f"{value:.2f}" for value in os.getloadavg())


def reference_loop() -> float:
    """Nanoseconds per item of a plain Python loop of dictionary lookups (best of five, CPU
    time): how fast this interpreter runs on this machine, to compare machines."""
    table = {str(i): i for i in range(16000)}
    keys = [str(i) for i in range(0, 16000, 7)] * 20
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        [(key, value * 2.0) for key in keys if (value := table.get(key)) is not None]
        best = min(best, time.process_time() - started)
    return 1e9 * best / len(keys)


def main() -> None:
    print(f"{load()} at start, {os.cpu_count()} cores")
    print(f"reference loop: {reference_loop():.0f} ns per lookup (lower is a faster machine)")
    from nlp import Classifier
    from nlp.emergency import detect_emergency
    from nlp.training import Example, train

    rows = [row for name in SETS for row in labelled(name)]
    texts = [text for text, _ in rows]
    batch = (texts * (BATCH // len(texts) + 1))[:BATCH]
    classifier = Classifier.load_default()
    shipped = classifier.base
    examples = [Example(t, d) for t, d in labelled("labelled_complaints.csv")]
    model = train(examples, classifier.features, datetime.now(UTC))
    with tempfile.TemporaryDirectory() as folder:
        model_file = Path(folder) / "model.json"
        model.save(model_file)
        # A city data directory whose empty base model stands for "no base model".
        no_base = Path(folder) / "no-base"
        no_base.mkdir()
        (no_base / "base_model.json").write_text("{}", encoding="utf-8")
        cold_rules = fresh_process_start("", str(no_base))
        cold_shipped = fresh_process_start("")
        cold_model = fresh_process_start(str(model_file))
        size = model_file.stat().st_size
    base_size = (ROOT / "nlp" / "data" / "base_model.json").stat().st_size

    print(f"python {platform.python_version()} on {platform.machine()}")
    print(
        f"{len(batch)} texts of {min(map(len, texts))}-{max(map(len, texts))} characters "
        f"(mean {statistics.mean(map(len, texts)):.0f})"
    )
    print(
        "cold start, fresh interpreter, import → first classification "
        "(total = import + dictionary, rules and models + first classification):"
    )
    print("  rules and danger model: " + cold(cold_rules))
    print(f"  + base model ({base_size / 1024:.0f} KiB, what `hotline classify` loads): ")
    print("    " + cold(cold_shipped))
    print(f"  + a centre's model ({size / 1024:.0f} KiB): " + cold(cold_model))
    classifier.use_base(None)
    timings, passes = measure(classifier.classify, batch)
    report("rules and danger model", batch, timings, passes)
    classifier.use_base(shipped)
    timings, passes = measure(classifier.classify, batch)
    report("+ base model (hotline classify)", batch, timings, passes)

    def console(text: str) -> object:
        """What POST /api/classify computes besides the HTTP work."""
        found = classifier.classify(text)
        return found.to_json_dict(), detect_emergency(text)

    timings, passes = measure(console, batch)
    report("+ the console's JSON and emergency check (POST /api/classify)", batch, timings, passes)
    classifier.use_model(model)
    timings, passes = measure(classifier.classify, batch)
    report(f"+ a centre's model of {model.examples} tickets", batch, timings, passes)
    print(f"{load()} at the end; reference loop {reference_loop():.0f} ns per lookup")


if __name__ == "__main__":
    main()
