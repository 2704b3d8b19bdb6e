"""Free text people type has a limit: refused with a clear message past it, shown on the
textarea, the same in every form, the admin and the import; text stored before the limit
existed never blocks an edit of other fields."""

import pytest
from django.apps import apps
from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import translation

from activities.forms import ActivityForm
from activities.models import Activity
from climcrm.fields import FreeTextField, FreeTextFormField
from leads.forms import BulkActionForm, StatusForm, WebToLeadForm
from leads.models import Lead, LeadStatus
from opportunities.forms import OpportunityForm, initial_from
from opportunities.models import Opportunity
from partners.forms import DecisionReasonForm
from pipeline_reviews.forms import CommitForm, ReviewSetupForm
from pipeline_reviews.models import PartnerReviewNote, ReviewKind
from tests.factories import ActivityFactory, ContactFactory, OpportunityFactory
from tests.factories.leads import OpenLeadFactory
from tests.factories.reviews import ReviewFactory

pytestmark = pytest.mark.django_db

# Text the application writes itself, never typed into a form.
WRITTEN_BY_THE_APPLICATION = {
    "leads.ImportJob.content",
    "leads.ImportJob.rejected_content",
    "imports.PipelineImport.content",
    "imports.PipelineImport.rejected_content",
    "pipeline_reviews.RecapEmail.text_body",
    "pipeline_reviews.RecapEmail.html_body",
    "climcrm.OutgoingEmail.text_body",
    "climcrm.OutgoingEmail.html_body",
    # Copied from a decision reason or written by the services.
    "partners.RegistrationEvent.note",
    # A receiver's answer to a webhook delivery.
    "integrations.WebhookDelivery.last_error",
}
OUR_APPS = set(settings.PROJECT_APPS)


def _typed_text_fields():
    for model in apps.get_models():
        if model._meta.app_label not in OUR_APPS:
            continue
        for field in model._meta.concrete_fields:
            name = f"{model._meta.label}.{field.name}"
            if isinstance(field, models.TextField) and name not in WRITTEN_BY_THE_APPLICATION:
                yield name, field


def test_every_text_field_people_type_into_has_a_limit_of_a_few_thousand_characters():
    fields = dict(_typed_text_fields())
    assert len(fields) > 30
    unlimited = [name for name, field in fields.items() if not isinstance(field, FreeTextField)]
    assert unlimited == []
    assert {
        name: f.max_length for name, f in fields.items() if not 2000 <= f.max_length <= 10000
    } == {}


def _form_data(form) -> dict:
    """What a browser posts back for a form as it was rendered."""
    data = {}
    for name in form.fields:
        value = form[name].value()
        if isinstance(value, bool):
            if value:
                data[form[name].html_name] = "on"
        elif isinstance(value, list):
            data[form[name].html_name] = [str(v) for v in value]
        elif value is not None:
            # Browsers send every line break in a textarea as CR LF.
            data[form[name].html_name] = str(value).replace("\r\n", "\n").replace("\n", "\r\n")
    return data


