"""Lists count at most CRM_LIST_COUNT_CAP rows: exact below it, "more than" above it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Account
from climcrm.pagination import CappedPaginator, CountedPaginator
from tests.factories import AccountFactory
from tests.factories.leads import OpenLeadFactory

pytestmark = pytest.mark.django_db


class TestCappedPaginator:
    def test_below_the_cap_the_count_and_pages_are_exact(self):
        AccountFactory.create_batch(7)
        paginator = CappedPaginator(Account.objects.order_by("pk"), 3, cap=10)
        assert (paginator.count, paginator.num_pages, paginator.capped) == (7, 3, False)

    def test_exactly_the_cap_is_not_capped(self):
        AccountFactory.create_batch(5)
        paginator = CappedPaginator(Account.objects.order_by("pk"), 2, cap=5)
        assert (paginator.count, paginator.capped) == (5, False)

    def test_above_the_cap_it_counts_the_cap_and_says_so(self):
        accounts = AccountFactory.create_batch(8)
        paginator = CappedPaginator(Account.objects.order_by("pk"), 2, cap=5)
        assert (paginator.count, paginator.num_pages, paginator.capped) == (5, 3, True)
        # Pages past the cap are not offered: the last one holds the cap's remainder.
        last = paginator.get_page(99)
        assert [a.pk for a in last.object_list] == [accounts[4].pk]

    def test_it_counts_with_one_query_over_a_limit(self):
        AccountFactory.create_batch(3)
        paginator = CappedPaginator(Account.objects.order_by("name"), 2, cap=2)
        with CaptureQueriesContext(connection) as queries:
            assert paginator.capped
            assert paginator.count == 2
        assert len(queries) == 1
        sql = queries[0]["sql"].upper()
        assert "LIMIT 3" in sql and "ORDER BY" not in sql


class TestListsSayMoreThan:
    def test_lead_list_past_the_cap_in_english(self, client_for, manager, settings):
        manager.language = "en"
        manager.save(update_fields=["language"])
        settings.CRM_LIST_COUNT_CAP = 3
        OpenLeadFactory.create_batch(4)
        response = client_for(manager).get(reverse("leads:list"))
        content = response.content.decode()
        assert response.context["page_obj"].paginator.capped
        assert "More than 3 leads found" in content

    def test_lead_list_under_the_cap_gives_the_exact_count(self, client_for, manager, settings):
        settings.CRM_LIST_COUNT_CAP = 10
        OpenLeadFactory.create_batch(4)
        response = client_for(manager).get(reverse("leads:list"))
        assert not response.context["page_obj"].paginator.capped
        assert response.context["page_obj"].paginator.count == 4

    def test_account_list_pages_say_more_than_in_french(self, client_for, manager, settings):
        manager.language = "fr"
        manager.save(update_fields=["language"])
        settings.CRM_LIST_COUNT_CAP = 60
        settings.CRM_PAGE_SIZE = 50
        AccountFactory.create_batch(61)
        response = client_for(manager).get(reverse("accounts:list"))
        content = response.content.decode()
        assert response.context["page_obj"].paginator.capped
        assert response.context["page_obj"].paginator.num_pages == 2
        assert "Plus de 60 comptes" in content
        assert "Page 1 sur plus de 2" in content


class TestCountedPaginator:
    def test_it_pages_on_the_count_it_is_given_without_counting(self):
        AccountFactory.create_batch(5)
        paginator = CountedPaginator(Account.objects.order_by("pk"), 2, count=5)
        with CaptureQueriesContext(connection) as queries:
            assert (paginator.count, paginator.num_pages) == (5, 3)
        assert len(queries) == 0
        assert len(paginator.get_page(3).object_list) == 1
