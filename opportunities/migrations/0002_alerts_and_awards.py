from django.db import migrations, models
from django.db.models import F


def mark_existing_as_sent(apps, schema_editor):
    # Opportunities published before alerts existed must not alert everyone now.
    Opportunity = apps.get_model("opportunities", "Opportunity")
    Opportunity.objects.filter(published_at__isnull=False).update(alerts_sent_at=F("published_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("opportunities", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="opportunity",
            name="alerts_sent_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(mark_existing_as_sent, migrations.RunPython.noop),
        migrations.AddField(
            model_name="opportunity",
            name="awarded_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
    ]
