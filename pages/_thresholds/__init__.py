"""Streamlit glue of the threshold-tuning page (``pages/thresholds.py``), one module per section.

- ``loaders``: cached loaders (bundled splits, demo set, uploads, texts scored by the model);
- ``data``: sections 1–2, the source radio, upload widgets and the data report;
- ``session``: the ``Tuning`` state shared by the sections, the chart block, cached ranking;
- ``thresholds`` (3), ``curves`` (4), ``metrics`` (5), ``optimise`` (6), ``confusion`` (7),
  ``calibration`` (8), ``export`` (9): each section's widgets and drawing;
- ``binary``: the one-threshold view of two-class data (sections 3–9 for a binary model);
- ``examples`` (10): the rows behind the numbers and the suspected label errors, with
  ``slices`` (metrics per slice of the data) and ``compare`` (Compare, Another split) as the
  section's other views.

The computations live in ``cls_core`` (metrics, thresholds, calibration, tuning_session,
charts). Charts are drawn from plain Vega-Lite dicts (``cls_core.views.charts.*_spec``):
building Altair objects and validating them costs 25–65 ms per chart, too slow for a
threshold move.
"""
