"""Bids keep the supplier's identity as it stood at each submission, to redact the packets with
it as well as with the identity at the close (issue 21). Bids submitted before have none: their
packets are redacted with the identity at the close, as before."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("bids", "0003_receipt_received_at")]

    operations = [
        migrations.AddField(
            model_name="bid",
            name="identity_at_submission",
            field=models.JSONField(blank=True, default=dict, editable=False),
        ),
    ]
