"""The scale benchmark's chart: completions per second against the cap, each design beside the ideal
(cap / task duration), on log axes (matplotlib, from the ``dev`` extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

COLOURS = {"single": "#d62728", "ganger": "#1f77b4"}
LABELS = {"single": "single counter (before)", "ganger": "ganger: lanes, counter-free hand-offs"}


def draw(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    ideal: dict[int, float] = {}
    for design, workloads in results["designs"].items():
        points = sorted((f["cap"], f["completions_per_s"]) for f in workloads.values())
        for f in workloads.values():
            ideal[f["cap"]] = f["ideal_per_s"]
        ax.plot([p[0] for p in points], [p[1] for p in points], "o-", color=COLOURS.get(design),
                label=LABELS.get(design, design))  # fmt: skip
        for cap, rate in points:
            ax.annotate(f"{rate:,.0f}/s", (cap, rate), textcoords="offset points", xytext=(6, -12), fontsize=8)
    caps = sorted(ideal)
    ax.plot(caps, [ideal[c] for c in caps], "k--", linewidth=1, label="ideal (cap / duration)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("labourer cap (tasks at once)")
    ax.set_ylabel("completions per second (steady state)")
    model = results.get("model", {})
    ax.set_title(
        "One labourer on the contending DynamoDB "
        f"(tx {model.get('transaction_ms', '?')} ms, {model.get('key_write_units_per_s', '?'):.0f} WCU/s per key)",
        fontsize=10,
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
