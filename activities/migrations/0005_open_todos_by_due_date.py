from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("activities", "0004_indexes_for_open_records"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="activity",
            index=models.Index(
                condition=models.Q(("done", False)),
                fields=["due_date", "id"],
                name="act_open_due",
            ),
        ),
    ]
