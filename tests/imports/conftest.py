from tests.forecasting.conftest import book, changed_book  # noqa: F401 - shared fixtures
