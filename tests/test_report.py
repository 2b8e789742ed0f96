"""The run report: self-contained HTML (inline SVG timeline and metric chart) and a timeline PNG."""

from __future__ import annotations

import copy
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pipeline_tools.report import metric_series, render_html, timeline, write_report

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = json.loads((ROOT / "docs" / "images" / "report-example.summary.json").read_text())
SVG = "{http://www.w3.org/2000/svg}"


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def inline_svgs(html: str) -> list[ET.Element]:
    return [ET.fromstring(match) for match in re.findall(r"<svg .*?</svg>", html, flags=re.S)]


def test_timeline_uses_timestamps_relative_to_the_execution_start():
    bars = timeline(SAMPLE)
    assert [b.name for b in bars] == [s["name"] for s in SAMPLE["states"]]
    assert bars[0].start == pytest.approx(0.057, abs=1e-3)
    assert bars[1].start == pytest.approx(1.317, abs=1e-3)
    assert bars[2].duration == pytest.approx(6.472)
    assert [b.start for b in bars] == sorted(b.start for b in bars)


def test_timeline_without_timestamps_lays_durations_end_to_end():
    summary = {"states": [{"name": "a", "duration_seconds": 2}, {"name": "b", "duration_seconds": 3}, {"name": "c"}]}
    assert [(b.start, b.duration) for b in timeline(summary)] == [(0.0, 2.0), (2.0, 3.0), (5.0, 0.0)]


def test_metric_series_skips_non_numbers():
    history = [{"round": 0, "train-rmse": 0.4, "note": "x"}, {"round": 1, "train-rmse": 0.3}, "junk"]
    assert metric_series(history) == {"train-rmse": [(0.0, 0.4), (1.0, 0.3)]}


def test_report_is_self_contained_and_shows_timeline_metrics_and_facts(tmp_path):
    html_path, png_path = write_report(SAMPLE, tmp_path / "artifacts" / "run")
    html = html_path.read_text()
    assert html_path.name == "report.html" and png_path.name == "timeline.png"
    collector = _Collector()
    collector.feed(html)
    tags = {tag for tag, _ in collector.tags}
    assert "script" not in tags and "link" not in tags and "img" not in tags and "iframe" not in tags
    assert not re.search(r"(src|href)=|url\(|@import", html)  # nothing loaded from anywhere
    svgs = inline_svgs(html)
    assert len(svgs) == 2
    timeline_rects = [r for r in svgs[0].iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert len(timeline_rects) == 3
    assert len(svgs[1].findall(f".//{SVG}polyline")) == 1
    assert len(svgs[1].findall(f".//{SVG}circle")) == 5
    for fact in ("100,000", "32,851", "32.9%", "18.3 KiB", "reg:logistic", "0.1184", SAMPLE["dataset"]["s3_uri"]):
        assert fact in html, fact
    assert "SUCCEEDED" in html and "Execution failed" not in html
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in html_path.parent.iterdir()) == ["report.html", "timeline.png"]


def test_failed_run_shows_the_error_block_escaped():
    summary = copy.deepcopy(SAMPLE)
    summary.update(status="FAILED", error={"state": "Train model (XGBoost)", "error": "States.TaskFailed", "cause": "<boom> & bust"})
    summary["states"][2]["status"] = "FAILED"
    html = render_html(summary)
    assert "Execution failed in Train model (XGBoost)" in html
    assert "&lt;boom&gt; &amp; bust" in html and "<boom>" not in html
    assert "#d13212" in html


@pytest.mark.parametrize(
    "summary",
    [
        {},
        {"execution": "early", "status": "FAILED", "states": [], "error": {"error": "Lambda.Unknown"}},
        {"states": [{"name": "x", "started_at": "not a time", "duration_seconds": "NaN"}], "training": {"metric_history": None}},
        {"dataset": "oops", "training": ["oops"], "model": None, "duration_seconds": True},
    ],
)
def test_partial_or_odd_summaries_still_give_a_report(summary, tmp_path):
    html_path, png_path = write_report(summary, tmp_path)
    html = html_path.read_text()
    assert html.startswith("<!DOCTYPE html>")
    for svg in inline_svgs(html):
        ET.tostring(svg)  # parsed, so well-formed
    assert png_path.stat().st_size > 0


def test_the_report_lists_each_jobs_hosts_and_their_input_objects():
    summary = copy.deepcopy(SAMPLE)
    summary["processing"]["instances"] = [{"host": "algo-1", "input_files": ["s3://b/runs/r/dataset/data.csv"]}]
    summary["training"]["instances"] = [
        {"host": "algo-1", "input_files": ["s3://b/runs/r/train/train-00000.csv", "s3://b/runs/r/train/train-00002.csv"]},
        {"host": "algo-2", "input_files": ["s3://b/runs/r/train/train-00001.csv"]},
    ]
    html = render_html(summary)
    assert "Instances and their input" in html
    assert "<td>training</td><td>algo-2</td><td>1</td><td>train-00001.csv</td>" in html
    assert "<td>training</td><td>algo-1</td><td>2</td><td>train-00000.csv, train-00002.csv</td>" in html
