"""Checking the rows of a file: what each would write, or why it is refused.

A ``RowChecker`` reads rows a batch at a time with a handful of queries per batch (the
records a batch names, looked up at once) and remembers the keys already seen in the file.
Each row ends as new (to be created), existing (matched to a record by its external id,
its ClimCRM id, its name or its email: left as it is, so a file imported twice changes
nothing) or refused with its reasons.
"""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account, Contact, Partner
from climcrm.models import User
from climcrm.roles import is_internal
from climcrm.text import normalize_company_name
from imports import columns
from imports.columns import CellError
from imports.models import ImportKind
from opportunities.models import (
    OPEN_STAGES,
    ForecastCategory,
    LossReason,
    Opportunity,
    OpportunityType,
    Stage,
)

NEW, EXISTING, REFUSED = "new", "existing", "refused"


@dataclass
class RowResult:
    number: int
    cells: list[str]
    values: dict = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    outcome: str = NEW
    # Refused for what the row holds (not only as a duplicate): what a wrong separator or
    # encoding produces.
    malformed: bool = False
    existing_id: int | None = None


def _field_error(label, error) -> str:
    return _("%(field)s: %(error)s") % {"field": label, "error": error}


def _max_lengths(model, names) -> dict[str, int]:
    lengths = {}
    for name in names:
        try:
            model_field = model._meta.get_field(name)
        except Exception:  # noqa: BLE001 - not a model field (account, owner…)
            continue
        if getattr(model_field, "max_length", None) and not model_field.is_relation:
            lengths[name] = model_field.max_length
    return lengths


