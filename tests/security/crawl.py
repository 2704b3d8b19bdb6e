"""What the security tests walk over: the project's models, URLs and forms, found at run time.

Nothing here is a list to keep up to date by hand: a page or a model added later is picked up
by the next run.
"""

from __future__ import annotations

import datetime
import decimal
import importlib
import inspect
import pkgutil
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.db import models, transaction
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

import tests.factories

PROJECT_APPS = settings.PROJECT_APPS
# Rows these models gain on any request (logins, rate limits, uploads kept for a preview):
# they are journals, not the data a refused form must leave alone.
JOURNAL_MODELS = {
    "climcrm.auditentry",
    "climcrm.ratelimithit",
    "leads.publicformsubmission",
    "leads.importjob",
}
SKIPPED_NAMESPACES = {"admin"}
# Not pages: they answer JSON, switch the language or end the session.
NOT_PAGES = {"logout", "set_language", "healthz", "login"}


def project_models() -> list[type[models.Model]]:
    result = []
    for label in PROJECT_APPS:
        try:
            config = apps.get_app_config(label)
        except LookupError:
            continue
        result += [m for m in config.get_models() if not m._meta.abstract]
    return result


# --------------------------------------------------------------------------- URLs


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name"
    converters: tuple[tuple[str, str], ...]  # (kwarg, converter class name)

    @property
    def kwarg_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.converters)


def project_routes() -> list[Route]:
    """Every named route of the project (not the Django admin), with its path parameters."""
    routes: dict[str, Route] = {}

    def walk(patterns, namespace: str, converters: tuple):
        for pattern in patterns:
            own = tuple(
                (name, type(conv).__name__)
                for name, conv in getattr(pattern.pattern, "converters", {}).items()
            )
            if isinstance(pattern, URLResolver):
                if pattern.namespace in SKIPPED_NAMESPACES:
                    continue
                ns = namespace
                if pattern.namespace:
                    ns = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
                walk(pattern.url_patterns, ns, converters + own)
            elif isinstance(pattern, URLPattern) and pattern.name:
                name = f"{namespace}:{pattern.name}" if namespace else pattern.name
                routes.setdefault(name, Route(name, converters + own))

    walk(get_resolver().url_patterns, "", ())
    return sorted(routes.values(), key=lambda r: r.name)


# Values for the non-numeric path parameters the project uses.
SLUG_VALUES = {
    "name": ["pipeline", "commit"],
    "section": ["pipeline"],
    # The matching key of a registration conflict.
    "kind": ["company", "domain"],
    # A password-reset link: a user id and a token (none of them valid here).
    "uidb64": ["MQ"],
    "token": ["set-password"],
}


def candidate_kwargs(route, pks):
    """Every combination of known values for the route's parameters (none if one is unknown)."""
    combos = [{}]
    for name, kind in route.converters:
        if kind == "IntConverter":
            values = pks
        elif name == "stage":
            values = _stage_values()
        elif name in SLUG_VALUES:
            values = SLUG_VALUES[name]
        else:
            return []
        combos = [{**combo, name: value} for combo in combos for value in values]
    return combos


def _stage_values() -> list[str]:
    from opportunities.models import Stage

    return list(Stage.values)


# ------------------------------------------------------------------------ objects


def _factories() -> dict[type[models.Model], type]:
    """The plainest factory of each model found under tests/factories."""
    found: dict[type[models.Model], type] = {}
    for info in pkgutil.iter_modules(tests.factories.__path__):
        module = importlib.import_module(f"tests.factories.{info.name}")
        for _name, obj in inspect.getmembers(module, inspect.isclass):
            meta = getattr(obj, "_meta", None)
            model = getattr(meta, "model", None)
            if model is None or not hasattr(obj, "create"):
                continue
            current = found.get(model)
            # Prefer the factory named after the model, then the shallowest subclass.
            if current is None or (
                obj.__name__ == f"{model.__name__}Factory"
                and current.__name__ != f"{model.__name__}Factory"
            ):
                found[model] = obj
    return found


def _value_for(field: models.Field, made: dict):
    if field.choices:
        return field.choices[0][0]
    if isinstance(field, models.ForeignKey | models.OneToOneField):
        target = field.related_model
        existing = made.get(target) or list(target._default_manager.all()[:1])
        return existing[0] if existing else None
    if isinstance(field, models.EmailField):
        return "someone@example.ch"
    if isinstance(field, models.URLField):
        return "https://example.ch"
    if isinstance(field, models.CharField | models.TextField):
        return "x"
    if isinstance(field, models.BooleanField):
        return False
    if isinstance(field, models.DecimalField):
        return decimal.Decimal("1")
    if isinstance(field, models.IntegerField | models.FloatField):
        return 1
    if isinstance(field, models.DateTimeField):
        return timezone.now()
    if isinstance(field, models.DateField):
        return timezone.localdate().replace(day=1)
    if isinstance(field, models.JSONField):
        return {}
    if isinstance(field, models.GenericIPAddressField):
        return "127.0.0.1"
    return None


