"""Receipts keep when the submission arrived as well as when it was recorded (issue 19). Until
now the two were one moment, read under the lock: earlier receipts get it for both."""

from django.db import migrations, models
from django.db.models import F


def arrival_as_recorded(apps, schema_editor):
    apps.get_model("bids", "Receipt").objects.update(received_at=F("submitted_at"))


class Migration(migrations.Migration):
    dependencies = [("bids", "0002_attachment_text")]

    operations = [
        migrations.AddField(
            model_name="receipt",
            name="received_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunPython(arrival_as_recorded, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="receipt",
            name="received_at",
            field=models.DateTimeField(),
        ),
    ]
