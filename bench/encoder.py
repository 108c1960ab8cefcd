"""Cost of the all-MiniLM-L6-v2 encoder (ingest/encoder.py) on real list mail.

    .venv/bin/python bench/encoder.py [--texts N] [--lengths 64 128 256] [--batches 1 8 32]

Texts are the authors' own words (quotes, signatures and footers removed, as the stance
model reads them) of replies spread evenly over the twisted-python mbox in ../shared
(read only; nothing of it is written anywhere). For each max_tokens and batch size it
encodes all texts three times and prints the median milliseconds per text (wall clock, and
process CPU time, which other load on the machine inflates less), with how long the texts
are in tokens, since a text shorter than max_tokens costs less than a full one.
Ends with the load time and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from itertools import islice
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.encoder import SentenceEncoder  # noqa: E402
from ingest.parse import parse_message  # noqa: E402
from ingest.records import RejectedMessage  # noqa: E402
from ingest.segments import own_text, segment_body  # noqa: E402
from ingest.sources.mbox import iter_mbox  # noqa: E402

MBOX = ROOT.parent / "shared" / "corpora" / "twisted-python" / "mbox" / "twisted-10k.mbox.gz"
#: Messages in the mbox the texts are drawn from, one every N/texts, so all years count.
SCANNED = 10_000
RUNS = 3
WIDTHS = (10, 9, 5, 6, 8, 8)


def own_texts(count: int) -> list[str]:
    """The own text of ``count`` replies spread over the mbox (empty ones skipped)."""
    step = max(1, SCANNED // count)
    texts: list[str] = []
    for raw in islice(iter_mbox(MBOX), 0, None, step):
        try:
            message = parse_message(raw)
        except RejectedMessage:
            continue
        text = own_text(segment_body(message.body)).strip()
        if text:
            texts.append(text)
        if len(texts) == count:
            break
    return texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=96)
    parser.add_argument("--lengths", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    args = parser.parse_args()

    texts = own_texts(args.texts)
    started = time.perf_counter()
    encoder = SentenceEncoder.load()
    load_s = time.perf_counter() - started
    full = [encoder.token_count(text) for text in texts]
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(
        f"{len(texts)} own texts: median {statistics.median(full):.0f} tokens, "
        f"mean {statistics.fmean(full):.0f}, max {max(full)} (capped at 512)"
    )
    header = ("max_tokens", "mean tok", "cut", "batch", "ms/text", "cpu ms")
    print(" ".join(f"{name:>{width}}" for name, width in zip(header, WIDTHS, strict=True)))
    for max_tokens in args.lengths:
        used = [min(n, max_tokens) for n in full]
        cut = sum(n > max_tokens for n in full) / len(full)
        for batch_size in args.batches:
            encoder.encode(texts[:batch_size], max_tokens, batch_size)  # warm up
            timings, cpu = [], []
            for _ in range(RUNS):
                started, cpu_started = time.perf_counter(), time.process_time()
                encoder.encode(texts, max_tokens, batch_size)
                timings.append(time.perf_counter() - started)
                cpu.append(time.process_time() - cpu_started)
            ms = statistics.median(timings) * 1000 / len(texts)
            cpu_ms = statistics.median(cpu) * 1000 / len(texts)
            print(
                f"{max_tokens:>10} {statistics.fmean(used):>9.0f} {cut:>5.0%} "
                f"{batch_size:>6} {ms:>8.1f} {cpu_ms:>8.1f}",
                flush=True,
            )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"load {load_s:.2f} s (hashing and parsing 91 MB); peak RSS {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
