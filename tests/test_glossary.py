"""The words of docs/glossary.md, as French and English users read them."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import translation

from climcrm.context_processors import _NAV
from opportunities.models import ForecastCategory, Opportunity, Stage
from partners.models import RegistrationStatus
from pipeline_reviews import services as reviews
from pipeline_reviews.models import ReviewKind, ReviewStatus
from tests.factories import OpportunityFactory
from tests.test_french_pages import _english_only

TODAY = datetime.datetime(2026, 11, 16, 9, 0, tzinfo=datetime.UTC)


def french(label) -> str:
    with translation.override("fr"):
        return str(label)


def nav_label(url_name: str):
    return next(
        label
        for _group, entries in _NAV
        for name, label, _icon, _who in entries
        if name == url_name
    )


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        *[
            (stage.label, stage_name)
            for stage, stage_name in zip(
                Stage,
                [
                    "Qualification",
                    "Needs Analysis",
                    "Proposal",
                    "Negotiation",
                    "Closed Won",
                    "Closed Lost",
                ],
                strict=True,
            )
        ],
        *[
            (category.label, name)
            for category, name in zip(
                ForecastCategory,
                ["Pipeline", "Best Case", "Commit", "Closed", "Omitted"],
                strict=True,
            )
        ],
        (RegistrationStatus.SUBMITTED.label, "Soumise"),
        (RegistrationStatus.ACCEPTED.label, "Acceptée"),
        (RegistrationStatus.REJECTED.label, "Refusée"),
        (RegistrationStatus.RETURNED.label, "Renvoyée"),
        (ReviewKind.MONTHLY_PARTNER.label, "Revue de pipe mensuelle"),
        (ReviewKind.CHANNEL_MANAGER.label, "Revue mensuelle des channel managers"),
        (ReviewKind.QUARTERLY.label, "Revue trimestrielle"),
        (ReviewStatus.CLOSED.label, "Clôturée"),
        (Opportunity._meta.verbose_name, "opportunité"),
        (nav_label("leads:list"), "Leads"),
        (nav_label("opportunities:kanban"), "Pipeline (vue kanban)"),
        (nav_label("activities:my-tasks"), "Mes To do"),
    ],
)
def test_french_labels_are_the_glossary_words(label, expected):
    assert french(label) == expected


class TestForecastExport:
    def header(self, client) -> list[str]:
        response = client.get(reverse("forecasting:forecast-export"), {"period": "2026-Q4"})
        content = b"".join(response.streaming_content) if response.streaming else response.content
        return next(csv.reader(io.StringIO(content.decode().lstrip("\ufeff")), delimiter=";"))

    @time_machine.travel(TODAY, tick=False)
    def test_french_header_names_the_forecast_categories(self, client_for, manager):
        assert self.header(client_for(manager)) == [
            "Période",
            "Commercial",
            "Closed",
            "Commit",
            "Best Case",
            "Pipeline",
            "Pipe pondéré",
            "Prévision Commit",
            "Prévision Best Case",
            "Pipe",
            "Objectif",
            "Couverture",
        ]

    @time_machine.travel(TODAY, tick=False)
    def test_english_header_names_the_forecast_categories(self, client_for, manager):
        manager.language = "en"
        manager.save(update_fields=["language"])
        assert self.header(client_for(manager))[2:6] == [
            "Closed",
            "Commit",
            "Best Case",
            "Pipeline",
        ]


@time_machine.travel(TODAY, tick=False)
def test_the_french_recap_email_reads_french(
    channel, partner_a, partner_a_user, rep, django_capture_on_commit_callbacks
):
    for stage, amount in ((Stage.PROPOSAL, "20000"), (Stage.NEGOTIATION, "35000")):
        OpportunityFactory(
            partner=partner_a,
            owner=rep,
            stage=stage,
            amount=Decimal(amount),
            close_date=datetime.date(2026, 12, 10),
        )
    review = reviews.review_create(
        by=channel,
        kind=ReviewKind.MONTHLY_PARTNER,
        partner=partner_a,
        period=datetime.date(2026, 11, 1),
    )
    reviews.review_commit_set(review=review, by=channel, amount="40000")
    with django_capture_on_commit_callbacks(execute=True):
        reviews.review_close(review=review, by=channel)
    (message,) = [m for m in mail.outbox if m.to == [partner_a_user.email]]
    assert message.subject.startswith("Revue de pipe ")
    assert "Synthèse par stage" in message.body
    english = _english_only()
    lines = [" ".join(line.split()) for line in message.body.splitlines()]
    assert [line for line in lines if line and english.fullmatch(line)] == []


@time_machine.travel(TODAY, tick=False)
def test_the_stale_badge_names_the_configured_days_in_french(client_for, rep, settings):
    settings.CRM_STALE_DAYS = 45
    deal = OpportunityFactory(owner=rep, close_date=datetime.date(2027, 3, 1))
    Opportunity.objects.filter(pk=deal.pk).update(
        stage_changed_at=TODAY - datetime.timedelta(days=60)
    )
    page = client_for(rep).get(reverse("dashboard")).content.decode()
    assert "sans activité depuis 45 jours" in page
