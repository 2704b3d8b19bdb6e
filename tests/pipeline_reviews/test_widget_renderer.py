"""The review screen's widget renderer writes the same markup as Django's templates."""

import datetime
from decimal import Decimal

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe

from opportunities.models import LossReason, Stage
from pipeline_reviews.forms import (
    CommitForm,
    DealReviewForm,
    LeadReviewForm,
    OutcomeForm,
    PartnerNoteForm,
    QuarterlyForm,
    ReviewSetupForm,
    TodoForm,
)
from pipeline_reviews.models import ReviewKind
from pipeline_reviews.widgets import WIDGETS
from tests import clock
from tests.factories import LeadFactory, OpportunityFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]

DJANGO = DjangoTemplates()


def rendered(form_class, *args, **kwargs) -> list[tuple[str, str]]:
    """Each field of the form as Django's templates write it and as WIDGETS writes it."""
    theirs = form_class(*args, renderer=DJANGO, **kwargs)
    ours = form_class(*args, renderer=WIDGETS, **kwargs)
    theirs.is_bound and theirs.is_valid()
    ours.is_bound and ours.is_valid()
    return [(str(theirs[name]), str(ours[name])) for name in theirs.fields]


def assert_same(pairs):
    assert pairs
    for theirs, ours in pairs:
        assert ours == theirs


@pytest.fixture
def review(partner_a, channel):
    from pipeline_reviews.models import Review

    return Review.objects.create(
        kind=ReviewKind.MONTHLY_PARTNER,
        partner=partner_a,
        period_start=datetime.date(2026, 3, 1),
        created_by=channel,
    )


def test_lead_flags_and_planned_actions_match_django(partner_a):
    lead = LeadFactory(
        partner=partner_a,
        budget_ok=True,
        need_ok=False,
        planned_actions='Call "back" <soon> & visit',
    )
    assert_same(rendered(LeadReviewForm, instance=lead, prefix=f"lead{lead.pk}"))
    data = {f"lead{lead.pk}-timing_ok": "on", f"lead{lead.pk}-planned_actions": "x" * 3000}
    assert_same(rendered(LeadReviewForm, data, instance=lead, prefix=f"lead{lead.pk}"))


def test_outcome_notes_match_django(rep):
    deal = OpportunityFactory(
        owner=rep,
        stage=Stage.CLOSED_LOST,
        probability=0,
        loss_reason=LossReason.objects.get(code="price"),
        objective_reasons="Prix <trop> élevé",
        recovery_possible=True,
    )
    assert_same(rendered(OutcomeForm, instance=deal, initial={"version": 3}, prefix="d"))
    assert_same(rendered(OutcomeForm, {"d-version": "x"}, instance=deal, prefix="d"))


def test_deal_selects_numbers_and_dates_match_django(rep):
    deal = OpportunityFactory(owner=rep, amount=Decimal("12500.50"), probability=40)
    assert_same(rendered(DealReviewForm.for_deal, deal))
    invalid = {"stage": "nope", "amount": "-1", "probability": "200", "close_date": "soon"}
    assert_same(rendered(DealReviewForm, invalid))


def test_todo_people_list_setup_commit_and_notes_match_django(review, partner_a_user, rep):
    UserFactory(first_name="Zoé", last_name="O'Brien & <Cie>", partner=review.partner)
    assert_same(rendered(TodoForm, review=review))
    assert_same(rendered(TodoForm, {"assignee": str(rep.pk), "subject": ""}, review=review))
    assert_same(rendered(ReviewSetupForm, review=review, initial={"attendees": [partner_a_user]}))
    assert_same(rendered(CommitForm, initial={"commit_amount": Decimal("1000.00")}))
    assert_same(rendered(PartnerNoteForm, prefix="p1"))
    assert_same(rendered(QuarterlyForm))


def test_attributes_values_and_groups_match_django():
    class Odd(forms.Form):
        flag = forms.BooleanField(widget=forms.CheckboxInput(attrs={"disabled": True}))
        text = forms.CharField(widget=forms.TextInput(attrs={"data-x": False, "title": 'a"b'}))
        safe = forms.CharField(initial=mark_safe("<b>bold</b>"))
        zero = forms.IntegerField(initial=0)
        grouped = forms.ChoiceField(
            choices=[("", "—"), ("Fruits", [("a", "Apple & co"), ("b", "<Banana>")]), (3, 3)],
            initial="b",
        )
        many = forms.MultipleChoiceField(choices=[("x", "X"), ("y", "Y")], initial=["y"])
        radio = forms.ChoiceField(choices=[("r", "R")], widget=forms.RadioSelect)

    assert_same(rendered(Odd))
    assert_same(rendered(Odd, {"text": "<script>", "grouped": "zz", "many": ["x", "y"]}))
