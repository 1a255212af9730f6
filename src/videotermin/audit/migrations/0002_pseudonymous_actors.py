import django.db.models.deletion
from django.db import migrations, models


def fill_refs(apps, schema_editor):
    AuditEntry = apps.get_model("audit", "AuditEntry")
    for entry in AuditEntry.objects.select_related("appointment").iterator():
        entry.actor_ref = f"staff:{entry.actor_id}" if entry.actor_id else ""
        entry.appointment_ref = str(entry.appointment.public_id) if entry.appointment else ""
        entry.save(update_fields=["actor_ref", "appointment_ref"])


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
        ("appointments", "0003_members"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="actor_ref",
            field=models.CharField(blank=True, max_length=80),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="appointment_ref",
            field=models.CharField(blank=True, max_length=36),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="appointment",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                to="appointments.appointment",
            ),
        ),
        migrations.RunPython(fill_refs, migrations.RunPython.noop),
    ]
