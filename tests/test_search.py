"""The search of the deal, lead, account and contact lists and the global search: what each
finds, in which order, for whom, in how many queries, and (PostgreSQL) through which index."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from opportunities.models import Stage
from opportunities.selectors import opportunity_list
from tests import clock
from tests.factories import AccountFactory, ContactFactory, LeadFactory, OpportunityFactory

pytestmark = pytest.mark.django_db

DEALS = reverse("opportunities:list")
LEADS = reverse("leads:list")
ACCOUNTS = reverse("accounts:list")
CONTACTS = reverse("accounts:contact-list")
SEARCH = reverse("search")


def _close(days: int) -> datetime.date:
    return clock.period_end() - datetime.timedelta(days=days)


@pytest.fixture
def deals(rep):
    """Deals found each by one searched field, and three matching "Léman" at three ranks
    whose close dates run against their rank."""
    rivage = AccountFactory(name="Hôtel Beau-Rivage SA", city="Ouchy")
    kastli = ContactFactory(last_name="Kästli", first_name="Urs", account=rivage)
    by = {
        "name": OpportunityFactory(name="Chaufferie Ouchy", owner=rep),
        "account": OpportunityFactory(name="Audit", account=rivage, owner=rep),
        "contact": OpportunityFactory(name="Pompe", primary_contact=kastli, owner=rep),
        "next_step": OpportunityFactory(
            name="Froid", next_step="Envoyer l'offre révisée", owner=rep
        ),
    }
    on_leman = AccountFactory(name="Régie du Léman SA")
    by["rank_2"] = OpportunityFactory(
        name="Ventilation", account=on_leman, owner=rep, close_date=_close(20)
    )
    by["rank_1"] = OpportunityFactory(
        name="Rénovation Léman", owner=rep, close_date=_close(10), stage=Stage.PROPOSAL
    )
    by["rank_0"] = OpportunityFactory(name="Léman chaufferie", owner=rep, close_date=_close(0))
    return by


def _deal_names(response) -> list[str]:
    return [deal.name for deal in response.context["page_obj"].object_list]


class TestDealSearch:
    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("ouchy", "name"),
            ("BEAU-RIVAGE", "account"),
            ("kästli", "contact"),
            ("offre révisée", "next_step"),
        ],
    )
    def test_it_finds_a_deal_by_each_searched_field_in_any_case(
        self, client_for, rep, deals, query, expected
    ):
        assert _deal_names(client_for(rep).get(DEALS, {"q": query})) == [deals[expected].name]

    def test_accents_are_matched_as_typed(self, client_for, rep, deals):
        assert _deal_names(client_for(rep).get(DEALS, {"q": "revisee"})) == []

    def test_name_starting_with_the_search_comes_first_then_name_containing_it(
        self, client_for, rep, deals
    ):
        response = client_for(rep).get(DEALS, {"q": "léman"})
        assert _deal_names(response) == ["Léman chaufferie", "Rénovation Léman", "Ventilation"]
        totals = response.context["totals"]
        assert totals["count"] == 3

    @pytest.mark.parametrize(("page", "expected"), [("1", [0, 1]), ("2", [2]), ("9", [2])])
    def test_pages_of_a_search_carry_the_totals_of_every_match(
        self, client_for, rep, deals, settings, page, expected
    ):
        settings.CRM_PAGE_SIZE = 2
        response = client_for(rep).get(DEALS, {"q": "léman", "status": "all", "page": page})
        ranked = [deals[f"rank_{rank}"].name for rank in expected]
        assert _deal_names(response) == ranked
        totals = response.context["totals"]
        matched = [deals[f"rank_{rank}"] for rank in range(3)]
        assert totals["count"] == 3
        assert totals["total"] == sum(deal.amount for deal in matched)
        # weighted: 10000 × 10% + 10000 × 10% + 10000 × 10%
        assert totals["weighted"] == Decimal("3000")
        assert response.context["page_obj"].paginator.num_pages == 2

    def test_a_searched_list_adds_up_like_the_unsearched_list(self, client_for, rep):
        # Weights with fractions of a cent: the two ways of reading the totals must agree.
        for amount, probability in (("1001.00", 50), ("333.33", 33), ("0.01", 50)):
            OpportunityFactory(
                owner=rep, name="Fraction Léman", amount=Decimal(amount), probability=probability
            )
        client = client_for(rep)
        searched = client.get(DEALS, {"q": "fraction"}).context["totals"]
        assert searched["weighted"] == Decimal("610.5039")  # 500.50 + 109.9989 + 0.005
        every = client.get(DEALS).context["totals"]
        assert every["count"] == 3
        assert searched == every

    def test_a_search_finding_nothing_has_zero_totals(self, client_for, rep, deals):
        response = client_for(rep).get(DEALS, {"q": "nothing like this"})
        assert _deal_names(response) == []
        assert response.context["totals"] == {
            "count": 0,
            "total": Decimal("0"),
            "weighted": Decimal("0"),
        }

    def test_a_chosen_sort_wins_over_the_rank(self, client_for, rep, deals):
        response = client_for(rep).get(DEALS, {"q": "léman", "ordering": "close_date"})
        assert _deal_names(response) == ["Ventilation", "Rénovation Léman", "Léman chaufferie"]

    def test_the_export_follows_the_search(self, rep, deals):
        _filterset, queryset, _key = opportunity_list(
            user=rep, params=QueryDict("q=L%C3%A9man&status=all")
        )
        assert [deal.name for deal in queryset] == [
            "Léman chaufferie",
            "Rénovation Léman",
            "Ventilation",
        ]


class TestOtherListsSearch:
    def test_leads_by_each_field_and_every_word(self, client_for, rep):
        lead = LeadFactory(
            first_name="Urs",
            last_name="Kästli",
            email="u.kaestli@beau-rivage.ch",
            company="Beau-Rivage",
            phone="+41 21 555 12 34",
        )
        LeadFactory(first_name="Urs", last_name="Meier", company="Alpes Froid")
        client = client_for(rep)
        for query in ("urs kästli", "KAESTLI", "beau-rivage", "555 12", "rivage urs"):
            found = list(client.get(LEADS, {"q": query}).context["leads"])
            assert found == [lead], query

    def test_leads_whose_name_or_company_starts_with_the_search_come_first(self, client_for, rep):
        first = LeadFactory(last_name="Léman", company="Zed SA")
        second = LeadFactory(last_name="Favre", company="Rives du Léman")
        third = LeadFactory(last_name="Favre", company="Zed SA", email="info@leman-bains.ch")
        # The newest lead first without a search; the rank first with one.
        assert list(client_for(rep).get(LEADS).context["leads"]) == [third, second, first]
        found = list(client_for(rep).get(LEADS, {"q": "léman"}).context["leads"])
        assert found == [first, second]
        found = list(client_for(rep).get(LEADS, {"q": "leman"}).context["leads"])
        assert found == [third]

    def test_accounts_by_name_city_or_free_name_name_first(self, client_for, rep):
        by_city = AccountFactory(name="Alpes Froid SA", city="Montreux")
        inside = AccountFactory(name="Chauffage Montreux Sàrl", city="Vevey")
        starting = AccountFactory(name="Montreux Palace SA", city="Lausanne")
        found = list(client_for(rep).get(ACCOUNTS, {"q": "MONTREUX"}).context["accounts"])
        assert found == [starting, inside, by_city]
        sorted_by_name = client_for(rep).get(ACCOUNTS, {"q": "montreux", "ordering": "name"})
        assert list(sorted_by_name.context["accounts"]) == [by_city, inside, starting]

    def test_contacts_by_each_field_and_their_account(self, client_for, rep):
        rivage = AccountFactory(name="Hôtel Beau-Rivage SA")
        by_account = ContactFactory(last_name="Aebi", first_name="Eva", account=rivage)
        by_last = ContactFactory(last_name="Rivage", first_name="Jean")
        by_first = ContactFactory(last_name="Zbinden", first_name="Rivageline")
        by_email = ContactFactory(last_name="Yerly", first_name="Paul", email="p@rivage.ch")
        found = list(client_for(rep).get(CONTACTS, {"q": "RIVAGE"}).context["contacts"])
        assert found == [by_last, by_first, by_account, by_email]


class TestGlobalSearch:
    def test_each_kind_is_ranked_then_in_its_usual_order(self, client_for, rep, deals):
        AccountFactory(name="Aa Léman")
        AccountFactory(name="Léman Énergie SA")
        hits = client_for(rep).get(SEARCH, {"q": "Léman"}).context["results"]
        accounts = [hit.label for hit in hits if hit.kind == "account"]
        assert accounts == ["Léman Énergie SA", "Aa Léman", "Régie du Léman SA"]
        deals_found = [hit.label for hit in hits if hit.kind == "opportunity"]
        assert deals_found == ["Léman chaufferie", "Rénovation Léman"]


@pytest.fixture
def two_partners(partner_a, partner_b, rep):
    """Records matching "Riviera" of partner A and of partner B."""
    records = {}
    for key, partner in (("a", partner_a), ("b", partner_b)):
        account = AccountFactory(name=f"Riviera {key.upper()} Immobilier")
        contact = ContactFactory(last_name=f"Riviera-{key}", account=account)
        OpportunityFactory(
            name=f"Riviera deal {key}",
            account=account,
            primary_contact=contact,
            partner=partner,
            owner=rep,
        )
        LeadFactory(last_name=f"Riviera lead {key}", partner=partner)
        records[key] = [account.name, contact.last_name, f"Riviera deal {key}", f"lead {key}"]
    return records


@pytest.mark.parametrize("url", [DEALS, LEADS, ACCOUNTS, CONTACTS, SEARCH])
def test_a_partner_user_finds_only_their_own_partners_records(
    client_for, partner_a_user, two_partners, url
):
    text = client_for(partner_a_user).get(url, {"q": "riviera", "status": "all"}).text
    assert not [word for word in two_partners["b"] if word in text]
    assert any(word in text for word in two_partners["a"])


@pytest.mark.parametrize(
    ("url", "more"),
    [(DEALS, {}), (DEALS, {"status": "all"}), (LEADS, {}), (ACCOUNTS, {}), (CONTACTS, {})],
)
def test_a_search_costs_no_more_queries_than_the_list(client_for, rep, deals, url, more):
    client = client_for(rep)
    client.get(url, more)
    with CaptureQueriesContext(connection) as plain:
        client.get(url, more)
    with CaptureQueriesContext(connection) as searched:
        client.get(url, {**more, "q": "léman"})
    assert len(searched) <= len(plain)


SEARCH_INDEXES = {
    "opportunities_opportunity": {"opp_name_search_trgm", "opp_next_step_search_trgm"},
    "accounts_account": {
        "account_name_search_trgm",
        "account_city_search_trgm",
        "account_normalized_search_trgm",
    },
    "accounts_contact": {
        "contact_last_name_search_trgm",
        "contact_first_name_search_trgm",
        "contact_email_search_trgm",
    },
    "leads_lead": {
        f"lead_{column}_search_trgm"
        for column in ("first_name", "last_name", "email", "company", "phone")
    },
}


@pytest.mark.postgres
class TestIndexesOnPostgreSQL:
    @pytest.fixture(autouse=True)
    def _only_postgresql(self):
        if connection.vendor != "postgresql":
            pytest.skip("trigram indexes exist on PostgreSQL only")

    def test_every_searched_column_has_its_trigram_index(self):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT tablename, indexname FROM pg_indexes "
                "WHERE indexname LIKE '%%_search_trgm' AND indexdef LIKE '%%gin_trgm_ops%%'"
            )
            found: dict[str, set[str]] = {}
            for table, name in cursor.fetchall():
                found.setdefault(table, set()).add(name)
        assert found == SEARCH_INDEXES

    def test_the_deal_search_reads_every_branch_from_an_index(self, manager, deals):
        _filterset, queryset, _key = opportunity_list(
            user=manager, params=QueryDict("q=L%C3%A9man&status=all")
        )
        with connection.cursor() as cursor:
            # A test table is small enough to scan: forbid scans (of the table, and of a
            # whole index in its order) to prove the search conditions' indexes serve.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_indexscan = off")
        plan = queryset.explain()
        for index in (
            "opp_name_search_trgm",
            "opp_next_step_search_trgm",
            "account_name_search_trgm",
            "contact_last_name_search_trgm",
            "opportunities_opportunity_account_id",
            "opportunities_opportunity_primary_contact_id",
        ):
            assert index in plan, plan
        assert "BitmapOr" in plan
        assert "Seq Scan on opportunities_opportunity" not in plan
