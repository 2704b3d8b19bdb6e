"""The first reason codes, in frozen SQL (an admin edits them afterwards)."""

from django.db import migrations

# (code, English label, French label, position)
REASON_CODES = [
    (
        "customer_budget_moved",
        "Customer budget moved to next year",
        "Budget client reporté à l'année suivante",
        1,
    ),
    ("decision_delayed", "Customer decision delayed", "Décision du client retardée", 2),
    ("competitor", "Competitor", "Concurrent", 3),
    ("scope_reduced", "Scope reduced", "Périmètre réduit", 4),
    ("price_negotiated", "Price negotiated down", "Prix renégocié à la baisse", 5),
    ("project_on_hold", "Project on hold", "Projet suspendu", 6),
    ("other", "Other", "Autre", 99),
]


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


INSERT = [
    "INSERT INTO opportunities_reasoncode (code, label_en, label_fr, is_active, position) "
    f"VALUES ({_quoted(code)}, {_quoted(en)}, {_quoted(fr)}, TRUE, {position});"
    for code, en, fr, position in REASON_CODES
]
CODES = ", ".join(_quoted(code) for code, _en, _fr, _position in REASON_CODES)
# Codes a history row already names stay (the next migration back drops the table anyway).
DELETE = (
    f"DELETE FROM opportunities_reasoncode WHERE code IN ({CODES}) AND id NOT IN ("
    "SELECT reason_code_id FROM opportunities_opportunityhistory "
    "WHERE reason_code_id IS NOT NULL);"
)


class Migration(migrations.Migration):
    dependencies = [("opportunities", "0018_reason_codes")]

    operations = [migrations.RunSQL(INSERT, [DELETE])]
