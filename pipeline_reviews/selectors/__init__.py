"""Reads for the reviews, one module per review (``monthly``, ``channel_manager``,
``quarterly``) and what they share (``common``). Every figure is computed in SQL, scoped
by the user's visibility."""

from pipeline_reviews.models import Review
from pipeline_reviews.selectors import channel_manager, common, monthly, quarterly
from pipeline_reviews.selectors.channel_manager import channel_manager_review_data
from pipeline_reviews.selectors.common import hydrate
from pipeline_reviews.selectors.monthly import monthly_recap_data
from pipeline_reviews.selectors.quarterly import quarterly_analysis

__all__ = ["channel_manager", "common", "monthly", "quarterly", "recap_data", "review_recap"]


def recap_data(*, user, review: Review, as_of=None) -> dict:
    """The figures frozen in the snapshot when ``review`` closes (plain JSON values)."""
    if review.is_monthly:
        return monthly_recap_data(user=user, review=review, as_of=as_of)
    if review.is_quarterly:
        return quarterly_analysis(review=review)
    return channel_manager_review_data(review=review)


def review_recap(*, user, review: Review) -> dict:
    """The frozen snapshot of a closed review, the live figures of a running one."""
    if review.is_closed and hasattr(review, "snapshot"):
        return hydrate(review.snapshot.data)
    if review.is_monthly:
        return hydrate(monthly_recap_data(user=user, review=review))
    if review.is_quarterly:
        return quarterly_analysis(review=review)
    return hydrate(channel_manager_review_data(review=review))
