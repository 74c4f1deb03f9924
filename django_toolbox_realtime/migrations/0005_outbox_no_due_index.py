# Senders find the channels with rows due through the pending lane index
# (delivery/due_reads.py); the index on next_attempt_at only cost a write per
# claimed row and per outbox insert.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('django_toolbox_realtime', '0004_outbox_pending_numbered'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='outboxevent',
            name='trt_outbox_pending_due',
        ),
    ]
