"""The run report: ``report.html`` (self-contained) and ``timeline.png`` from a run's summary.json.

``pipeline-tools run`` calls :func:`write_report` after each execution. The HTML has inline CSS and
inline SVG only (no script, no font or stylesheet from a CDN), so it reads the same offline, from a
CI artifact or an e-mail attachment. Summaries come from several producers (local emulator, AWS,
a failed run that stopped early), so every field is optional and shown only when present.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

from .files import write_atomic

STATUS_COLOURS = {
    "SUCCEEDED": "#1d8102",
    "FAILED": "#d13212",
    "TIMED_OUT": "#d13212",
    "ABORTED": "#8d6605",
    "RUNNING": "#0972d3",
    "CAUGHT": "#8d6605",
}
GREY = "#7d8998"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"


@dataclass(frozen=True)
class Bar:
    """One state on the timeline, in seconds from the execution's start."""

    name: str
    start: float
    duration: float
    status: str


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def timeline(summary: dict) -> list[Bar]:
    """States as bars. Uses timestamps when present, else lays durations end to end."""
    states = [s for s in summary.get("states") or [] if isinstance(s, dict)]
    starts = [_time(s.get("started_at")) for s in states]
    origin = _time(summary.get("started_at")) or min((t for t in starts if t), default=None)
    bars: list[Bar] = []
    cursor = 0.0
    for state, started in zip(states, starts):
        ended = _time(state.get("ended_at"))
        duration = _number(state.get("duration_seconds"))
        if duration is None and started and ended:
            duration = (ended - started).total_seconds()
        start = (started - origin).total_seconds() if started and origin else cursor
        duration = max(duration or 0.0, 0.0)
        bars.append(Bar(str(state.get("name", "?")), max(start, 0.0), duration, str(state.get("status") or "")))
        cursor = max(cursor, start + duration)
    return bars


