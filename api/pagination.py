from rest_framework.pagination import CursorPagination


class Cursor(CursorPagination):
    """Stable pages over changing data: the next page starts after the last row seen.

    A cursor holds the last value of the ordering column, so lists order only by columns
    that are never NULL (a NULL position would skip every row after it).
    """

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
