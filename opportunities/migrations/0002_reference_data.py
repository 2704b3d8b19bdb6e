from django.db import migrations

STAGES = [
    ("qualification", 10, "pipeline"),
    ("needs_analysis", 25, "pipeline"),
    ("proposal", 50, "best_case"),
    ("negotiation", 75, "commit"),
    ("closed_won", 100, "closed"),
    ("closed_lost", 0, "omitted"),
]
LOSS_REASONS = [
    ("price", "Price", "Prix"),
    ("competitor", "Competitor", "Concurrent"),
    ("no_budget", "No budget", "Pas de budget"),
    ("project_abandoned", "Project abandoned", "Projet abandonné"),
    ("timing", "Timing", "Calendrier"),
    ("product_fit", "Product fit", "Adéquation produit"),
    ("other", "Other", "Autre"),
]


def load(apps, schema_editor):
    StageSetting = apps.get_model("opportunities", "StageSetting")
    LossReason = apps.get_model("opportunities", "LossReason")
    for stage, probability, category in STAGES:
        StageSetting.objects.update_or_create(
            stage=stage,
            defaults={"default_probability": probability, "default_forecast_category": category},
        )
    for position, (code, label_en, label_fr) in enumerate(LOSS_REASONS):
        LossReason.objects.update_or_create(
            code=code, defaults={"label_en": label_en, "label_fr": label_fr, "position": position}
        )


def unload(apps, schema_editor):
    apps.get_model("opportunities", "StageSetting").objects.all().delete()
    LossReason = apps.get_model("opportunities", "LossReason")
    Opportunity = apps.get_model("opportunities", "Opportunity")
    used = Opportunity.objects.exclude(loss_reason=None).values("loss_reason")
    LossReason.objects.filter(code__in=[c for c, _, _ in LOSS_REASONS]).exclude(pk__in=used).delete()


class Migration(migrations.Migration):
    dependencies = [("opportunities", "0001_initial")]

    operations = [migrations.RunPython(load, unload)]