def _nice_step(span: float, ticks: int = 6) -> float:
    """A 1/2/5 x 10^n tick step giving about ``ticks`` ticks over ``span``."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)


def _fmt_seconds(value: float) -> str:
    if value >= 120:
        return f"{value / 60:.1f} min"
    return f"{value:.1f} s" if value < 10 else f"{value:.0f} s"


def timeline_svg(bars: list[Bar], total: float | None = None) -> str:
    """A Gantt-like chart: one row per state, bars coloured by status, a seconds axis."""
    if not bars:
        return '<p class="muted">No state timings recorded.</p>'
    label_width, chart_width, row, top = 250, 520, 30, 10
    end = max([b.start + b.duration for b in bars] + [total or 0.0]) or 1.0
    step = _nice_step(end)
    scale = chart_width / (math.ceil(end / step) * step)
    height = top + row * len(bars) + 30
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_width + chart_width + 70}" height="{height}" '
        f'role="img" aria-label="State timeline" font-family="{FONT}" font-size="12">'
    ]
    tick = 0.0
    while tick <= end + step / 2:
        x = label_width + tick * scale
        out.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 24}" stroke="#e9ebed"/>')
        out.append(f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle" fill="#5f6b7a">{escape(_fmt_seconds(tick))}</text>')
        tick += step
    for index, bar in enumerate(bars):
        y = top + index * row
        colour = STATUS_COLOURS.get(bar.status.upper(), GREY)
        width = max(bar.duration * scale, 2)
        out.append(f'<text x="{label_width - 10}" y="{y + 19}" text-anchor="end" fill="#16191f">{escape(bar.name)}</text>')
        out.append(
            f'<rect x="{label_width + bar.start * scale:.1f}" y="{y + 6}" width="{width:.1f}" height="{row - 12}" rx="3" fill="{colour}">'
            f"<title>{escape(bar.name)}: {escape(bar.status or 'unknown')}, {bar.duration:.2f} s</title></rect>"
        )
        out.append(
            f'<text x="{label_width + bar.start * scale + width + 6:.1f}" y="{y + 19}" fill="#5f6b7a">{bar.duration:.2f} s</text>'
        )
    out.append("</svg>")
    return "".join(out)


def metric_series(history: Any) -> dict[str, list[tuple[float, float]]]:
    """``[{"round": 0, "train-rmse": 0.4}, ...]`` -> ``{"train-rmse": [(0, 0.4), ...]}``."""
    series: dict[str, list[tuple[float, float]]] = {}
    for index, entry in enumerate(history or []):
        if not isinstance(entry, dict):
            continue
        x = _number(entry.get("round"))
        x = float(index) if x is None else x
        for key, value in entry.items():
            y = _number(value)
            if key != "round" and y is not None:
                series.setdefault(str(key), []).append((x, y))
    return series


def metric_svg(series: dict[str, list[tuple[float, float]]]) -> str:
    """A line chart of the training metrics per boosting round."""
    if not series:
        return '<p class="muted">No per-round metrics recorded.</p>'
    width, height, left, right, top, bottom = 560, 260, 56, 150, 14, 36
    xs = [x for points in series.values() for x, _ in points]
    ys = [y for points in series.values() for _, y in points]
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y_step = _nice_step(max(ys) - min(ys) or abs(max(ys)) or 1.0, 5)
    y0, y1 = math.floor(min(ys) / y_step) * y_step, math.ceil(max(ys) / y_step) * y_step
    y1 = y1 if y1 > y0 else y0 + y_step
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * plot_w

    def py(y: float) -> float:
        return top + (y1 - y) / (y1 - y0) * plot_h

    palette = ["#0972d3", "#d13212", "#1d8102", "#8d6605", "#7d2ea3"]
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="Training metric per round" font-family="{FONT}" font-size="12">'
    ]
    value = y0
    while value <= y1 + y_step / 2:
        out.append(f'<line x1="{left}" y1="{py(value):.1f}" x2="{left + plot_w}" y2="{py(value):.1f}" stroke="#e9ebed"/>')
        out.append(f'<text x="{left - 6}" y="{py(value) + 4:.1f}" text-anchor="end" fill="#5f6b7a">{value:.3g}</text>')
        value += y_step
    x_step = max(1.0, _nice_step(x1 - x0, 8))
    value = x0
    while value <= x1 + 1e-9:
        out.append(f'<text x="{px(value):.1f}" y="{top + plot_h + 18}" text-anchor="middle" fill="#5f6b7a">{value:g}</text>')
        value += x_step
    out.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 2}" text-anchor="middle" fill="#5f6b7a">boosting round</text>')
    out.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#7d8998"/>')
    for index, (name, points) in enumerate(sorted(series.items())):
        colour = palette[index % len(palette)]
        coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in points)
        out.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for x, y in points:
            out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{colour}"><title>{escape(name)} round {x:g}: {y:.6g}</title></circle>')
        out.append(f'<rect x="{left + plot_w + 14}" y="{top + index * 20 + 2}" width="12" height="3" fill="{colour}"/>')
        out.append(f'<text x="{left + plot_w + 32}" y="{top + index * 20 + 8}" fill="#16191f">{escape(name)}</text>')
    out.append("</svg>")
    return "".join(out)


METRIC_LABELS = {"auc": "AUC", "accuracy": "accuracy (0.5)", "logloss": "log loss", "precision": "precision", "recall": "recall",
                 "f1": "F1", "rmse": "RMSE", "mae": "MAE", "mse": "MSE", "r2": "R²"}


def evaluation_facts(evaluation: dict, gate: dict) -> list[tuple[str, Any]]:
    """The evaluation.json figures a reader looks for first (± the standard deviation where the job
    computed one), then the gate's verdict and where the files are."""
    metrics, deviations = evaluation.get("metrics") or {}, evaluation.get("standard_deviations") or {}
    rows: list[tuple[str, Any]] = [("held-out rows", evaluation.get("rows")), ("positives", evaluation.get("positives"))]
    for name, label in METRIC_LABELS.items():
        if name in metrics:
            value, deviation = _number(metrics[name]), _number(deviations.get(name))
            rows.append((label, "n/a" if value is None else f"{value:.4f}" + (f" ± {deviation:.4f}" if deviation is not None else "")))
    if gate:
        verdict = "passed, registered" if gate.get("passed") else "failed, not registered"
        rows.append(("quality gate", f"{gate.get('metric')} {gate.get('relation')} {gate.get('threshold')}: {verdict}"))
        rows.append(("model package", gate.get("model_package_arn")))
    rows += [("evaluation.json", evaluation.get("evaluation_s3_uri")), ("predictions", evaluation.get("predictions_path"))]
    return rows


