from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("activities", "0005_open_todos_by_due_date"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="activity",
            index=models.Index(
                condition=models.Q(("done", False), ("lead__isnull", False)),
                fields=["lead", "due_date"],
                name="act_lead_todo_open",
            ),
        ),
    ]