def _autofill(model: type[models.Model], made: dict):
    """A row with every required column filled; optional links tried all, none, then one by
    one (for "this or that" constraints)."""
    required, optional_links = {}, []
    for field in model._meta.concrete_fields:
        if field.primary_key or field.auto_created:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            continue
        if field.null and isinstance(field, models.ForeignKey):
            optional_links.append(field)
            continue
        if field.has_default() or field.null:
            continue
        value = _value_for(field, made)
        if value is None:
            return None
        required[field.name] = value
    links = {f.name: _value_for(f, made) for f in optional_links}
    links = {name: value for name, value in links.items() if value is not None}
    variants = [links, {}] + [{name: value} for name, value in links.items()]
    for variant in variants:
        try:
            with transaction.atomic():
                obj = model(**required, **variant)
                obj.save()
                return obj
        except Exception:  # noqa: BLE001 - the next variant may satisfy the constraints
            continue
    return None


def _closed_review(made) -> None:
    try:
        from pipeline_reviews import services
        from pipeline_reviews.models import Review, ReviewKind
    except ImportError:
        return
    from climcrm.models import User

    partner_model = apps.get_model("accounts", "Partner")
    admin = User.objects.filter(is_superuser=True).first()
    partner = partner_model.objects.order_by("pk").first()
    if admin is None or partner is None or not hasattr(services, "review_close"):
        return
    month = timezone.localdate().replace(day=1) - datetime.timedelta(days=45)
    review = Review.objects.create(
        kind=ReviewKind.MONTHLY_PARTNER,
        partner=partner,
        period_start=month.replace(day=1),
        created_by=admin,
    )
    services.review_close(review=review, by=admin)
    made.setdefault(Review, []).append(review)


SERVICE_BUILDERS = [_closed_review]


def build_world(*, partner=None) -> tuple[dict, list[str]]:
    """At least one row of every project model (factories first, else filled in).

    Returns ({model: [objects]}, [models that could not be built]). Rows that belong to a
    partner are given ``partner`` so that partner users see them too.
    """
    factories = _factories()
    made: dict[type[models.Model], list] = {}
    # Models with factories first: their rows are the realistic ones others hang on.
    order = sorted(project_models(), key=lambda m: m not in factories)
    for _round in range(2):
        for model in order:
            if model in factories and not model._default_manager.exists():
                try:
                    with transaction.atomic():
                        made[model] = [factories[model]()]
                except Exception:  # noqa: BLE001 - dependencies may come next round
                    pass
    # Rows only a service makes (a closed review's snapshot and recaps): made by the service,
    # never filled in, so the data stays consistent.
    for builder in SERVICE_BUILDERS:
        with transaction.atomic():
            builder(made)
    for _round in range(3):
        for model in order:
            if made.get(model) or model._default_manager.exists():
                made.setdefault(model, list(model._default_manager.all()[:3]))
                continue
            try:
                with transaction.atomic():
                    obj = factories[model]() if model in factories else _autofill(model, made)
            except Exception:  # noqa: BLE001 - dependencies may come next round
                obj = None
            if obj is not None:
                made[model] = [obj]
    if partner is not None:
        for model in project_models():
            fields = {f.name: f for f in model._meta.concrete_fields}
            field = fields.get("partner")
            if field is not None and field.related_model is type(partner):
                if model.__name__ == "User":
                    continue
                try:
                    with transaction.atomic():
                        model._default_manager.filter(partner__isnull=True).update(partner=partner)
                except Exception:  # noqa: BLE001 - a constraint wants it without a partner
                    pass
    missing = [m._meta.label for m in project_models() if not m._default_manager.exists()]
    return made, missing


def is_unique(model: type[models.Model], field: models.Field) -> bool:
    """Unique by itself, or by a unique constraint on that column alone (a conditional one,
    e.g. external ids unique when set): one value for every row would break it."""
    return field.unique or any(
        isinstance(constraint, models.UniqueConstraint) and list(constraint.fields) == [field.name]
        for constraint in model._meta.constraints
    )


def text_fields(model: type[models.Model]) -> list[models.Field]:
    """Free-text columns: CharField and TextField without choices (what people type)."""
    skipped = {"password"}
    return [
        f
        for f in model._meta.concrete_fields
        if isinstance(f, models.CharField | models.TextField)
        and not f.choices
        and f.name not in skipped
        and not f.primary_key
    ]


def fingerprint() -> dict[str, int]:
    """Row counts of the project's data (not of its journals)."""
    return {
        m._meta.label_lower: m._default_manager.count()
        for m in project_models()
        if m._meta.label_lower not in JOURNAL_MODELS
    }


def row_values(obj) -> dict:
    obj = type(obj)._default_manager.get(pk=obj.pk)
    return {
        f.attname: getattr(obj, f.attname)
        for f in obj._meta.concrete_fields
        if f.name not in ("updated_at",)
    }


def today() -> datetime.date:
    return timezone.localdate()