def roc_svg(evaluation: dict) -> str:
    """The held-out ROC curve (true positive rate against false positive rate) with the chance
    diagonal, its AUC in the legend: a picture a person would rather look at than read."""
    points = evaluation.get("roc") or []
    if not points:
        return '<p class="muted">No ROC curve: the held-out rows hold one class only.</p>'
    size, left, bottom, top = 300, 48, 40, 12
    plot = size - left - top

    def at(fpr: float, tpr: float) -> str:
        return f"{left + fpr * plot:.1f},{top + (1 - tpr) * plot:.1f}"

    auc = _number((evaluation.get("metrics") or {}).get("auc"))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size + bottom - top}" role="img" '
        f'aria-label="ROC curve of the held-out predictions" font-family="{FONT}" font-size="12">',
        f'<rect x="{left}" y="{top}" width="{plot}" height="{plot}" fill="none" stroke="#7d8998"/>',
        f'<line x1="{left}" y1="{top + plot}" x2="{left + plot}" y2="{top}" stroke="#aab7b8" stroke-dasharray="4 4"/>',
    ]
    for tick in (0, 0.5, 1):
        out.append(f'<text x="{left + tick * plot:.1f}" y="{top + plot + 16}" text-anchor="middle" fill="#5f6b7a">{tick:g}</text>')
        out.append(f'<text x="{left - 6}" y="{top + (1 - tick) * plot + 4:.1f}" text-anchor="end" fill="#5f6b7a">{tick:g}</text>')
    out.append(f'<text x="{left + plot / 2:.1f}" y="{top + plot + 32}" text-anchor="middle" fill="#5f6b7a">false positive rate</text>')
    out.append(f'<text x="12" y="{top + plot / 2:.1f}" text-anchor="middle" fill="#5f6b7a" transform="rotate(-90 12 {top + plot / 2:.1f})">true positive rate</text>')
    coords = " ".join(at(fpr, tpr) for fpr, tpr in points)
    out.append(f'<polyline points="{coords}" fill="none" stroke="#0972d3" stroke-width="2.5"/>')
    if auc is not None:
        out.append(f'<text x="{left + plot - 8}" y="{top + plot - 10}" text-anchor="end" fill="#0972d3" font-weight="600">AUC {auc:.3f}</text>')
    out.append("</svg>")
    return "".join(out)


def _human_bytes(value: Any) -> str | None:
    size = _number(value)
    if size is None:
        return None
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return None


def _facts(rows: list[tuple[str, Any]]) -> str:
    """A definition table of the rows whose value is present."""
    cells = [
        f"<tr><th>{escape(label)}</th><td>{escape(f'{value:,}' if isinstance(value, int) and not isinstance(value, bool) else str(value))}</td></tr>"
        for label, value in rows
        if value not in (None, "", {}, [])
    ]
    return f'<table class="facts">{"".join(cells)}</table>' if cells else '<p class="muted">Not recorded.</p>'


def _section(title: str, body: str) -> str:
    return f"<section><h2>{escape(title)}</h2>{body}</section>"


def _dict(summary: dict, key: str) -> dict:
    value = summary.get(key)
    return value if isinstance(value, dict) else {}