class TestLeadForm:
    def test_too_long_notes_are_refused_with_the_limit_and_nothing_is_saved(self, client_for, rep):
        lead = OpenLeadFactory(owner=rep, notes="Court")
        client = client_for(rep)
        url = reverse("leads:edit", args=[lead.pk])
        page = client.get(url)
        assert 'maxlength="5000"' in page.content.decode()
        data = {**_form_data(page.context["form"]), "notes": "x" * 5001, "company": "Autre SA"}
        response = client.post(url, data)
        assert response.status_code == 200
        assert response.context["form"].errors["notes"] == [
            "Ce texte est trop long : au plus 5000 caractères, il en compte 5001."
        ]
        lead.refresh_from_db()
        assert (lead.notes, lead.company) != ("x" * 5001, "Autre SA")
        assert lead.notes == "Court"

    def test_a_line_break_counts_as_one_character_as_in_the_browser(self, client_for, rep):
        lead = OpenLeadFactory(owner=rep)
        client = client_for(rep)
        url = reverse("leads:edit", args=[lead.pk])
        data = _form_data(client.get(url).context["form"])
        # 5,000 characters in the textarea; 6,000 once the browser sends CR LF.
        response = client.post(url, {**data, "notes": "abcd\r\n" * 999 + "abcde"})
        assert response.status_code == 302
        lead.refresh_from_db()
        assert lead.notes.count("abcd") == 1000

    def test_notes_stored_before_the_limit_do_not_block_editing_other_fields(self, client_for, rep):
        lead = OpenLeadFactory(owner=rep)
        long_notes = "Historique\n" * 1000  # 11,000 characters
        Lead.objects.filter(pk=lead.pk).update(notes=long_notes)
        client = client_for(rep)
        url = reverse("leads:edit", args=[lead.pk])
        page = client.get(url)
        assert page.status_code == 200
        assert client.get(reverse("leads:detail", args=[lead.pk])).status_code == 200
        data = _form_data(page.context["form"])
        response = client.post(url, {**data, "company": "Nouvelle Régie SA"})
        assert response.status_code == 302
        lead.refresh_from_db()
        assert lead.company == "Nouvelle Régie SA"
        assert lead.notes.replace("\r\n", "\n").strip() == long_notes.strip()
        # Changing the long text itself has to bring it under the limit.
        response = client.post(url, {**data, "notes": data["notes"] + "Encore"})
        assert response.context["form"].has_error("notes", "too_long")

    def test_the_message_is_english_for_english_users(self):
        with translation.override("en"):
            form = StatusForm({"status": LeadStatus.DISQUALIFIED, "reason": "x" * 2001})
            assert form.errors["reason"] == [
                "This text is too long: at most 2000 characters, it has 2001."
            ]


class TestDealForm:
    def test_too_long_lessons_are_refused(self, rep):
        deal = OpportunityFactory(owner=rep)
        data = {k: v for k, v in initial_from(deal).items() if v is not None}
        form = OpportunityForm({**data, "lessons_learned": "x" * 5001}, user=rep, opportunity=deal)
        assert form.has_error("lessons_learned", "too_long")

    def test_long_text_stored_before_the_limit_does_not_block_the_deal_edit(self, client_for, rep):
        deal = OpportunityFactory(owner=rep)
        Opportunity.objects.filter(pk=deal.pk).update(lessons_learned="Leçon\n" * 2000)
        client = client_for(rep)
        url = reverse("opportunities:edit", args=[deal.pk])
        data = _form_data(client.get(url).context["form"])
        response = client.post(url, {**data, "next_step": "Relancer le bureau d’études"})
        assert response.status_code == 302, response.context["form"].errors
        deal.refresh_from_db()
        assert deal.next_step == "Relancer le bureau d’études"
        assert deal.lessons_learned.replace("\r\n", "\n") == ("Leçon\n" * 2000).strip()


class TestActivityForm:
    def test_a_too_long_description_is_refused(self):
        form = ActivityForm({"kind": "task", "subject": "Appeler", "description": "x" * 10_001})
        assert form.has_error("description", "too_long")
        assert 'maxlength="10000"' in str(form["description"])

    def test_a_long_description_stored_before_does_not_block_the_edit(self, client_for, rep):
        activity = ActivityFactory(opportunity=OpportunityFactory(owner=rep), assignee=rep)
        Activity.objects.filter(pk=activity.pk).update(description="Compte rendu\n" * 1000)
        client = client_for(rep)
        url = reverse("activities:edit", args=[activity.pk])
        data = _form_data(client.get(url).context["form"])
        response = client.post(url, {**data, "subject": "Réunion de lancement"})
        assert response.status_code == 302
        activity.refresh_from_db()
        assert activity.subject == "Réunion de lancement"
        assert activity.description.replace("\r\n", "\n") == ("Compte rendu\n" * 1000).strip()


