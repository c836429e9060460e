"""Extraction speed: median time to extract the checklist from a typical 1.5 KB inquiry, on one core.

Prints figures; not a pass/fail test. Target: <= 1.0 ms median (>= 1,000 inquiries/s) for extraction
(rules + identity + signals on the parsed message). Parsing (MIME, charset, quote split) is shown separately.
Each figure is the best median of --rounds rounds: other work on a shared machine only ever slows a round down.
With --corpus FILE.jsonl (the corpus format of `eval`), the median and 90th percentile of extraction over its
messages are printed too.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from daemon import config  # noqa: E402
from daemon.assess import assess  # noqa: E402
from daemon.evaluate import load_corpus, record_bytes  # noqa: E402
from daemon.parse.message import parse  # noqa: E402
from daemon.toolkit import load_toolkit  # noqa: E402
from extractors.core.model import MessageKey, RawMessage  # noqa: E402

INQUIRY = b"""From: Katrin Vogel <k.vogel@nordlicht-handel.example>
To: sales@brightway-power.example
Subject: RFQ: LED flood light 150W, 2,000 pcs
Date: Mon, 02 Nov 2026 09:00:00 +0100
Message-ID: <bench-1@nordlicht-handel.example>
Content-Type: text/plain; charset=utf-8

Dear Brightway team,

We are a lighting wholesaler in Hamburg supplying installers in Germany and Austria. For our warehouse
and parking-lot projects we need LED flood lights as follows:

- Model: 150W LED flood light, IP66, 5000K, 100-277V AC, die-cast aluminium housing
- Quantity: 2,000 pcs for the first order, then about 12,000 pcs per year
- Certification: CE and RoHS are required, ENEC preferred
- Packaging: individual colour box, 10 pcs per export carton, palletized
- Delivery: within 45 days after deposit, FOB Ningbo, by sea to Hamburg
- Payment: T/T 30% deposit, 70% before shipment
- Target price: USD 18.50/pc
- Inspection: AQL 2.5 pre-shipment inspection, 5-year warranty
- Private label with our logo on the housing and the box

Please send your offer by 16 November. Could you also tell us the sample lead time?

Best regards,

Katrin Vogel
Purchasing Manager
Nordlicht Handel GmbH
Billstrasse 118, 20539 Hamburg, Germany
Phone: +49 40 66969 214
www.nordlicht-handel.example
"""


def median_ms(fn, n: int, rounds: int) -> float:  # noqa: ANN001
    best = float("inf")
    for _ in range(rounds):
        times = []
        for _ in range(n):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        best = min(best, statistics.median(times) * 1000)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5, help="rounds per figure; the best median is shown")
    ap.add_argument("--corpus", type=Path, help="also time extraction over the messages of this corpus (.jsonl)")
    args = ap.parse_args()
    rounds = args.rounds
    kit = load_toolkit(config.embedded_default(), quiet=True, drafts=False)
    raw = RawMessage(MessageKey("bench", "INBOX", 1, 1), INQUIRY)
    parsed = parse(raw, kit.platforms)
    for _ in range(50):
        kit.extractor.extract(parsed)
    n = 1000
    body = len(parsed.text) + len(parsed.signature)
    extract = median_ms(lambda: kit.extractor.extract(parsed), n, rounds)
    rules_only = median_ms(lambda: kit.extractor.run_rules(parsed), n, rounds)
    parse_ms = median_ms(lambda: parse(raw, kit.platforms), 200, rounds)
    checklist = kit.extractor.extract(parsed)
    decide = median_ms(lambda: assess(checklist, kit.decisions), n, rounds)
    print(f"inquiry body: {body} characters, clarity {checklist.clarity}/18")
    print(f"{'stage':<28}{'median ms':>10}{'per second':>12}")
    for name, ms in (("extract (rules+identity)", extract), ("  of which rules engine", rules_only),
                     ("assess (decisions)", decide), ("parse (MIME, quotes, lang)", parse_ms)):
        print(f"{name:<28}{ms:>10.3f}{1000 / ms:>12.0f}")
    if args.corpus:
        messages = [parse(RawMessage(MessageKey("bench", "corpus", 1, i + 1), record_bytes(rec)), kit.platforms)
                    for i, rec in enumerate(load_corpus(args.corpus))]
        per_message = []
        for msg in messages:
            for _ in range(20):
                kit.extractor.extract(msg)
            per_message.append(median_ms(lambda msg=msg: kit.extractor.extract(msg), 200, rounds))
        per_message.sort()
        sizes = sorted(len(m.text) + len(m.signature) for m in messages)
        print(f"corpus: {len(messages)} messages, median body {sizes[len(sizes) // 2]} characters; extraction median "
              f"{statistics.median(per_message):.3f} ms, p90 {per_message[int(0.9 * (len(per_message) - 1))]:.3f} ms, "
              f"max {per_message[-1]:.3f} ms")


if __name__ == "__main__":
    main()