CSS = f"""
body {{ font-family: {FONT}; color: #16191f; background: #f2f3f3; margin: 0; }}
main {{ max-width: 960px; margin: 0 auto; padding: 24px; }}
header {{ background: #232f3e; color: #fff; padding: 18px 24px; }}
header h1 {{ font-size: 20px; margin: 0 0 4px; font-weight: 600; }}
header p {{ margin: 0; color: #d1d5db; font-size: 14px; }}
section {{ background: #fff; border-radius: 8px; padding: 16px 20px; margin: 0 0 16px; box-shadow: 0 1px 2px rgba(0,0,0,.12); }}
h2 {{ font-size: 16px; margin: 0 0 12px; }}
.badge {{ display: inline-block; padding: 2px 10px; border-radius: 12px; color: #fff; font-size: 13px; font-weight: 600; }}
.grid {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(280px, 1fr)); gap: 16px; }}
.grid section {{ margin: 0; }}
table.facts {{ border-collapse: collapse; width: 100%; font-size: 14px; }}
table.facts th {{ text-align: left; color: #5f6b7a; font-weight: 500; padding: 4px 12px 4px 0; white-space: nowrap; vertical-align: top; }}
table.facts td {{ padding: 4px 0; word-break: break-all; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }}
.error {{ border-left: 4px solid #d13212; background: #fdf3f1; }}
.error pre {{ white-space: pre-wrap; word-break: break-word; font-size: 13px; margin: 8px 0 0; }}
.muted {{ color: #5f6b7a; }}
svg {{ max-width: 100%; height: auto; }}
footer {{ color: #5f6b7a; font-size: 12px; text-align: center; padding-bottom: 24px; }}
"""


def instances_table(*jobs: dict) -> str:
    """Per job, its hosts and the objects each received (summary.json ``instances``)."""
    rows = []
    for label, job in zip(("processing", "training"), jobs):
        for instance in job.get("instances") or []:
            if not isinstance(instance, dict):
                continue
            files = instance.get("input_files")
            shown = "not reported by SageMaker (ShardedByS3Key)" if files is None else (
                ", ".join(str(f).rsplit("/", 1)[-1] for f in files[:8]) + (f" … ({len(files)} objects)" if len(files) > 8 else ""))
            rows.append(f"<tr><td>{escape(label)}</td><td>{escape(str(instance.get('host')))}</td>"
                        f"<td>{'' if files is None else len(files)}</td><td>{escape(shown)}</td></tr>")
    if not rows:
        return '<p class="muted">No instances recorded.</p>'
    return "<table><tr><th>job</th><th>host</th><th>objects</th><th>input files</th></tr>" + "".join(rows) + "</table>"


