from django.db import migrations, models

# Days an open deal may stay in a stage before the board marks it as rotting. Closed stages
# never rot. Frozen here: later changes are made in the admin.
FILL = """
    UPDATE opportunities_stagesetting
       SET rotting_days = CASE stage
           WHEN 'qualification' THEN 14
           WHEN 'needs_analysis' THEN 21
           WHEN 'proposal' THEN 21
           WHEN 'negotiation' THEN 14
       END
     WHERE stage IN ('qualification', 'needs_analysis', 'proposal', 'negotiation')
"""


class Migration(migrations.Migration):
    dependencies = [
        ("opportunities", "0015_qualification_depth"),
    ]

    operations = [
        migrations.AddField(
            model_name="stagesetting",
            name="rotting_days",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="A deal that stays longer than this in the stage is marked as rotting on the board. Empty: never marked.",
                null=True,
                verbose_name="rotting after (days)",
            ),
        ),
        migrations.RunSQL(FILL, reverse_sql=migrations.RunSQL.noop),
    ]
