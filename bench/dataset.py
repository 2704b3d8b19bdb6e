"""A synthetic CRM of N opportunities, loaded fast (PostgreSQL COPY, indexes built after).

Proportions (N deals): N/5 customer accounts, 2 contacts each, 2N leads, about 5 history rows
per deal over five years (consistent versions, ``prev_*`` values and ``valid_until`` chain),
3 activities per deal, 20 partners with monthly reviews and quarterly targets, 50 users in
the role groups (9 of them partner users), all with the demo password.

Rows come from one seeded generator, so the same N gives the same data on every machine.
On PostgreSQL they are streamed with ``COPY`` while secondary indexes and unique constraints
are dropped and foreign-key triggers are off for the session, then the indexes are rebuilt,
sequences reset and the tables vacuumed and analysed. Other databases (SQLite, for the tests)
get the same rows through batched INSERTs.

Every column the generator does not set takes the model field's default, so fields added
to the models later do not break the build as long as they have a default or are nullable.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import random
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter

from django.apps import apps
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.utils import timezone

from climcrm.choices import BANT_CHECKS
from climcrm.text import normalize_company_name

DEMO_PASSWORD = "climcrm-demo"
PARTNERS = 20
USERS = 50
YEARS = 5
# Apps whose tables --reset empties (reference data of opportunities excepted).
CRM_APPS = (
    "climcrm",
    "accounts",
    "leads",
    "opportunities",
    "activities",
    "partners",
    "forecasting",
    "pipeline_reviews",
    "privacy",
)
KEPT_MODELS = {"opportunities.stagesetting", "opportunities.lossreason"}
EXTRA_TABLES = ("django_session", "django_admin_log")

OPEN = ["qualification", "needs_analysis", "proposal", "negotiation"]
FALLBACK_DEFAULTS = {
    "qualification": (10, "pipeline"),
    "needs_analysis": (25, "pipeline"),
    "proposal": (50, "best_case"),
    "negotiation": (75, "commit"),
    "closed_won": (100, "closed"),
    "closed_lost": (0, "omitted"),
}
SOURCES = ["web_form", "event", "linkedin", "email_campaign", "referral", "partner", "other"]
KINDS = ["call", "meeting", "email", "sales_visit", "note", "task"]
SUBJECTS = {
    "call": "Follow-up call",
    "meeting": "Project meeting",
    "email": "Offer sent by email",
    "sales_visit": "Site visit",
    "note": "Note on the project",
    "task": "Prepare the offer",
}
FIRST = ["Claire", "Julien", "Sophie", "Marc", "Nadia", "Luca", "Anne", "Thomas", "Élodie", "Paul"]
LAST = ["Rochat", "Favre", "Meylan", "Bonvin", "Perret", "Bianchi", "Zufferey", "Girard", "Keller"]
WORDS = ["Alpes", "Léman", "Jura", "Rhône", "Lavaux", "Valais", "Sarine", "Aar", "Gruyère"]
TRADES = ["Climatisation", "Immobilier", "Construction", "Hôtellerie", "Santé", "Logistique"]
FORMS = ["SA", "Sàrl", "AG", "GmbH", "SA", "SA"]
CITIES = [
    ("Lausanne", "1003"),
    ("Genève", "1201"),
    ("Sion", "1950"),
    ("Fribourg", "1700"),
    ("Neuchâtel", "2000"),
    ("Nyon", "1260"),
]


def parse_size(text: str | int) -> int:
    """'1k' → 1000, '1M' → 1000000, '250' → 250."""
    if isinstance(text, int):
        return text
    value = text.strip().lower().replace("_", "")
    factor = 1
    if value.endswith("k"):
        factor, value = 1000, value[:-1]
    elif value.endswith("m"):
        factor, value = 1_000_000, value[:-1]
    number = int(float(value) * factor)
    if number < 1:
        raise ValueError("size must be positive")
    return number


def size_label(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


# --------------------------------------------------------------------------- tables


def crm_models() -> list[type[models.Model]]:
    found = []
    for label in CRM_APPS:
        try:
            config = apps.get_app_config(label)
        except LookupError:
            continue
        for model in config.get_models(include_auto_created=True):
            if model._meta.label_lower not in KEPT_MODELS and not model._meta.proxy:
                found.append(model)
    return found


def crm_tables() -> list[str]:
    existing = set(connection.introspection.table_names())
    tables = [m._meta.db_table for m in crm_models()] + list(EXTRA_TABLES)
    tables += [t for t in existing if t.startswith("axes_")]
    return sorted({t for t in tables if t in existing})


def is_empty() -> bool:
    from accounts.models import Account
    from climcrm.models import User
    from leads.models import Lead
    from opportunities.models import Opportunity

    return not any(m.objects.exists() for m in (User, Account, Opportunity, Lead))


def reset_tables() -> None:
    tables = crm_tables()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            quoted = ", ".join(connection.ops.quote_name(t) for t in tables)
            # Foreign keys checked at commit would block the TRUNCATE of rows written earlier
            # in the same transaction: check them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        else:
            for sql in connection.ops.sql_flush(
                no_style(), tables, reset_sequences=True, allow_cascade=True
            ):
                cursor.execute(sql)


# --------------------------------------------------------------------------- loading


def _default_for(f: models.Field, now: dt.datetime):
    if f.has_default():
        return f.get_default()
    if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
        return now
    if f.null:
        return None
    if f.empty_strings_allowed:
        return ""
    raise ValueError(
        f"{f.model._meta.label}.{f.name} has no default: teach bench/dataset.py to fill it."
    )


class Clock:
    """Times the phases of a build: wall time, the builder's CPU time and, when the server
    runs on this machine, the CPU time of its backend (where the time goes)."""

    def __init__(self, log: Callable[[str], None]):
        self.log = log
        self.phases: dict[str, float] = {}
        self._stat = None
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                path = f"/proc/{cursor.fetchone()[0]}/stat"
            try:
                with open(path.replace("stat", "cmdline"), "rb") as cmdline:
                    local = cmdline.read().startswith(b"postgres")
            except OSError:
                local = False
            self._stat = path if local else None

    def server_seconds(self) -> float | None:
        if self._stat is None:
            return None
        try:
            with open(self._stat) as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def start(self) -> tuple[float, float, float | None]:
        return time.monotonic(), time.process_time(), self.server_seconds()

    def done(self, name: str, started: tuple[float, float, float | None], what: str = "") -> float:
        wall = time.monotonic() - started[0]
        self.phases[name] = self.phases.get(name, 0.0) + wall
        cpu = f"Python {time.process_time() - started[1]:.1f} s"
        server = self.server_seconds()
        if server is not None and started[2] is not None:
            cpu += f", PostgreSQL {server - started[2]:.1f} s"
        self.log(f"{name}{': ' + what if what else ''} in {wall:.1f} s ({cpu})")
        return wall


class Loader:
    """Writes rows (tuples in a declared column order) into a model's table.

    On PostgreSQL in binary ``COPY`` (no text to format here or to parse in the server),
    with ``FREEZE`` when the table was emptied in the same transaction: the rows are
    written frozen and all-visible, so the vacuum that follows has nothing to rewrite."""

    def __init__(self, now: dt.datetime, clock: Clock, *, freeze: bool = False):
        self.pg = connection.vendor == "postgresql"
        self.now = now
        self.clock = clock
        self.freeze = freeze
        self.counts: dict[str, int] = {}

    def _column_types(self, table: str, columns: list[str]) -> list[int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT attname, atttypid::int FROM pg_attribute "
                "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
                [connection.ops.quote_name(table)],
            )
            types = dict(cursor.fetchall())
        return [types[c] for c in columns]

    def load(self, model, columns: list[str], rows: Iterable[tuple]) -> int:
        started = self.clock.start()
        opts = model._meta
        by_column = {f.column: f for f in opts.concrete_fields}
        keep = [i for i, c in enumerate(columns) if c in by_column]
        if len(keep) == len(columns):
            keep = None
        columns = [c for c in columns if c in by_column]
        missing = [f for f in opts.concrete_fields if f.column not in columns]
        defaults = tuple(_default_for(f, self.now) for f in missing)
        all_columns = columns + [f.column for f in missing]
        fields = [by_column[c] for c in all_columns]
        n = 0
        if self.pg:
            quoted = ", ".join(connection.ops.quote_name(c) for c in all_columns)
            options = "FORMAT BINARY, FREEZE" if self.freeze else "FORMAT BINARY"
            sql = (
                f"COPY {connection.ops.quote_name(opts.db_table)} ({quoted}) FROM STDIN ({options})"
            )
            types = self._column_types(opts.db_table, all_columns)
            with connection.cursor() as cursor, cursor.copy(sql) as copy:
                copy.set_types(types)
                write = copy.write_row
                if keep is None and not defaults:
                    for row in rows:
                        write(row)
                        n += 1
                else:
                    for row in rows:
                        if keep is not None:
                            row = tuple(row[i] for i in keep)
                        write(row + defaults)
                        n += 1
        else:
            placeholders = ", ".join(["%s"] * len(all_columns))
            quoted = ", ".join(connection.ops.quote_name(c) for c in all_columns)
            table = connection.ops.quote_name(opts.db_table)
            sql = f"INSERT INTO {table} ({quoted}) VALUES ({placeholders})"
            batch: list[list] = []
            with connection.cursor() as cursor:
                for row in rows:
                    if keep is not None:
                        row = tuple(row[i] for i in keep)
                    batch.append(
                        [
                            f.get_db_prep_save(v, connection)
                            for f, v in zip(fields, row + defaults, strict=True)
                        ]
                    )
                    n += 1
                    if len(batch) >= 1000:
                        cursor.executemany(sql, batch)
                        batch = []
                if batch:
                    cursor.executemany(sql, batch)
        self.counts[opts.db_table] = n
        self.clock.done(f"load {opts.db_table}", started, f"{n:,} rows")
        return n


@dataclass
class DroppedIndexes:
    """Secondary indexes and unique constraints of the big tables, dropped during the load."""

    indexes: list[str] = field(default_factory=list)
    constraints: list[tuple[str, str, str]] = field(default_factory=list)

    @classmethod
    def drop(cls, tables: list[str]) -> DroppedIndexes:
        dropped = cls()
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT t.relname, ic.relname, pg_get_indexdef(i.indexrelid),
                       con.conname, pg_get_constraintdef(con.oid)
                FROM pg_index i
                JOIN pg_class t ON t.oid = i.indrelid
                JOIN pg_class ic ON ic.oid = i.indexrelid
                JOIN pg_namespace ns ON ns.oid = t.relnamespace
                LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid
                    AND con.contype IN ('u', 'x') AND con.conrelid = t.oid
                WHERE NOT i.indisprimary AND t.relname = ANY(%s)
                  AND ns.nspname = current_schema()
                """,
                [tables],
            )
            for table, index, indexdef, conname, condef in cursor.fetchall():
                cursor.execute("SAVEPOINT bench_drop")
                try:
                    if conname:
                        cursor.execute(
                            f"ALTER TABLE {connection.ops.quote_name(table)} "
                            f"DROP CONSTRAINT {connection.ops.quote_name(conname)}"
                        )
                        dropped.constraints.append((table, conname, condef))
                    else:
                        cursor.execute(f"DROP INDEX {connection.ops.quote_name(index)}")
                        dropped.indexes.append(indexdef)
                    cursor.execute("RELEASE SAVEPOINT bench_drop")
                except Exception:  # noqa: BLE001 - an index something depends on stays
                    cursor.execute("ROLLBACK TO SAVEPOINT bench_drop")
        return dropped

    def rebuild(self, log: Callable[[str], None]) -> None:
        """Builds what was dropped, the slowest first named in the log. PostgreSQL sorts a
        B-tree with parallel workers (``max_parallel_maintenance_workers``, set by
        ``build``); GIN and GiST indexes are built by one process."""
        took: list[tuple[float, str]] = []
        with connection.cursor() as cursor:
            for table, conname, condef in self.constraints:
                started = time.monotonic()
                cursor.execute(
                    f"ALTER TABLE {connection.ops.quote_name(table)} "
                    f"ADD CONSTRAINT {connection.ops.quote_name(conname)} {condef}"
                )
                took.append((time.monotonic() - started, conname))
            for indexdef in self.indexes:
                started = time.monotonic()
                cursor.execute(indexdef)
                name = indexdef.split(" INDEX ", 1)[1].split()[0]
                took.append((time.monotonic() - started, name))
        slowest = ", ".join(f"{name} {seconds:.1f} s" for seconds, name in sorted(took)[-3:][::-1])
        log(f"  slowest: {slowest}")