def render_html(summary: dict) -> str:
    """The whole report as one HTML document."""
    status = str(summary.get("status") or "UNKNOWN")
    execution = str(summary.get("execution") or "execution")
    bars = timeline(summary)
    total = _number(summary.get("duration_seconds"))
    dataset, processing = _dict(summary, "dataset"), _dict(summary, "processing")
    training, model = _dict(summary, "training"), _dict(summary, "model")
    rows, positives = _number(dataset.get("rows")), _number(dataset.get("positives"))
    rate = f"{positives / rows:.1%}" if rows and positives is not None else None
    metrics = training.get("metrics") if isinstance(training.get("metrics"), dict) else {}
    hyperparameters = training.get("hyperparameters") if isinstance(training.get("hyperparameters"), dict) else {}

    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(execution)}: {escape(status)}</title><style>{CSS}</style></head><body>",
        f"<header><h1>{escape(execution)} "
        f'<span class="badge" style="background:{STATUS_COLOURS.get(status.upper(), GREY)}">{escape(status)}</span></h1>'
        f"<p>target {escape(str(summary.get('target') or '?'))}"
        f"{' · started ' + escape(str(summary['started_at'])) if summary.get('started_at') else ''}"
        f"{' · ' + escape(_fmt_seconds(total)) if total is not None else ''}</p></header><main>",
    ]
    error = summary.get("error")
    if isinstance(error, dict) and error:
        parts.append(
            '<section class="error"><h2>Execution failed'
            f"{' in ' + escape(str(error['state'])) if error.get('state') else ''}</h2>"
            f"<strong>{escape(str(error.get('error') or 'error'))}</strong>"
            f"<pre>{escape(str(error.get('cause') or ''))}</pre></section>"
        )
    parts.append(_section("State timeline", timeline_svg(bars, total)))
    parts.append(_section("Training metric per round", metric_svg(metric_series(training.get("metric_history")))))
    evaluation = _dict(summary, "evaluation")
    if evaluation.get("metrics"):
        parts.append(_section("Held-out evaluation (Evaluate model)", '<div class="grid"><div>' + roc_svg(evaluation) + "</div><div>"
                              + _facts(evaluation_facts(evaluation, _dict(summary, "quality_gate"))) + "</div></div>"))
    parts.append('<div class="grid">')
    parts.append(_section("Dataset", _facts([
        ("S3 URI", dataset.get("s3_uri")), ("rows", dataset.get("rows")),
        ("positives", dataset.get("positives")), ("positive rate", rate),
    ])))
    parts.append(_section("Model", _facts([
        ("path", model.get("path")), ("size", _human_bytes(model.get("size_bytes"))),
        ("trees", model.get("num_trees")), ("format", model.get("format")), ("loaded with", model.get("loaded_with")),
        ("could not load", model.get("error")), ("S3 URI", training.get("model_s3_uri")),
    ])))
    parts.append(_section("Jobs", _facts([
        ("processing job", processing.get("job_name")), ("processing output", processing.get("output_s3_uri")),
        ("training job", training.get("job_name")),
    ])))
    parts.append(_section("Instances and their input", instances_table(processing, training)))
    parts.append(_section("Final metrics", _facts([(k, v) for k, v in sorted(metrics.items())])))
    parts.append(_section("Hyperparameters", _facts([(k, v) for k, v in sorted(hyperparameters.items())])))
    parts.append(_section("Execution", _facts([
        ("execution ARN", summary.get("execution_arn")), ("started", summary.get("started_at")),
        ("stopped", summary.get("stopped_at")), ("duration", _fmt_seconds(total) if total is not None else None),
    ])))
    parts.append("</div></main><footer>pipeline-tools run report · self-contained, no scripts</footer></body></html>")
    return "\n".join(parts) + "\n"


def timeline_png(summary: dict, dpi: int = 144) -> bytes:
    """The state timeline as a PNG (matplotlib, Agg backend: no display, bundled fonts)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    bars = timeline(summary)
    figure, axes = plt.subplots(figsize=(8, 0.5 * max(len(bars), 1) + 1.2), dpi=dpi)
    for index, bar in enumerate(bars):
        colour = STATUS_COLOURS.get(bar.status.upper(), GREY)
        axes.barh(index, max(bar.duration, 1e-3), left=bar.start, height=0.55, color=colour)
        axes.text(bar.start + bar.duration, index, f"  {bar.duration:.2f} s", va="center", fontsize=8, color="#5f6b7a")
    axes.set_yticks(range(len(bars)), [bar.name for bar in bars], fontsize=9)
    axes.invert_yaxis()
    axes.set_xlabel("seconds since the execution started", fontsize=9)
    end = max([b.start + b.duration for b in bars] + [_number(summary.get("duration_seconds")) or 0.0, 1e-3])
    axes.set_xlim(0, end * 1.15)
    status = summary.get("status") or "UNKNOWN"
    axes.set_title(f"{summary.get('execution') or 'execution'}: {status}", fontsize=10, loc="left")
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.grid(axis="x", color="#e9ebed")
    axes.set_axisbelow(True)
    if not bars:
        axes.text(0.5, 0.5, "no state timings recorded", transform=axes.transAxes, ha="center", color="#5f6b7a")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    plt.close(figure)
    return buffer.getvalue()


def write_report(summary: dict, out_dir: Path) -> tuple[Path, Path]:
    """Write ``out_dir/report.html`` and ``out_dir/timeline.png`` (each atomically); return both paths."""
    if not isinstance(summary, dict):
        summary = {}
    out_dir = Path(out_dir)
    png = write_atomic(out_dir / "timeline.png", timeline_png(summary))
    html = write_atomic(out_dir / "report.html", render_html(summary))
    return html, png
