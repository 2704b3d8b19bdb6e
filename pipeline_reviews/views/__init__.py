"""The review pages, one module per review (``monthly``, ``channel_manager``,
``quarterly``), the pages of every review (``review``: archive, creation, a review's page
and recap, closing) and what they share (``common``)."""