def test_a_long_review_note_stored_before_does_not_block_the_other_notes(
    client_for, manager, partner_a
):
    review = ReviewFactory(kind=ReviewKind.CHANNEL_MANAGER, partner=None)
    PartnerReviewNote.objects.create(
        review=review, partner=partner_a, difficulties="Délais\n" * 1000
    )
    prefix = f"p{partner_a.pk}"
    response = client_for(manager).post(
        reverse("pipeline_reviews:partner-note", args=[review.pk, partner_a.pk]),
        {
            f"{prefix}-difficulties": ("Délais\n" * 1000).replace("\n", "\r\n"),
            f"{prefix}-support_requested": "Avant-vente",
        },
    )
    assert response.status_code == 302
    note = review.partner_notes.get(partner=partner_a)
    assert note.support_requested == "Avant-vente"
    assert note.difficulties.replace("\r\n", "\n") == ("Délais\n" * 1000).strip()


@pytest.mark.parametrize(
    ("make_form", "field", "limit"),
    [
        (lambda d: StatusForm(d), "reason", 2000),
        (lambda d: BulkActionForm(d, leads_queryset=Lead.objects.none()), "reason", 2000),
        (lambda d: DecisionReasonForm(d), "reason", 2000),
        (lambda d: CommitForm(d), "commit_note", 2000),
        (lambda d: ReviewSetupForm(d, review=ReviewFactory()), "notes", 5000),
        (lambda d: WebToLeadForm(d), "notes", 5000),
    ],
    ids=["lead-status", "lead-bulk", "registration-decision", "commit", "review", "web-form"],
)
def test_forms_not_built_from_a_model_use_the_model_limit(make_form, field, limit):
    assert isinstance(make_form({}).fields[field], FreeTextFormField)
    assert f'maxlength="{limit}"' in str(make_form({})[field])
    assert field not in make_form({field: "x" * limit}).errors
    errors = make_form({field: "x" * (limit + 1)}).errors.as_data()[field]
    assert [error.code for error in errors] == ["too_long"]


def test_the_admin_refuses_too_long_notes_and_keeps_older_ones(client_for, admin_user):
    contact = ContactFactory(notes="Court")
    client = client_for(admin_user)
    url = reverse("admin:accounts_contact_change", args=[contact.pk])
    page = client.get(url)
    assert 'maxlength="5000"' in page.content.decode()
    data = _form_data(page.context["adminform"].form)
    response = client.post(url, {**data, "notes": "x" * 5001})
    assert response.status_code == 200
    assert response.context["adminform"].form.has_error("notes", "too_long")
    contact.refresh_from_db()
    assert contact.notes == "Court"

    type(contact).objects.filter(pk=contact.pk).update(notes="Ancien\n" * 1000)
    data = _form_data(client.get(url).context["adminform"].form)
    response = client.post(url, {**data, "job_title": "Gérante"})
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.job_title == "Gérante"


class TestWebForm:
    GOOD = {"last_name": "Dupuis", "email": "anne@regie-exemple.ch", "website": ""}

    def test_a_too_long_message_is_refused_and_nothing_is_stored(self, client):
        response = client.post(reverse("web-to-lead"), {**self.GOOD, "notes": "x" * 5001})
        assert response.status_code == 200
        assert response.context["form"].has_error("notes", "too_long")
        assert not Lead.objects.exists()

    def test_a_nul_character_is_refused_and_nothing_is_stored(self, client):
        response = client.post(reverse("web-to-lead"), {**self.GOOD, "notes": "a\x00b"})
        assert response.status_code == 400
        assert not Lead.objects.exists()

    def test_the_form_fields_themselves_refuse_nul(self):
        # Behind the middleware, every text field refuses NUL as well.
        form = WebToLeadForm({**self.GOOD, "notes": "a\x00b", "company": "A\x00"})
        assert not form.is_valid()
        assert {"notes", "company"} <= set(form.errors)
