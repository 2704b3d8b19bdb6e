from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_initial"),
        ("opportunities", "0004_open_indexes_cover_totals"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="opportunityhistory",
            index=models.Index(
                condition=models.Q(("valid_until__isnull", True)),
                fields=["close_date"],
                include=(
                    "id",
                    "changed_at",
                    "stage",
                    "forecast_category",
                    "amount",
                    "probability",
                    "owner",
                    "partner",
                ),
                name="opphist_current_close",
            ),
        ),
        migrations.AddIndex(
            model_name="opportunityhistory",
            index=models.Index(
                condition=models.Q(
                    ("valid_until__isnull", False),
                    models.Q(
                        ("stage", "closed_won"), ("forecast_category", "commit"), _connector="OR"
                    ),
                ),
                fields=["close_date", "valid_until"],
                include=("changed_at", "stage", "forecast_category", "amount", "owner", "partner"),
                name="opphist_past_commit_close",
            ),
        ),
        migrations.AddIndex(
            model_name="opportunityhistory",
            index=models.Index(
                condition=models.Q(
                    ("forecast_category", "commit"),
                    models.Q(("prev_forecast_category", "commit"), _negated=True),
                ),
                fields=["opportunity", "version"],
                include=("amount",),
                name="opphist_commit_entry",
            ),
        ),
    ]
