from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0005_indexes_for_open_records"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(fields=["partner", "created_at"], name="lead_partner_created"),
        ),
    ]
