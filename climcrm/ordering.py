"""Sorting a list by the key in its query string (``?ordering=-amount``)."""


def ordering_for(key: str | None, allowed: dict, default: str) -> tuple[str, list[str]]:
    """The ordering asked for if it is allowed (``-`` prefix for descending), else default."""
    key = key or default
    descending = key.startswith("-")
    bare = key.lstrip("-")
    if bare not in allowed:
        key, descending, bare = default, default.startswith("-"), default.lstrip("-")
    prefix = "-" if descending else ""
    return key, [f"{prefix}{column}" for column in allowed[bare]] + [f"{prefix}pk"]
