"""Time a render of the default payload template against ``json.dumps`` of the same output.

Run it with ``make bench`` or ``python bench/bench_templating.py [--number N] [--repeat R]``.
Issue 2 sets the target: a render costs at most 3 times the ``json.dumps`` of what it produces.
"""

from __future__ import annotations

import argparse
import json
import timeit
from dataclasses import dataclass

from airflow_provider_thordata.templating import DEFAULT_PAYLOAD_TEMPLATE, PayloadTemplate
from airflow_provider_thordata.templating.samples import sample_variables

TARGET_RATIO = 3.0


@dataclass(frozen=True)
class Measurement:
    """Best-of-``repeat`` seconds per call for both operations, and their ratio."""

    render_seconds: float
    dumps_seconds: float

    @property
    def ratio(self) -> float:
        return self.render_seconds / self.dumps_seconds


def measure(number: int = 20_000, repeat: int = 7) -> Measurement:
    """Time both operations; each figure is the best of ``repeat`` runs of ``number`` calls."""
    template = PayloadTemplate(DEFAULT_PAYLOAD_TEMPLATE)
    variables = sample_variables()
    body = template.render(variables)
    document = json.loads(body)

    def dumps() -> bytes:
        return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    if dumps() != body:
        raise RuntimeError("the render and json.dumps disagree, the comparison would be meaningless")
    render_timer = timeit.Timer(lambda: template.render(variables))
    dumps_timer = timeit.Timer(dumps)
    render_runs: list[float] = []
    dumps_runs: list[float] = []
    for _ in range(repeat):  # alternate, so that a busy moment of the machine hits both alike
        render_runs.append(render_timer.timeit(number))
        dumps_runs.append(dumps_timer.timeit(number))
    return Measurement(min(render_runs) / number, min(dumps_runs) / number)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=20_000, help="calls per timing run")
    parser.add_argument("--repeat", type=int, default=7, help="timing runs; the best is kept")
    arguments = parser.parse_args()

    result = measure(arguments.number, arguments.repeat)
    print(f"render of the default payload template: {result.render_seconds * 1e6:8.2f} us")
    print(f"json.dumps of the same output:          {result.dumps_seconds * 1e6:8.2f} us")
    verdict = "within" if result.ratio <= TARGET_RATIO else "ABOVE"
    print(f"ratio: {result.ratio:.2f} ({verdict} the target of {TARGET_RATIO:g})")


if __name__ == "__main__":
    main()
