from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("activities", "0007_free_text_limits"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="activity",
            index=models.Index(
                condition=models.Q(("opportunity__isnull", False)),
                fields=["created_at"],
                include=("opportunity",),
                name="act_opp_created",
            ),
        ),
        migrations.AddIndex(
            model_name="activity",
            index=models.Index(
                condition=models.Q(("done_at__isnull", False), ("opportunity__isnull", False)),
                fields=["done_at"],
                include=("opportunity",),
                name="act_opp_done",
            ),
        ),
    ]
