from rest_framework.pagination import CursorPagination


class Cursor(CursorPagination):
    """Stable pages over changing data: the next page starts after the last row seen."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
