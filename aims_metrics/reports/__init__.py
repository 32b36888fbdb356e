"""The PDF toolkit every report uses: the deterministic canvas, fonts and the latin-1 fallback,
paragraph and table styles (`style.py`), the A4 single-frame document (`layout.py`) and
bar charts (`charts.py`).

`review` (the minutes) and `audits` (the plan and the readiness report) both build on it; it
imports neither, so the report packages never import each other in a circle."""
