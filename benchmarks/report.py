"""The run's results as JSON, a Markdown table against the targets, and a chart of latency against rate; and the
README's benchmark section, rewritten from that table."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from benchmarks import channels

NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
README_START = "<!-- bench:start -->"
README_END = "<!-- bench:end -->"


def _ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.3g}" if value < 100 else f"{value:,.0f}"


def _rate(value: float | None) -> str:
    return "none held" if value is None else f"{value:,.0f}/s"


def _ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return "–"
    ratio = a / b
    return f"{ratio:.2f}" if ratio >= 0.1 else f"{ratio:.3f}"


def _held(search: dict[str, Any] | None) -> str:
    if not search:
        return "–"
    text = _rate(search["held_rate"])
    if search.get("generator_limited"):
        text += " (generator-limited)"
    elif search.get("stopped_by"):
        text += f" (next step: {search['stopped_by']})"
    else:
        text += " (top of the ladder)"
    return text


def _peak(search: dict[str, Any]) -> float:
    """The most requests answered (with the expected status) per second in any step of a search."""
    return max((step["achieved_rate"] for step in search.get("steps", [])), default=0.0)


def _row(label: str, values: list[str], target: str) -> str:
    return "| " + " | ".join([label, *values, target]) + " |"


def _others(db: dict[str, Any]) -> str:
    """The most CPU other processes on the machine took during any step: the load the run competed with."""
    most = 0.0
    searches = [db.get("noop"), db.get("ingest"), *_locations(db).values()]
    for search in searches:
        for step in (search or {}).get("steps", []):
            most = max(most, step.get("other_cpu") or 0.0)
    for entry in (db.get("press_to_console") or {}).get("rates", []):
        most = max(most, entry["press"].get("other_cpu") or 0.0)
    return f"{most:.2f}"


def _locations(db: dict[str, Any]) -> dict[str, dict[str, Any] | None]:
    """The location scenario's runs, ``http``, ``stream`` and ``osmand`` (results from before the stream scenario
    hold only the HTTP run, as ``locations`` itself; from before the trackers, no ``osmand``)."""
    runs = db.get("locations") or {}
    if "steps" in runs:
        return {"http": runs, "stream": None, "osmand": None}
    return {"http": runs.get("http"), "stream": runs.get("stream"), "osmand": runs.get("osmand")}


def markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    dbs = {k: v for k, v in results["databases"].items() if "skipped" not in v}
    kinds = list(dbs)
    head = ["| measured | " + " | ".join(NAMES.get(k, k) for k in kinds) + " | target |"]
    head.append("| --- | " + " | ".join("---" for _ in kinds) + " | --- |")
    rows: list[str] = []

    def each(fn: Any) -> list[str]:
        return [fn(dbs[k]) for k in kinds]

    rows.append(
        _row(
            "Raw durable commits/s (1 writer / 8 writers)",
            each(
                lambda d: f"{d['commit_rate']['one_writer_per_s']:,.0f} / {d['commit_rate']['concurrent_per_s']:,.0f}"
            ),
            "baseline",
        )
    )
    rows.append(_row("No-op endpoint: highest rate with p99 < 50 ms", each(lambda d: _held(d.get("noop"))), "baseline"))
    rows.append(_row("SOS ingest: highest rate with p99 < 50 ms", each(lambda d: _held(d.get("ingest"))), "–"))
    rows.append(
        _row(
            "Most answered per second in one step: no-op / ingest",
            each(lambda d: f"{_peak(d['noop']):,.0f} / {_peak(d['ingest']):,.0f}"),
            "–",
        )
    )
    rows.append(
        _row(
            "Ingest ÷ no-op: held rate / most answered per second",
            each(
                lambda d: (
                    f"{_ratio(d['ingest']['held_rate'], d['noop']['held_rate'])} / "
                    f"{_ratio(_peak(d['ingest']), _peak(d['noop']))}"
                )
            ),
            "≥ 0.5",
        )
    )
    rows.append(
        _row(
            "Ingest ÷ raw commits (1 writer / 8 writers)",
            each(
                lambda d: (
                    f"{_ratio(d['ingest']['held_rate'], d['commit_rate']['one_writer_per_s'])} / "
                    f"{_ratio(d['ingest']['held_rate'], d['commit_rate']['concurrent_per_s'])}"
                )
            ),
            "–",
        )
    )

    def at_1000(d: dict[str, Any]) -> str:
        step = d["ingest_at_1000"]
        return f"p99 {_ms(step['latency_ms']['p99'])} ms, {step['ok']}/{step['scheduled']} stored" + (
            " (generator behind)" if step["generator_saturated"] else ""
        )

    rows.append(_row("Ingest at 1,000 alerts/s", each(at_1000), "p99 < 50 ms"))
    rows.append(
        _row(
            "Every 201 durable (SIGKILL, then looked up)",
            each(
                lambda d: (
                    f"{d['durability']['answered_201'] - d['durability']['missing_after_sigkill']:,}"
                    f" of {d['durability']['answered_201']:,}"
                )
            ),
            "all",
        )
    )
    console_rates = sorted({e["rate"] for d in dbs.values() for e in d["press_to_console"]["rates"]})
    for rate in console_rates:

        def console(d: dict[str, Any], rate: float = rate) -> str:
            entry = next((e for e in d["press_to_console"]["rates"] if e["rate"] == rate), None)
            if entry is None:
                return "–"
            lat = entry["console_latency_ms"]
            # Presses stored after the generator gave up on them reach the consoles too: cap the share at 100%.
            expected = entry["deliveries_expected"]
            share = min(1.0, entry["deliveries_received"] / expected) if expected else 0.0
            return f"{_ms(lat['p50'])} / {_ms(lat['p99'])} / {_ms(lat['p99.9'])} ms, {share:.0%} delivered" + (
                f", {entry['too_slow_closes']} dropped" if entry["too_slow_closes"] else ""
            )

        consoles = next(iter(dbs.values()))["press_to_console"]["connected"]
        target = "p99 < 100 ms" if rate >= 500 else "–"
        rows.append(
            _row(f"Press-to-console, {rate:,.0f} alerts/s × {consoles} consoles: p50/p99/p99.9", each(console), target)
        )
    rows.append(
        _row(
            "Consoles turned away when all connected at once (then reconnected)",
            each(
                lambda d: (
                    f"{d['press_to_console'].get('turned_away_when_all_connected_at_once', 0)} of "
                    f"{d['press_to_console']['consoles']}"
                )
            ),
            "0",
        )
    )

    def held_stream(d: dict[str, Any]) -> str:
        stream = _locations(d)["stream"]
        if not stream:
            return "–"
        return f"{_held(stream)}, {stream['officers_connected']:,} officers connected"

    rows.append(
        _row("Officer location updates over their streams held (p99 ack < 50 ms)", each(held_stream), "≥ 5,000/s")
    )
    rows.append(
        _row(
            "Officer location updates over HTTP held (p99 < 50 ms)",
            each(lambda d: _held(_locations(d)["http"])),
            "–",
        )
    )

    def held_osmand(d: dict[str, Any]) -> str:
        osmand, stream = _locations(d)["osmand"], _locations(d)["stream"]
        if not osmand:
            return "–"
        if not stream or not stream.get("held_rate") or not osmand.get("held_rate"):
            return _held(osmand)
        return f"{_held(osmand)}; {osmand['held_rate'] / stream['held_rate']:.2f} × the streams'"

    rows.append(_row("Unit positions from GPS trackers over OsmAnd held (p99 < 50 ms)", each(held_osmand), "–"))

    def written(d: dict[str, Any]) -> str:
        parts = []
        for key, answer in (
            ("stream", "acknowledged on the streams"),
            ("http", "answered 202 over HTTP"),
            ("osmand", "answered 200 over OsmAnd"),
        ):
            run = _locations(d)[key]
            if run:
                parts.append(f"{run['written_total']:,} for {run['accepted_total']:,} {answer}")
        return "; ".join(parts) or "–"

    rows.append(
        _row(
            "Location updates written to the database (some answered after the generator gave up)",
            each(written),
            "all",
        )
    )
    for label, key, target in (
        ("at start", "idle_after_start", "–"),
        ("at start with the officers", "idle_with_officers", "–"),
        ("no-op", "noop", "–"),
        ("ingest", "ingest", "–"),
        ("officers + consoles", "consoles", "< 300 MB"),
        ("location updates", "locations", "–"),
    ):
        rows.append(
            _row(
                f"Peak server memory (VmHWM), {label}",
                each(lambda d, key=key: f"{_ms(d['memory_mb'].get(key))} MB"),
                target,
            )
        )

    def stream_memory(d: dict[str, Any]) -> str:
        stream = _locations(d)["stream"]
        if not stream:
            return "–"
        return f"{_ms(stream.get('peak_memory_mb'))} MB with {stream['officers_connected']:,} streams open"

    rows.append(_row("Peak server memory (VmHWM), officers' positions over their streams", each(stream_memory), "–"))
    rows.append(_row("Most CPU taken by other processes during a step (cores)", each(_others), "–"))

    nearest = [
        "",
        "| units on duty (80% available) | p50 | p99 | p99.9 | max | target (p99) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    targets = {10_000: "< 2 ms", 100_000: "< 5 ms"}
    for entry in results.get("nearest", []):
        lat = entry["latency_ms"]
        nearest.append(
            f"| {entry['units']:,} | {_ms(lat['p50'])} ms | {_ms(lat['p99'])} ms | {_ms(lat['p99.9'])} ms | "
            f"{_ms(lat['max'])} ms | {targets.get(entry['units'], '–')} |"
        )
    again = results.get("nearest_meta")
    if again:
        nearest.append("")
        nearest.append(f"Nearest units measured again on commit {again['commit']} ({again['date']}): {again['why']}.")
    cfg = meta["config"]
    note = (
        f"Run {meta['date']} on commit {meta['commit']}{' (with uncommitted changes)' if meta['dirty'] else ''}, "
        f"{meta['cpus']} CPUs, load average {meta['loadavg_before']} before and {meta['loadavg_after']} after; "
        f"{'quick run, ' if meta['quick'] else ''}steps of {cfg['step_s']} s, {cfg['officers']:,} officers on duty, "
        f"{cfg['generator_processes']} generator process(es), {cfg['console_processes']} console process(es); "
        f"{meta['seconds']:.0f} s in all. Latencies are from each request's scheduled time (open model)."
    )
    lanes = channels.markdown(results.get("channels") or {}, results.get("channels_meta"))
    return "\n".join([note, "", *head, *rows, *nearest, *lanes]) + "\n"


def _better_runs(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One run per rate: of a rung run twice, the held one (or the one with the lower p99)."""
    best: dict[float, dict[str, Any]] = {}
    for step in steps:
        key = (step["verdict"] != "held", step["latency_ms"]["p99"] or 0.0)
        kept = best.get(step["rate"])
        if kept is None or key < (kept["verdict"] != "held", kept["latency_ms"]["p99"] or 0.0):
            best[step["rate"]] = step
    return [best[rate] for rate in sorted(best)]


def chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dbs = {k: v for k, v in results["databases"].items() if "skipped" not in v}
    figure, axes = plt.subplots(1, max(1, len(dbs)), figsize=(6.5 * max(1, len(dbs)), 4.6), squeeze=False)
    styles = {
        "noop": ("tab:gray", "no-op"),
        "ingest": ("tab:red", "SOS ingest"),
        "http": ("tab:blue", "locations (HTTP)"),
        "stream": ("tab:purple", "locations (stream)"),
    }
    for axis, (kind, db) in zip(axes[0], dbs.items(), strict=False):
        searches = {"noop": db.get("noop"), "ingest": db.get("ingest"), **_locations(db)}
        for key, (colour, label) in styles.items():
            steps = _better_runs((searches.get(key) or {}).get("steps", []))
            if not steps:
                continue
            rates = [s["rate"] for s in steps]
            axis.plot(rates, [s["latency_ms"]["p99"] for s in steps], "-o", color=colour, label=f"{label} p99")
            axis.plot(rates, [s["latency_ms"]["p50"] for s in steps], ":", color=colour, label=f"{label} p50")
            behind = [
                s
                for s in steps
                if s["generator_saturated"] and (s["send_lag_ms"]["p99"] or 0) >= 25 and (s["server_cpu"] or 0) < 0.85
            ]
            if behind:
                axis.plot(
                    [s["rate"] for s in behind], [s["latency_ms"]["p99"] for s in behind], "x", color="black", ms=10
                )
        consoles = (db.get("press_to_console") or {}).get("rates", [])
        if consoles:
            axis.plot(
                [e["rate"] for e in consoles],
                [e["console_latency_ms"]["p99"] or 0 for e in consoles],
                "s--",
                color="tab:green",
                label="press-to-console p99",
            )
        axis.axhline(50, color="black", lw=0.8, ls="--")
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("offered rate (requests or stream messages/s, open model)")
        axis.set_ylabel("latency from scheduled start (ms)")
        axis.set_title(f"{NAMES.get(kind, kind)} (x: generator behind)")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if not isinstance(v, bytes)}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def write(results: dict[str, Any], folder: Path) -> dict[str, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    text = markdown(results)
    files = [folder / "results.json", folder / "results.md", folder / "latency.png"]
    files[0].write_text(json.dumps(_strip(results), indent=1) + "\n")
    files[1].write_text("# Siaga benchmark results\n\n" + text + "\n![latency against rate](latency.png)\n")
    chart(results, files[2])
    return {"files": files, "markdown_text": text}


def readme_block(table: str) -> str:
    return f"""{README_START}
## Benchmarks

```sh
make bench                                   # both databases, 15-20 minutes on 2 cores; writes benchmarks/results/
BENCH_QUICK=1 make bench                     # a smoke run of a few minutes (results in benchmarks/results/quick/)
BENCH_DATABASES=sqlite make bench            # one database
.venv/bin/python -m benchmarks.report --readme   # this section again from benchmarks/results/results.json
```

`make bench` installs the pinned `requirements/bench.txt` into `.venv` and runs `python -m benchmarks` (not part of
`make test`). Each database gets real `siaga serve` processes on fresh scratch databases (a SQLite file in a
temporary folder; a new PostgreSQL database on 127.0.0.1:5432, dropped afterwards), migrated with
`siaga db upgrade`. The load is an *open model*: requests are scheduled at a constant rate whether or not earlier
ones were answered, and every latency runs from the request's scheduled time into an HdrHistogram, so a stalled
server cannot hide its tail. Each rate is a step; a missed step runs twice; the search stops at the first rung missed
twice. Baselines come from the same run: the no-op endpoint `POST /api/v1/noop` (same app, middleware and SOS
validation; no token, no database) and the database's raw durable commit rate (one INSERT and COMMIT in a loop with
Siaga's durability settings, 1 and 8 writers). Ingest counts only 201s; afterwards the server is killed with SIGKILL
and every press answered 201 is looked up. Press-to-console runs from each press's scheduled time to its `created`
message on every one of the console WebSockets. Officers' location updates are measured twice: one
`POST /api/v1/officers/me/location` per position (a token lookup each), then over the officers' own streams, every
seeded officer's `/api/v1/stream/officer` connected at once (`benchmarks/officerload.py`, websockets' sans-I/O
client), each message's latency running from its scheduled time to its `positions_ack`; both count the positions
that reached `unit_positions` (`python -m benchmarks.officerload` runs this scenario alone). Recommendation is
timed in-process on the server's own tracker code
(`siaga.dispatch.recommend`), i.e. inside the server, without HTTP. Peak memory is the server's `VmHWM`, reset per
scenario. Setup is not measured: Bandung comes from the demo seed, residents and console operators are made
through the API, the on-duty officers straight through the ORM (units, accounts, sessions, duty, positions).
Escalation timers are set to a day so the benchmark's unacknowledged alerts do not escalate mid-run. Last, the
other channels run on SQLite with their real gateways, each on a demo city of its own (`benchmarks/channels.py`;
`BENCH_CHANNELS=0` leaves them out): an SOS texted into Gammu SMSD's dummy modem, timed from the message reaching the
modem to the console's `created` message, and a panic published by one of 1,000 connected MQTT buttons through
Mosquitto, timed from its publish; before each, the same number of app presses at the same rate go to the same
server and console, the baseline of the ratio. GPS trackers' positions over OsmAnd are measured with the officers'.

The generator and the consoles share the 2 cores with the server (and, on a developer machine, with whatever else
runs): each step records the generator's start lag and CPU, the server's CPU and what other processes took; a step
whose generator fell behind is marked, and steps wait for a quiet moment first. Scale a run with `BENCH_*`
variables (`BENCH_RATES`, `BENCH_STEP_S`, `BENCH_OFFICERS`, `BENCH_CONSOLES`, `BENCH_GEN_PROCS`,
`BENCH_STREAM_RATES`, `BENCH_STREAM_PROCS`, ...; see
`benchmarks/run.py`).

{table}
![latency against rate](benchmarks/results/latency.png)
{README_END}"""


def update_readme(readme: Path, table: str) -> None:
    """Rewrite the block between the markers (added before "## Development" if it is missing)."""
    text = readme.read_text()
    block = readme_block(table)
    if README_START in text and README_END in text:
        pattern = re.compile(re.escape(README_START) + ".*?" + re.escape(README_END), re.S)
        text = pattern.sub(lambda _: block, text, count=1)
    elif "## Development" in text:
        text = text.replace("## Development", block + "\n\n## Development", 1)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    readme.write_text(text)


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.report [RESULTS.json] [--readme]``: render results.md and the chart again from a run's
    JSON (by default ``benchmarks/results/results.json``), and with ``--readme`` rewrite the README's block."""
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    root = Path(__file__).resolve().parents[1]
    readme = "--readme" in args
    paths = [a for a in args if a != "--readme"]
    source = Path(paths[0]) if paths else root / "benchmarks" / "results" / "results.json"
    results = json.loads(source.read_text())
    written = write(results, source.parent)
    if readme:
        update_readme(root / "README.md", written["markdown_text"])
    print(written["markdown_text"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
