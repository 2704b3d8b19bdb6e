"""The reports of the forecasting app, one module per report: ``forecast``, ``metrics``,
``changes`` (what changed) and ``accuracy``, and what they share in ``common``. How to add
a figure: README.md beside this file."""

from forecasting.reports import accuracy, changes, common, forecast, metrics, reliability

__all__ = ["accuracy", "changes", "common", "forecast", "metrics", "reliability"]
