"""Pagination of lists that can hold millions of rows.

Counting every lead of ten years of marketing to print "page 1 of 40,000" costs a full
scan on each visit. A capped paginator counts at most ``CRM_LIST_COUNT_CAP`` rows (one
``COUNT`` over a ``LIMIT``): below the cap the count and the pages are exact; above it the
list says "more than N" and offers the first N rows' pages, and the user narrows the list
with its filters and sorting, as in every CRM's list views.
"""

from typing import Any

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property


class CappedPaginator(Paginator):
    object_list: QuerySet[Any]  # counted in the database, never in Python

    def __init__(self, object_list, per_page=None, *, cap: int | None = None, **kwargs):
        super().__init__(object_list, per_page or settings.CRM_PAGE_SIZE, **kwargs)
        self.cap = cap if cap is not None else settings.CRM_LIST_COUNT_CAP

    @cached_property
    def _counted(self) -> int:
        # One row past the cap tells "exactly the cap" from "more than the cap".
        return self.object_list.order_by().values("pk")[: self.cap + 1].count()

    @property
    def count(self) -> int:
        return min(self._counted, self.cap)

    @property
    def capped(self) -> bool:
        """True when there are more rows than the cap: the count is a lower bound."""
        return self._counted > self.cap


class CountedPaginator(Paginator):
    """A paginator told its count by a query the page already runs (totals, group counts)."""

    def __init__(self, object_list, per_page, *, count: int, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self._known_count = count

    @property
    def count(self) -> int:
        return self._known_count


def capped_page(request, queryset, *, cap: int | None = None):
    """The requested page (``?page=``) of ``queryset``; a bad number gives the first or last."""
    return CappedPaginator(queryset, cap=cap).get_page(request.GET.get("page"))
