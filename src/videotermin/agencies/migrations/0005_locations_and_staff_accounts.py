"""Locations can be closed for booking; locations and staff get random public ids for the
administration's addresses (existing rows each get their own), staff a language for e-mails."""

import uuid

from django.db import migrations, models


def give_public_ids(apps, schema_editor):
    for model in ("Location", "StaffMember"):
        for row in apps.get_model("agencies", model).objects.only("pk"):
            row.public_id = uuid.uuid4()
            row.save(update_fields=["public_id"])


class Migration(migrations.Migration):
    dependencies = [
        ("agencies", "0004_staff_roles_and_security_policy"),
    ]

    operations = [
        migrations.AddField(
            model_name="location",
            name="active",
            field=models.BooleanField(default=True, verbose_name="open for booking"),
        ),
        migrations.AddField(
            model_name="staffmember",
            name="language",
            field=models.CharField(default="de", max_length=10, verbose_name="language"),
        ),
        migrations.AddField(
            model_name="location",
            name="public_id",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="staffmember",
            name="public_id",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.RunPython(give_public_ids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="location",
            name="public_id",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
        migrations.AlterField(
            model_name="staffmember",
            name="public_id",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
    ]
