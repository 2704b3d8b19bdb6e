import pytest
from django.core.management import call_command
from django.urls import reverse

from climcrm.roles import Role, is_internal, is_partner_user, roles_of


@pytest.mark.django_db
class TestRoles:
    def test_the_five_roles_exist_as_groups(self):
        from django.contrib.auth.models import Group

        assert set(Group.objects.values_list("name", flat=True)) >= set(Role.values)

    def test_partner_user_is_never_internal(self, partner_a_user):
        assert roles_of(partner_a_user) == {Role.PARTNER_USER}
        assert is_partner_user(partner_a_user)
        assert not is_internal(partner_a_user)

    def test_rep_is_internal(self, rep):
        assert is_internal(rep)
        assert roles_of(rep) == {Role.SALES_REP}


@pytest.mark.django_db
class TestAccess:
    def test_anonymous_is_sent_to_login(self, client):
        response = client.get(reverse("dashboard"))
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))

    def test_login_page_is_public_and_french_by_default(self, client):
        response = client.get(reverse("login"))
        assert response.status_code == 200
        assert "Connexion" in response.text or "Se connecter" in response.text

    def test_login_page_in_english(self, client):
        client.cookies["django_language"] = "en"
        response = client.get(reverse("login"))
        assert "Log in" in response.text

    def test_healthz_checks_the_database(self, client):
        response = client.get(reverse("healthz"))
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "database": "ok"}

    def test_dashboard_for_rep(self, client_for, rep):
        response = client_for(rep).get(reverse("dashboard"))
        assert response.status_code == 200

    def test_language_switch_persists_on_profile(self, client_for, rep):
        client = client_for(rep)
        response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
        assert response.status_code == 302
        rep.refresh_from_db()
        assert rep.language == "en"
        assert "Dashboard" in client.get(reverse("dashboard")).text


@pytest.mark.django_db
def test_seed_demo_is_idempotent():
    from climcrm.models import User

    call_command("seed_demo")
    count = User.objects.count()
    call_command("seed_demo")
    assert User.objects.count() == count
    assert (
        User.objects.filter(
            username__in=["admin", "rep", "manager", "channel", "partner_a", "partner_b"]
        ).count()
        == 6
    )
    assert (
        User.objects.get(username="partner_a").partner
        != User.objects.get(username="partner_b").partner
    )
