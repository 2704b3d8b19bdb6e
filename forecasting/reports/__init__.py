"""The reports of the forecasting app, one module per report: ``forecast``, ``metrics``,
``changes`` (what changed) and ``accuracy``, and what they share in ``common``. How to add
a figure: README.md beside this file."""