# --------------------------------------------------------------------------- generation


@dataclass
class Plan:
    n: int
    now: dt.datetime
    seed: int = 42
    accounts: int = 0
    leads: int = 0

    def __post_init__(self):
        self.accounts = max(self.n // 5, 10)
        self.leads = 2 * self.n

    # ids: partner accounts 1..20, customer accounts 21..20+accounts
    def customer_account(self, index: int) -> int:
        return PARTNERS + 1 + index


class Generator:
    """Deterministic rows for every table, as tuples in the order of ``*_COLUMNS``."""

    USER_COLUMNS = [
        "id",
        "password",
        "last_login",
        "is_superuser",
        "username",
        "first_name",
        "last_name",
        "email",
        "is_staff",
        "is_active",
        "date_joined",
        "language",
        "manager_id",
        "partner_id",
        "partner_title",
    ]

    def __init__(self, plan: Plan, groups: dict[str, int], loss_reasons: list[int], stage_defaults):
        self.plan = plan
        self.groups = groups
        self.loss_reasons = loss_reasons or [None]
        self.defaults = stage_defaults
        self.rng = random.Random(plan.seed)
        self.now = plan.now
        # Today, due dates and close dates are days in the installation's time zone, as the
        # services and pages read them: a UTC date is yesterday there every late evening.
        self.today = timezone.localdate(plan.now)
        self.users: list[tuple] = []
        self.user_groups: list[tuple[int, str]] = []
        self.reps: list[int] = []
        self.managers: list[int] = []
        self.channel_managers: list[int] = []
        # Funnel bits (SQL, won) per deal id, filled by ``deals`` for ``leads``.
        self.deal_progress = bytearray()
        self._build_users()

    # -- people ---------------------------------------------------------------------------

    def _build_users(self) -> None:
        password = make_password(DEMO_PASSWORD)
        joined = self.now - dt.timedelta(days=365 * YEARS + 30)
        users = []

        def add(username, first, last, roles, *, manager=None, partner=None, title="", su=False):
            uid = len(users) + 1
            users.append(
                (
                    uid,
                    password,
                    None,
                    su,
                    username,
                    first,
                    last,
                    f"{username}@climcrm.test",
                    su,
                    True,
                    joined,
                    "fr" if uid % 4 else "en",
                    manager,
                    partner,
                    title,
                )
            )
            for role in roles:
                self.user_groups.append((uid, role))
            return uid

        add("admin", "Admin", "ClimCRM", ["admin"], su=True)
        for i in range(3):
            name = "manager" if i == 0 else f"manager{i + 1}"
            self.managers.append(add(name, FIRST[i], LAST[i], ["sales_manager"]))
        for i in range(3):
            name = "channel" if i == 0 else f"channel{i + 1}"
            self.channel_managers.append(add(name, FIRST[i + 3], LAST[i + 3], ["channel_manager"]))
        partner_users = [
            ("partner_a", 1, "salesperson"),
            ("partner_a_dir", 1, "sales_director"),
            ("partner_b", 2, "salesperson"),
            ("partner_b_dir", 2, "sales_director"),
        ] + [(f"partner{p:02d}", p, "salesperson") for p in range(3, 8)]
        rep_count = USERS - len(users) - len(partner_users)
        for i in range(rep_count):
            name = "rep" if i == 0 else f"rep{i + 1:02d}"
            manager = self.managers[i % len(self.managers)]
            self.reps.append(
                add(
                    name, FIRST[i % len(FIRST)], LAST[i % len(LAST)], ["sales_rep"], manager=manager
                )
            )
        for name, partner, title in partner_users:
            add(name, "Partner", name.title(), ["partner_user"], partner=partner, title=title)
        self.users = users

    def user_rows(self) -> Iterator[tuple]:
        yield from self.users

    def user_group_rows(self) -> Iterator[tuple]:
        for i, (uid, role) in enumerate(self.user_groups, start=1):
            yield (i, uid, self.groups[role])

    # -- companies ------------------------------------------------------------------------

    ACCOUNT_COLUMNS = [
        "id",
        "created_at",
        "updated_at",
        "name",
        "normalized_name",
        "industry",
        "website",
        "street",
        "postal_code",
        "city",
        "country",
        "owner_id",
        "notes",
    ]

    def account_rows(self) -> Iterator[tuple]:
        rng = self.rng
        start = self.now - dt.timedelta(days=365 * YEARS + 20)
        for aid in range(1, PARTNERS + self.plan.accounts + 1):
            partner = aid <= PARTNERS
            word = WORDS[aid % len(WORDS)]
            trade = TRADES[(aid // len(WORDS)) % len(TRADES)]
            if partner:
                name = f"{word} Partenaire {aid:02d} {FORMS[aid % len(FORMS)]}"
            else:
                name = f"{word} {trade} {aid:07d} {FORMS[aid % len(FORMS)]}"
            city, postal = CITIES[aid % len(CITIES)]
            created = start + dt.timedelta(seconds=rng.random() * 86400 * 30)
            yield (
                aid,
                created,
                created,
                name,
                normalize_company_name(name),
                trade,
                "",
                f"Rue du Lac {aid % 200 + 1}",
                postal,
                city,
                "CH",
                None if partner else self.reps[aid % len(self.reps)],
                "",
            )

    CONTACT_COLUMNS = [
        "id",
        "created_at",
        "updated_at",
        "first_name",
        "last_name",
        "email",
        "phone",
        "job_title",
        "account_id",
        "is_decision_maker",
        "notes",
        "anonymised_at",
    ]

    def contact_rows(self) -> Iterator[tuple]:
        created = self.now - dt.timedelta(days=365 * YEARS)
        cid = 0
        for index in range(self.plan.accounts):
            aid = self.plan.customer_account(index)
            for k in range(2):
                cid += 1
                yield (
                    cid,
                    created,
                    created,
                    FIRST[cid % len(FIRST)],
                    LAST[cid % len(LAST)],
                    f"contact{cid}@example.ch",
                    "+41 21 000 00 00",
                    "Directeur technique" if k == 0 else "Acheteur",
                    aid,
                    k == 0,
                    "",
                    None,
                )

    PARTNER_COLUMNS = [
        "id",
        "created_at",
        "updated_at",
        "account_id",
        "channel_manager_id",
        "contract_start",
        "contract_end",
        "is_active",
    ]

    def partner_rows(self) -> Iterator[tuple]:
        created = self.now - dt.timedelta(days=365 * YEARS)
        for pid in range(1, PARTNERS + 1):
            yield (
                pid,
                created,
                created,
                pid,
                self.channel_managers[pid % len(self.channel_managers)],
                dt.date(self.today.year - YEARS, 1, 1),
                dt.date(self.today.year + 2, 12, 31),
                pid != PARTNERS,
            )

    TARGET_COLUMNS = ["id", "partner_id", "year", "quarter", "revenue", "new_customers", "leads"]

    def target_rows(self) -> Iterator[tuple]:
        tid = 0
        per_quarter = max(self.plan.n * 60_000 // PARTNERS // (YEARS * 4), 10_000)
        for pid in range(1, PARTNERS + 1):
            for year in range(self.today.year - YEARS + 1, self.today.year + 1):
                for quarter in range(1, 5):
                    tid += 1
                    yield (tid, pid, year, quarter, per_quarter, 3, 12)

    REVIEW_COLUMNS = ["id", "kind", "partner_id", "period_start", "status", "created_by_id"]
    REVIEW_TIMES = ["created_at", "closed_at"]

    def review_rows(self) -> Iterator[tuple]:
        rid = 0
        for pid in range(1, PARTNERS + 1):
            manager = self.channel_managers[pid % len(self.channel_managers)]
            for back in range(11, -1, -1):
                month = self.today.month - back
                year = self.today.year + (month - 1) // 12
                month = (month - 1) % 12 + 1
                start = dt.date(year, month, 1)
                at = dt.datetime(year, month, 10, 9, tzinfo=dt.UTC)
                rid += 1
                closed = back > 0
                yield (
                    rid,
                    "monthly_partner",
                    pid,
                    start,
                    "closed" if closed else "draft",
                    manager,
                    at,
                    at + dt.timedelta(hours=2) if closed else None,
                )
        # The channel managers' own monthly review over all partners, and each partner's
        # quarterly review of the last two quarters (the current one still open).
        for back in range(11, -1, -1):
            month = self.today.month - back
            year = self.today.year + (month - 1) // 12
            month = (month - 1) % 12 + 1
            at = dt.datetime(year, month, 12, 9, tzinfo=dt.UTC)
            rid += 1
            closed = back > 0
            yield (
                rid,
                "channel_manager",
                None,
                dt.date(year, month, 1),
                "closed" if closed else "draft",
                self.channel_managers[0],
                at,
                at + dt.timedelta(hours=2) if closed else None,
            )
        quarter_month = (self.today.month - 1) // 3 * 3 + 1
        current = dt.date(self.today.year, quarter_month, 1)
        previous = dt.date(current.year - (quarter_month == 1), (quarter_month - 4) % 12 + 1, 1)
        for pid in range(1, PARTNERS + 1):
            manager = self.channel_managers[pid % len(self.channel_managers)]
            for start in (previous, current):
                at = dt.datetime(start.year, start.month, 20, 9, tzinfo=dt.UTC)
                rid += 1
                closed = start == previous
                yield (
                    rid,
                    "quarterly",
                    pid,
                    start,
                    "closed" if closed else "draft",
                    manager,
                    at,
                    at + dt.timedelta(hours=3) if closed else None,
                )

    # -- deals ----------------------------------------------------------------------------

    OPPORTUNITY_COLUMNS = [
        "id",
        "name",
        "account_id",
        "primary_contact_id",
        "owner_id",
        "partner_id",
        "type",
        "stage",
        "probability",
        "amount",
        "currency",
        "close_date",
        "expected_delivery",
        "forecast_category",
        "forecast_category_is_manual",
        "next_step",
        "next_step_date",
        *BANT_CHECKS,
        "source",
        "lead_id",
        "loss_reason_id",
        "loss_reason_text",
        "created_at",
        "updated_at",
        "stage_changed_at",
        "closed_at",
        "version",
        "furthest_rank",
        "created_amount",
        "commit_entry_amount",
        "close_month_start_amount",
        "close_quarter_start_amount",
        "open_todos",
        "next_todo_due",
    ]
    HISTORY_COLUMNS = [
        "id",
        "opportunity_id",
        "version",
        "changed_at",
        "valid_until",
        "changed_by_id",
        "is_creation",
        "changed_fields",
        "tag",
        "stage",
        "amount",
        "probability",
        "close_date",
        "forecast_category",
        "owner_id",
        "partner_id",
        "prev_stage",
        "prev_amount",
        "prev_probability",
        "prev_close_date",
        "prev_forecast_category",
        "prev_owner_id",
        "prev_partner_id",
        "prev_stage_entered_at",
    ]
    ACTIVITY_COLUMNS = [
        "id",
        "created_at",
        "updated_at",
        "kind",
        "subject",
        "description",
        "due_date",
        "done",
        "done_at",
        "assignee_id",
        "created_by_id",
        "lead_id",
        "opportunity_id",
        "account_id",
        "review_id",
    ]

    def deals(self) -> Iterator[tuple[tuple, list[tuple], list[tuple]]]:
        """(opportunity row, its history rows, its activity rows) for every deal."""
        from leads.funnel import SQL, WON
        from opportunities.models import QUALIFIED_RANK

        rng = self.rng
        rand = rng.random
        loss_reasons = self.loss_reasons

        def randint(low: int, high: int) -> int:  # random.randint is 6× slower
            return low + int(rand() * (high - low + 1))

        now, today = self.now, self.today
        zone = timezone.get_current_timezone()

        def localdate(moment: dt.datetime) -> dt.date:  # timezone.localdate, 3× faster
            return moment.astimezone(zone).date()

        span = 365 * YEARS * 86400
        defaults = self.defaults
        reps, partners_n = self.reps, PARTNERS
        accounts = self.plan.accounts
        tracked_creation: list = []
        period_starts: dict[dt.date, tuple] = {}
        day = dt.timedelta(days=1)
        hid = 0
        aid_seq = 0
        # Each assignee's first open to-dos are due today, then overdue, then later, and the
        # first three go to "rep" (reps[0]), whose "My tasks" the benchmark measures: the page
        # shows its three groups (and runs the same queries) at every size.
        first_dues = (0, -1, 1)
        # Kept columns (``forecasting.kept``) come with the rows, as the services keep them:
        # the deal's open to-dos, and the funnel bits of the lead converted into the deal.
        progress = self.deal_progress = bytearray(self.plan.n + 1)
        open_todos: dict[int, int] = {}
        open_total = 0
        for oid in range(1, self.plan.n + 1):
            created = now - dt.timedelta(seconds=rand() * span)
            age = (now - created).days
            closed_p = 0.92 if age > 270 else (0.5 if age > 90 else 0.15)
            closed = rand() < closed_p
            k = randint(3, 7)
            account_index = randint(0, accounts - 1)
            account = PARTNERS + 1 + account_index
            contact = 2 * account_index + 1 + (oid & 1)
            owner = reps[randint(0, len(reps) - 1)]
            partner = randint(1, partners_n) if rand() < 0.3 else None
            amount = randint(5, 400) * 1000
            close_date = localdate(created + dt.timedelta(days=randint(30, 180)))
            if closed:
                end = created + dt.timedelta(days=randint(20, max(21, min(age, 365))))
                if end > now:
                    end = now - dt.timedelta(minutes=5)
            else:
                end = now - dt.timedelta(minutes=randint(5, 60 * 24 * 20))
                if end <= created:
                    end = created + dt.timedelta(seconds=(now - created).total_seconds() * 0.9)
            window = (end - created).total_seconds()
            offsets = sorted(rand() for _ in range(k - 1))
            times = [created] + [
                created + dt.timedelta(seconds=max(1.0, o * window) + j)
                for j, o in enumerate(offsets)
            ]
            if closed:
                times[-1] = max(end, times[-2] + dt.timedelta(seconds=1))
            changes = k - 1 - (1 if closed else 0)
            target = randint(0, 3)
            first = randint(0, max(changes - 1, 0))
            advances = {(first + i) % changes for i in range(min(target, changes))}
            stage_i = 0
            stage = "qualification"
            probability, category = defaults[stage]
            stage_changed = created
            state = (stage, amount, probability, close_date, category, owner, partner)
            rows = []
            hid += 1
            # valid_until chains each row to the next one's changed_at; the last stays open.
            until = times[1:] + [None]
            rows.append(
                (hid, oid, 1, created, until[0], owner, True, tracked_creation, "", *state)
                + ("", None, None, None, "", None, None, None)
            )
            loss_reason = None
            closed_at = None
            for j in range(1, k):
                at = times[j]
                prev = state
                # Every stage change leaves an open stage (closing is the last change).
                entered = stage_changed
                if closed and j == k - 1:
                    won = rand() < 0.35
                    stage = "closed_won" if won else "closed_lost"
                    probability, category = (100, "closed") if won else (0, "omitted")
                    close_date = localdate(at)
                    changed = ["stage", "probability", "forecast_category", "close_date"]
                    if not won:
                        loss_reason = loss_reasons[int(rand() * len(loss_reasons))]
                        changed.append("loss_reason")
                    stage_changed = closed_at = at
                elif (j - 1) in advances:
                    stage_i += 1
                    stage = OPEN[stage_i]
                    probability, category = defaults[stage]
                    changed = ["stage", "probability", "forecast_category"]
                    stage_changed = at
                else:
                    roll = rand()
                    if roll < 0.45:
                        amount = max(1000, amount + randint(-20, 20) * 1000)
                        changed = ["amount"]
                    elif roll < 0.9:
                        close_date = close_date + day * randint(15, 60)
                        changed = ["close_date"]
                    else:
                        owner = reps[randint(0, len(reps) - 1)]
                        changed = ["owner"]
                state = (stage, amount, probability, close_date, category, owner, partner)
                hid += 1
                left_at = entered if "stage" in changed else None
                rows.append(
                    (
                        *(hid, oid, j + 1, at, until[j], owner, False, changed, ""),
                        *(*state, *prev, left_at),
                    )
                )
            last_at = times[-1]
            is_open = not closed
            next_step_date = today + day * randint(-10, 30) if is_open else None
            activities = []
            open_due = None
            for a in range(3):
                aid_seq += 1
                kind = KINDS[(oid + a) % len(KINDS)]
                assignee = owner
                if is_open and a == 2:
                    if open_total < len(first_dues):
                        assignee = reps[0]
                    open_total += 1
                    seen = open_todos[assignee] = open_todos.get(assignee, 0) + 1
                    offset = first_dues[seen - 1] if seen <= len(first_dues) else randint(-5, 30)
                    due = open_due = today + day * offset
                    done, done_at = False, None
                    made = last_at
                else:
                    made = times[min(a, k - 1)]
                    due = localdate(made) + day * randint(0, 7)
                    done = True
                    done_at = made + dt.timedelta(days=randint(0, 7))
                    if done_at > now:
                        done_at = now
                activities.append(
                    (
                        aid_seq,
                        made,
                        made,
                        kind,
                        SUBJECTS[kind],
                        "",
                        due,
                        done,
                        done_at,
                        assignee,
                        owner,
                        None,
                        oid,
                        None,
                        None,
                    )
                )
            furthest_rank = 5 if stage == "closed_won" else stage_i + 1
            # The lead converted into this deal reads its funnel bits from here.
            progress[oid] = (SQL if furthest_rank >= QUALIFIED_RANK else 0) | (
                WON if stage == "closed_won" else 0
            )
            opportunity = (
                oid,
                f"{WORDS[oid % len(WORDS)]} {TRADES[oid % len(TRADES)]} projet {oid}",
                account,
                contact,
                owner,
                partner,
                "new_business" if oid % 3 else "existing_business",
                stage,
                probability,
                amount,
                "CHF",
                close_date,
                None,
                category,
                False,
                "Relancer le client" if is_open else "",
                next_step_date,
                oid % 2 == 0,
                oid % 3 == 0,
                True,
                oid % 5 != 0,
                SOURCES[oid % len(SOURCES)],
                None,
                loss_reason,
                "Prix trop élevé" if loss_reason else "",
                created,
                last_at,
                stage_changed,
                closed_at,
                k,
                furthest_rank,
                *_accuracy_amounts(rows, stage, close_date, period_starts),
                1 if is_open else 0,
                open_due,
            )
            yield opportunity, rows, activities

    # -- leads ----------------------------------------------------------------------------

    LEAD_COLUMNS = [
        "id",
        "created_at",
        "updated_at",
        "first_name",
        "last_name",
        "email",
        "phone",
        "company",
        "job_title",
        "source",
        "origin",
        "partner_id",
        "owner_id",
        "status",
        "status_changed_at",
        "disqualification_reason",
        "notes",
        "project_name",
        *BANT_CHECKS,
        "organisation_fit",
        "opportunity_fit",
        "stakeholder_fit",
        "planned_actions",
        "converted_account_id",
        "converted_contact_id",
        "converted_opportunity_id",
        "converted_at",
        "anonymised_at",
        "reached_mql",
        "reached_prospect",
        "deal_progress",
    ]
    STATUS_CHANGE_COLUMNS = [
        "id",
        "lead_id",
        "from_status",
        "to_status",
        "changed_at",
        "changed_by_id",
    ]

    def leads(self) -> Iterator[tuple[tuple, tuple | None]]:
        """(lead row, its status change row or None) for every lead; after ``deals``."""
        from leads.funnel import SRL

        deal_progress = self.deal_progress
        rng = self.rng
        rand = rng.random

        def randint(low: int, high: int) -> int:
            return low + int(rand() * (high - low + 1))

        now = self.now
        span = 365 * YEARS * 86400
        reps = self.reps
        accounts, n = self.plan.accounts, self.plan.n
        sid = 0
        for lid in range(1, self.plan.leads + 1):
            created = now - dt.timedelta(seconds=rand() * span)
            age = (now - created).days
            roll = rand()
            if age > 180:
                status = "converted" if roll < 0.3 else ("disqualified" if roll < 0.8 else None)
                if status is None:
                    status = ("new", "working", "mql")[randint(0, 2)]
            else:
                status = (
                    "new"
                    if roll < 0.4
                    else "working"
                    if roll < 0.7
                    else "mql"
                    if roll < 0.85
                    else "converted"
                    if roll < 0.95
                    else "disqualified"
                )
            partner = randint(1, PARTNERS) if rand() < 0.25 else None
            owner = None if (status == "new" and rand() < 0.3) else reps[randint(0, len(reps) - 1)]
            changed_at = (
                created + dt.timedelta(seconds=rand() * min(age * 86400, 90 * 86400))
                if status != "new"
                else None
            )
            converted = status == "converted"
            account_index = randint(0, accounts - 1)
            deal = randint(1, n) if converted else None
            word = WORDS[lid % len(WORDS)]
            lead = (
                lid,
                created,
                changed_at or created,
                FIRST[lid % len(FIRST)],
                f"{LAST[lid % len(LAST)]} {lid}",
                f"lead{lid}@example.ch",
                "+41 22 000 00 00",
                f"{word} {TRADES[lid % len(TRADES)]} {lid} SA",
                "Responsable technique",
                SOURCES[lid % len(SOURCES)] if partner is None else "partner",
                "bp" if partner else "rs",
                partner,
                owner,
                status,
                changed_at,
                "Pas de projet à court terme" if status == "disqualified" else "",
                "",
                "",
                lid % 2 == 0,
                lid % 3 == 0,
                lid % 4 != 0,
                lid % 5 == 0,
                status in ("mql", "converted"),
                status in ("mql", "converted"),
                converted,
                "",
                PARTNERS + 1 + account_index if converted else None,
                2 * account_index + 1 if converted else None,
                deal,
                changed_at if converted else None,
                None,
                status == "mql",  # its one status row is new → mql
                converted,  # the three qualification levels are met: a prospect
                # Every deal starts in qualification (SRL); SQL and won come from the deal.
                SRL | deal_progress[deal] if converted else 0,
            )
            change = None
            if status != "new":
                sid += 1
                change = (sid, lid, "new", status, changed_at, owner)
            yield lead, change


# --------------------------------------------------------------------------- build


def _accuracy_amounts(rows: list[tuple], stage: str, close_date: dt.date, cache: dict) -> tuple:
    """``Opportunity.created_amount`` and siblings from the deal's history rows (columns of
    ``HISTORY_COLUMNS``), as the deal services keep them and migration 0009 fills them."""
    amount, category, prev_category, changed_at = 10, 13, 20, 3
    entries = [
        row[amount] for row in rows if row[category] == "commit" and row[prev_category] != "commit"
    ]
    starts = (None, None)
    if stage == "closed_won":
        if close_date not in cache:
            month = dt.date(close_date.year, close_date.month, 1)
            quarter = dt.date(close_date.year, (close_date.month - 1) // 3 * 3 + 1, 1)
            cache[close_date] = tuple(
                timezone.make_aware(dt.datetime.combine(day, dt.time.min))
                for day in (month, quarter)
            )
        starts = tuple(
            next((r[amount] for r in reversed(rows) if r[changed_at] <= moment), None)
            for moment in cache[close_date]
        )
    return (rows[0][amount], entries[0] if entries else None, *starts)


def _split(items: Iterator[tuple], sinks: list[list]) -> Iterator[tuple]:
    """Yields the first element of each item and keeps the others for later tables."""
    for first, *rest in items:
        for sink, value in zip(sinks, rest, strict=True):
            if isinstance(value, list):
                sink.extend(value)
            elif value is not None:
                sink.append(value)
        yield first


@contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """The cyclic garbage collector off: the rows are tuples without cycles (freed by
    reference counting), and its full passes over millions of them took a third of the
    rows' generation time."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _forecast_submissions(now: dt.datetime) -> int:
    """Each rep's and each partner's forecast for the quarter, submitted last week and this
    week through the service (with the deals behind them), and a manager's adjustment."""
    from climcrm.models import User
    from climcrm.periods import QUARTER, period_containing
    from forecasting.submissions import (
        forecast_adjustment_create,
        forecast_proposal,
        forecast_submission_create,
    )

    period = period_containing(QUARTER, timezone.localdate(now))
    count = 0
    reps = User.objects.filter(groups__name="sales_rep", is_active=True, partner__isnull=True)
    directors = User.objects.filter(
        partner_title=User.PartnerTitle.SALES_DIRECTOR, is_active=True, partner__isnull=False
    ).select_related("partner")
    for user in [*reps.select_related("manager").distinct(), *directors]:
        partner = user.partner if user.partner_id else None
        subject = {"partner": partner} if partner else {"user": user}
        proposal = forecast_proposal(period=period, **subject)
        for days, share in ((7, Decimal("0.9")), (0, Decimal(1))):
            submission = forecast_submission_create(
                by=user,
                period=period,
                commit=proposal.commit * share,
                best_case=proposal.best_case * share,
                partner=partner,
                now=now - dt.timedelta(days=days, minutes=5),
            )
            count += 1
        if partner is None and user.manager is not None and user.manager.is_active:
            forecast_adjustment_create(
                by=user.manager,
                submission=submission,
                figure="commit",
                to_amount=submission.commit * Decimal("0.8"),
                note="Prudence",
                now=now - dt.timedelta(minutes=1),
            )
    return count


def build(n: int, *, reset: bool = False, seed: int = 42, log=print) -> dict:
    """Fill the database with the dataset of ``n`` deals; returns row counts and timings."""
    from accounts.models import Account, Contact, Partner, PartnerTarget
    from activities.models import Activity
    from climcrm.models import User
    from forecasting import kept
    from leads.models import Lead, LeadStatusChange
    from opportunities.models import LossReason, Opportunity, OpportunityHistory, StageSetting
    from pipeline_reviews.models import Review

    started = time.monotonic()
    pg = connection.vendor == "postgresql"
    clock = Clock(log)
    phase = clock.start()
    if not is_empty() and not reset:
        raise RuntimeError(
            "The database already holds CRM data: use an empty database, or --reset to "
            "empty the CRM tables first."
        )
    now = timezone.now().replace(microsecond=0)
    groups = {}
    for role in ("sales_rep", "sales_manager", "channel_manager", "partner_user", "admin"):
        groups[role] = Group.objects.get_or_create(name=role)[0].pk
    if not LossReason.objects.exists():
        LossReason.objects.create(code="price", label_en="Price", label_fr="Prix")
    loss_reasons = list(LossReason.objects.filter(is_active=True).values_list("pk", flat=True))
    stage_defaults = dict(FALLBACK_DEFAULTS)
    for setting in StageSetting.objects.all():
        stage_defaults[setting.stage] = (
            setting.default_probability,
            setting.default_forecast_category,
        )
    plan = Plan(n=n, now=now, seed=seed)
    gen = Generator(plan, groups, loss_reasons, stage_defaults)
    # COPY FREEZE needs the table emptied in this transaction: with --reset it is.
    loader = Loader(now, clock, freeze=pg and reset)
    big = [
        m._meta.db_table
        for m in (
            Account,
            Contact,
            Opportunity,
            OpportunityHistory,
            Activity,
            Lead,
            LeadStatusChange,
        )
    ]
    with transaction.atomic():
        if reset:
            reset_tables()
        dropped = None
        if pg:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
                cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
                # The grouped rebuilds of the kept totals hash in memory instead of spilling.
                cursor.execute("SET LOCAL work_mem = '256MB'")
                # Index sorts with one worker besides the builder (2 cores).
                cursor.execute("SET LOCAL max_parallel_maintenance_workers = 1")
                cursor.execute("SAVEPOINT bench_role")
                try:
                    # Foreign-key triggers off for this transaction: the rows are built
                    # consistent, and checking 12 million references one by one is slow.
                    cursor.execute("SET LOCAL session_replication_role = replica")
                    cursor.execute("RELEASE SAVEPOINT bench_role")
                except Exception:  # noqa: BLE001 - not a superuser: keep the checks
                    cursor.execute("ROLLBACK TO SAVEPOINT bench_role")
            dropped = DroppedIndexes.drop(big)
        clock.done("prepare" + (" (tables emptied)" if reset else ""), phase)
        loader.load(User, gen.USER_COLUMNS, gen.user_rows())
        loader.load(User.groups.through, ["id", "user_id", "group_id"], gen.user_group_rows())
        loader.load(Account, gen.ACCOUNT_COLUMNS, gen.account_rows())
        loader.load(Contact, gen.CONTACT_COLUMNS, gen.contact_rows())
        loader.load(Partner, gen.PARTNER_COLUMNS, gen.partner_rows())
        loader.load(PartnerTarget, gen.TARGET_COLUMNS, gen.target_rows())
        loader.load(Review, gen.REVIEW_COLUMNS + gen.REVIEW_TIMES, gen.review_rows())
        # Deals stream into COPY while their history and activities are kept in memory
        # as tuples (about 1 GB at a million deals) for the next two COPYs.
        with _without_cyclic_gc():
            history: list[tuple] = []
            activities: list[tuple] = []
            loader.load(
                Opportunity, gen.OPPORTUNITY_COLUMNS, _split(gen.deals(), [history, activities])
            )
            # In the order the rows were written, as an installation's append-only history
            # lies on disk (recent changes together), numbered in that order.
            phase = clock.start()
            history.sort(key=itemgetter(3, 0))
            clock.done("sort history", phase)
            loader.load(
                OpportunityHistory,
                gen.HISTORY_COLUMNS,
                ((number, *row[1:]) for number, row in enumerate(history, 1)),
            )
            del history
            loader.load(Activity, gen.ACTIVITY_COLUMNS, activities)
            del activities
            changes: list[tuple] = []
            loader.load(Lead, gen.LEAD_COLUMNS, _split(gen.leads(), [changes]))
            loader.load(LeadStatusChange, gen.STATUS_CHANGE_COLUMNS, changes)
            del changes
        if dropped is not None:
            phase = clock.start()
            dropped.rebuild(log)
            clock.done(
                "indexes",
                phase,
                f"{len(dropped.indexes)} indexes and {len(dropped.constraints)} unique "
                "constraints rebuilt",
            )
        # The columns kept on leads and deals (funnel bits, open to-dos) came with the rows;
        # ``manage.py totals --check`` compares them with a rebuild.
        with connection.cursor() as cursor:
            loaded = [
                User,
                User.groups.through,
                Account,
                Contact,
                Partner,
                PartnerTarget,
                Review,
                Opportunity,
                OpportunityHistory,
                Activity,
                Lead,
                LeadStatusChange,
            ]
            for sql in connection.ops.sequence_reset_sql(no_style(), loaded):
                cursor.execute(sql)
        phase = clock.start()
        tables = ("forecasting_pipelinesummary", "forecasting_monthchange")
        # Still with the foreign-key triggers off: the month rows (3.7 million at 1M) would
        # otherwise each queue a deferred check of their deal, run one by one at commit.
        written = kept.rebuild(tables=(*tables, "forecasting_monthchangetotal"))
        clock.done("kept totals", phase, ", ".join(f"{t} {written[t]:,} rows" for t in tables))
        phase = clock.start()
        submitted = _forecast_submissions(now)
        clock.done("forecast submissions", phase, f"{submitted} submissions")
        phase = clock.start()
    clock.done("commit", phase)
    phase = clock.start()
    with connection.cursor() as cursor:
        if pg and not connection.in_atomic_block:
            summaries = ["forecasting_pipelinesummary", "forecasting_monthchange"]
            for table in [*loader.counts, *summaries]:
                cursor.execute(f"VACUUM (ANALYZE) {connection.ops.quote_name(table)}")
        else:
            cursor.execute("ANALYZE")
    clock.done("vacuum/analyse", phase)
    total = time.monotonic() - started
    log(f"dataset of {n:,} deals built in {total:.1f} s")
    return {
        "size": n,
        "rows": dict(loader.counts),
        "seconds": round(total, 1),
        "phases": {name: round(seconds, 1) for name, seconds in clock.phases.items()},
    }
