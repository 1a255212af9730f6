"""The appointment no longer holds the citizen or the counselor's connection."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("appointments", "0004_citizen_data_to_members")]

    operations = [
        migrations.RemoveField("appointment", "citizen_name"),
        migrations.RemoveField("appointment", "citizen_email"),
        migrations.RemoveField("appointment", "language"),
        migrations.RemoveField("appointment", "customer_number"),
        migrations.RemoveField("appointment", "invitation_sent_at"),
        migrations.RemoveField("appointment", "identity_checked_at"),
        migrations.RemoveField("appointment", "identity_checked_by"),
        migrations.RemoveField("appointment", "counselor_session"),
        migrations.RemoveField("appointment", "counselor_screen_on"),
    ]