class RowChecker:
    """Checks batches of rows of one file; remembers what the file holds already."""

    def __init__(self, *, kind: str, by, header: list[str], mapping: dict[str, str]):
        self.kind = kind
        self.by = by
        self.header = header
        self.mapping = {int(index): name for index, name in mapping.items()}
        self.labels = columns.field_labels(kind)
        self.seen: dict[tuple, int] = {}
        self.now = timezone.now()
        model = {
            ImportKind.ACCOUNTS: Account,
            ImportKind.CONTACTS: Contact,
            ImportKind.OPPORTUNITIES: Opportunity,
        }[kind]
        self.lengths = _max_lengths(model, self.mapping.values())
        self._users: dict[str, User] | None = None
        self._partners: dict[str, Partner] | None = None
        self._reasons: dict[str, LossReason] | None = None
        self._stages = columns.choice_index(Stage.choices)
        for number in range(1, len(Stage.values) + 1):
            self._stages[columns.key(f"stage {number}")] = Stage.values[number - 1]
            self._stages[str(number)] = Stage.values[number - 1]
        self._categories = columns.choice_index(ForecastCategory.choices)
        self._types = columns.choice_index(OpportunityType.choices)

    # --- reference data, read once ---------------------------------------------------

    @property
    def users(self) -> dict[str, User]:
        if self._users is None:
            self._users = {}
            for user in User.objects.filter(is_active=True, partner__isnull=True):
                if not is_internal(user):
                    continue
                for name in (user.username, user.email, user.get_full_name(), str(user)):
                    if name:
                        self._users.setdefault(name.strip().casefold(), user)
        return self._users

    @property
    def partners(self) -> dict[str, Partner]:
        if self._partners is None:
            self._partners = {
                normalize_company_name(partner.account.name): partner
                for partner in Partner.objects.select_related("account")
            }
        return self._partners

    @property
    def reasons(self) -> dict[str, LossReason]:
        if self._reasons is None:
            self._reasons = {}
            for reason in LossReason.objects.all():
                for name in (reason.code, reason.label_en, reason.label_fr):
                    self._reasons.setdefault(columns.key(name), reason)
        return self._reasons

    # --- rows ---------------------------------------------------------------------------

    def _raw(self, number: int, cells: list[str]) -> RowResult:
        result = RowResult(number=number, cells=cells)
        if len(cells) != len(self.header):
            result.errors.append(
                _(
                    "This row has %(cells)s cells where the header has %(columns)s: the "
                    "separator or the quotation marks of the file may be wrong."
                )
                % {"cells": len(cells), "columns": len(self.header)}
            )
            result.malformed = True
        for position, name in self.mapping.items():
            text = cells[position].strip() if position < len(cells) else ""
            if "\ufffd" in text:
                result.errors.append(
                    _(
                        "%(field)s holds characters that cannot be read: save the file "
                        "as “CSV UTF-8” and upload it again."
                    )
                    % {"field": self.labels[name]}
                )
                result.malformed = True
                continue
            try:
                text = columns.unformula(text, name)
            except CellError as error:
                result.errors.append(_field_error(self.labels[name], error))
                result.malformed = True
                continue
            limit = self.lengths.get(name)
            if limit and len(text) > limit:
                result.errors.append(
                    _("%(field)s is longer than %(max)s characters.")
                    % {"field": self.labels[name], "max": limit}
                )
                result.malformed = True
                continue
            result.values[name] = text
        return result

    def _read(self, result: RowResult, name: str, parser):
        text = result.values.get(name, "")
        try:
            return parser(text)
        except CellError as error:
            result.errors.append(_field_error(self.labels[name], error))
            result.malformed = True
            return None

    def _user(self, result: RowResult, name: str = "owner"):
        text = result.values.get(name, "")
        if not text:
            return None
        user = self.users.get(text.casefold())
        if user is None:
            result.errors.append(
                _("Unknown owner “%(value)s”: give the login, email or name of a ClimCRM user.")
                % {"value": text[:60]}
            )
            result.malformed = True
        return user

    def check(self, rows: list[tuple[int, list[str]]]) -> list[RowResult]:
        results = [self._raw(number, cells) for number, cells in rows]
        checker = {
            ImportKind.ACCOUNTS: self._check_accounts,
            ImportKind.CONTACTS: self._check_contacts,
            ImportKind.OPPORTUNITIES: self._check_opportunities,
        }[self.kind]
        checker(results)
        for result in results:
            if result.errors:
                result.outcome = REFUSED
        return results

    def _duplicate(self, result: RowResult, keys: list[tuple]) -> bool:
        """Refuse a row whose key an earlier row of the file had; remember its keys."""
        for row_key in keys:
            if row_key in self.seen:
                result.errors.append(
                    _("Same record as row %(row)s of the file.") % {"row": self.seen[row_key]}
                )
                return True
        return False

    def _remember(self, result: RowResult, keys: list[tuple]) -> None:
        if result.errors:
            return
        for row_key in keys:
            self.seen[row_key] = result.number

    # --- accounts -----------------------------------------------------------------------

    def _accounts_named(self, results: list[RowResult], name_field: str) -> dict:
        """Accounts named by the rows (by external id and by normalised name), one query."""
        names = {normalize_company_name(r.values.get(name_field, "")) for r in results} - {""}
        ids = {r.values.get(name_field, "") for r in results} - {""}
        found: dict = {}
        if not names:
            return found

        for account in Account.objects.filter(
            Q(normalized_name__in=names) | Q(external_id__in=ids)
        ).order_by("pk"):
            found.setdefault(("name", account.normalized_name), account)
            if account.external_id:
                found.setdefault(("ext", account.external_id), account)
        return found

    def _check_accounts(self, results: list[RowResult]) -> None:
        externals = {r.values.get("external_id") for r in results} - {None, ""}
        names = {normalize_company_name(r.values.get("name", "")) for r in results} - {""}
        by_external = dict(
            Account.objects.filter(external_id__in=externals).values_list("external_id", "pk")
        )
        by_name: dict[str, int] = {}
        for pk, normalized in (
            Account.objects.filter(normalized_name__in=names)
            .order_by("pk")
            .values_list("pk", "normalized_name")
        ):
            by_name.setdefault(normalized, pk)
        validate_url = URLValidator()
        for result in results:
            values = result.values
            name = values.get("name", "")
            if not name:
                result.errors.append(_("The name is missing."))
                result.malformed = True
            owner = self._user(result)
            country = values.get("country", "").upper() or "CH"
            if len(country) != 2 or not country.isalpha():
                result.errors.append(
                    _("Country: “%(value)s” is not a two-letter country code such as CH.")
                    % {"value": values.get("country", "")[:40]}
                )
                result.malformed = True
            website = values.get("website", "")
            if website and "://" not in website:
                website = "https://" + website
            if website:
                try:
                    validate_url(website)
                except ValidationError:
                    result.errors.append(
                        _("Website: “%(value)s” is not a web address.") % {"value": website[:60]}
                    )
                    result.malformed = True
            external = values.get("external_id", "")
            normalized = normalize_company_name(name)
            keys = [("ext", external)] if external else []
            keys.append(("name", normalized))
            if result.errors:
                continue
            existing = by_external.get(external) if external else None
            if existing is None and not external:
                existing = by_name.get(normalized)
            if existing is None and external and normalized in by_name:
                existing = by_name[normalized]
            if existing is not None:
                result.outcome, result.existing_id = EXISTING, existing
                self._remember(result, keys)
                continue
            if self._duplicate(result, keys):
                continue
            result.values = {
                "external_id": external,
                "name": name,
                "normalized_name": normalized,
                "industry": values.get("industry", ""),
                "website": website,
                "street": values.get("street", ""),
                "postal_code": values.get("postal_code", ""),
                "city": values.get("city", ""),
                "country": country,
                "owner_id": owner.pk if owner else self.by.pk,
                "notes": values.get("notes", ""),
            }
            self._remember(result, keys)

    # --- contacts -----------------------------------------------------------------------

    def _check_contacts(self, results: list[RowResult]) -> None:
        accounts = self._accounts_named(results, "account")
        externals = {r.values.get("external_id") for r in results} - {None, ""}
        emails = {r.values.get("email", "").lower() for r in results} - {""}
        by_external = dict(
            Contact.objects.filter(external_id__in=externals).values_list("external_id", "pk")
        )
        by_email: dict[str, int] = {}
        for pk, email in (
            Contact.objects.filter(email__in=emails).order_by("pk").values_list("pk", "email")
        ):
            by_email.setdefault(email.lower(), pk)
        account_ids = {a.pk for a in accounts.values()}
        by_name: dict[tuple, int] = {}
        for pk, account_id, first, last in (
            Contact.objects.filter(account_id__in=account_ids)
            .order_by("pk")
            .values_list("pk", "account_id", "first_name", "last_name")
        ):
            by_name.setdefault((account_id, first.casefold(), last.casefold()), pk)
        for result in results:
            values = result.values
            if not values.get("last_name"):
                result.errors.append(_("The last name is missing."))
                result.malformed = True
            account = self._account_of(result, accounts)
            email = values.get("email", "").lower()
            if email:
                try:
                    validate_email(email)
                except ValidationError:
                    result.errors.append(
                        _("“%(email)s” is not a valid email address.") % {"email": email[:60]}
                    )
                    result.malformed = True
            decision = self._read(result, "is_decision_maker", columns.parse_bool)
            if result.errors:
                continue
            external = values.get("external_id", "")
            name_key = (
                account.pk,
                values.get("first_name", "").casefold(),
                values["last_name"].casefold(),
            )
            keys = [("ext", external)] if external else []
            keys.append(("email", email) if email else ("name", *name_key))
            existing = by_external.get(external) if external else None
            if existing is None:
                existing = by_email.get(email) if email else by_name.get(name_key)
            if existing is not None:
                result.outcome, result.existing_id = EXISTING, existing
                self._remember(result, keys)
                continue
            if self._duplicate(result, keys):
                continue
            result.values = {
                "external_id": external,
                "first_name": values.get("first_name", ""),
                "last_name": values["last_name"],
                "email": email,
                "phone": values.get("phone", ""),
                "job_title": values.get("job_title", ""),
                "account_id": account.pk,
                "is_decision_maker": bool(decision),
            }
            self._remember(result, keys)

    def _account_of(self, result: RowResult, accounts: dict):
        text = result.values.get("account", "")
        if not text:
            result.errors.append(_("The account is missing."))
            result.malformed = True
            return None
        account = accounts.get(("ext", text)) or accounts.get(
            ("name", normalize_company_name(text))
        )
        if account is None:
            result.errors.append(
                _("Unknown account “%(value)s”: import the accounts first.") % {"value": text[:60]}
            )
        return account

    # --- opportunities ------------------------------------------------------------------

    def _check_opportunities(self, results: list[RowResult]) -> None:
        accounts = self._accounts_named(results, "account")
        externals = {r.values.get("external_id") for r in results} - {None, ""}
        climcrm_ids = {
            int(r.values["id"])
            for r in results
            if r.values.get("id", "").isascii() and r.values.get("id", "").isdigit()
        }
        by_external = dict(
            Opportunity.objects.filter(external_id__in=externals).values_list("external_id", "pk")
        )
        # A ClimCRM ID counts only for the same deal: same account, same name (a file from
        # another installation may hold the same numbers for other deals).
        known_ids = {
            pk: (account_id, name.casefold())
            for pk, account_id, name in Opportunity.objects.filter(pk__in=climcrm_ids).values_list(
                "pk", "account_id", "name"
            )
        }
        names = {r.values.get("name", "") for r in results} - {""}
        by_name: dict[tuple, int] = {}
        for pk, account_id, name in (
            Opportunity.objects.filter(
                account_id__in={a.pk for a in accounts.values()}, name__in=names
            )
            .order_by("pk")
            .values_list("pk", "account_id", "name")
        ):
            by_name.setdefault((account_id, name.casefold()), pk)
        for result in results:
            self._check_deal(result, accounts, by_external, known_ids, by_name)

    def _check_deal(self, result, accounts, by_external, known_ids, by_name) -> None:
        values = result.values
        name = values.get("name", "")
        if not name:
            result.errors.append(_("The name is missing."))
            result.malformed = True
        account = self._account_of(result, accounts)
        owner = self._user(result)
        partner = None
        if values.get("partner"):
            partner = self.partners.get(normalize_company_name(values["partner"]))
            if partner is None:
                result.errors.append(
                    _("Unknown partner “%(value)s”.") % {"value": values["partner"][:60]}
                )
                result.malformed = True
        stage = Stage.QUALIFICATION.value
        if values.get("stage"):
            stage = self._stages.get(columns.key(values["stage"]))
            if stage is None:
                result.errors.append(
                    _(
                        "Unknown stage “%(value)s”: use Qualification, Needs Analysis, "
                        "Proposal, Negotiation, Closed Won or Closed Lost (or Stage 1 to 6)."
                    )
                    % {"value": values["stage"][:60]}
                )
                result.malformed = True
        amount = self._read(result, "amount", columns.parse_amount)
        probability = self._read(result, "probability", columns.parse_probability)
        close_date = self._read(result, "close_date", columns.parse_date)
        delivery = self._read(result, "expected_delivery", columns.parse_date)
        created = self._read(result, "created", columns.parse_moment)
        if close_date is None and not values.get("close_date"):
            result.errors.append(_("The close date is missing."))
            result.malformed = True
        if created is not None and created > self.now:
            result.errors.append(_("The creation date is in the future."))
            result.malformed = True
        category = None
        if values.get("forecast_category"):
            category = self._categories.get(columns.key(values["forecast_category"]))
            if category is None:
                result.errors.append(
                    _(
                        "Unknown forecast category “%(value)s”: use Pipeline, Best Case, "
                        "Commit, Closed or Omitted."
                    )
                    % {"value": values["forecast_category"][:60]}
                )
                result.malformed = True
        deal_type = None
        if values.get("type"):
            deal_type = self._types.get(columns.key(values["type"]))
            if deal_type is None:
                result.errors.append(
                    _("Unknown type “%(value)s”: use New business or Existing business.")
                    % {"value": values["type"][:60]}
                )
                result.malformed = True
        reason = None
        if values.get("loss_reason"):
            reason = self.reasons.get(columns.key(values["loss_reason"]))
            if reason is None:
                result.errors.append(
                    _("Unknown loss reason “%(value)s”.") % {"value": values["loss_reason"][:60]}
                )
                result.malformed = True
        if stage == Stage.CLOSED_WON and not result.malformed and not (amount and amount > 0):
            result.errors.append(_("A won deal needs an amount greater than zero."))
        if stage == Stage.CLOSED_LOST and not result.malformed and reason is None:
            result.errors.append(_("A lost deal needs a loss reason."))
        if (
            stage in OPEN_STAGES
            and category in (ForecastCategory.CLOSED, ForecastCategory.OMITTED)
            and not result.malformed
        ):
            result.errors.append(
                _("An open deal cannot be in the Closed or Omitted forecast category.")
            )
        if result.errors:
            return
        external = values.get("external_id", "")
        climcrm_id = values.get("id", "")
        keys = [("ext", external)] if external else []
        keys.append(("name", account.pk, name.casefold()))
        existing = by_external.get(external) if external else None
        same_deal = (account.pk, name.casefold())
        if (
            existing is None
            and climcrm_id.isdigit()
            and known_ids.get(int(climcrm_id)) == same_deal
        ):
            existing = int(climcrm_id)
        if existing is None and not external:
            existing = by_name.get((account.pk, name.casefold()))
        if existing is not None:
            result.outcome, result.existing_id = EXISTING, existing
            self._remember(result, keys)
            return
        if self._duplicate(result, keys):
            return
        result.values = {
            "external_id": external,
            "name": name,
            "account_id": account.pk,
            "owner_id": (owner or self.by).pk,
            "partner_id": partner.pk if partner else None,
            "stage": stage,
            "amount": amount,
            "probability": probability,
            "close_date": close_date,
            "expected_delivery": delivery,
            "forecast_category": category,
            "type": deal_type,
            "loss_reason_id": reason.pk if reason else None,
            "next_step": values.get("next_step", ""),
            "created_at": created,
        }
        self._remember(result, keys)
