from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_pseudonymous_actors"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="actor_role",
            field=models.CharField(blank=True, max_length=20),
        ),
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(fields=["agency", "-at", "-id"], name="audit_agency_at_idx"),
        ),
    ]
