"""Every person in a consultation becomes a member with a role.

The citizen's name, e-mail address, language and customer number move from the appointment to
the citizen's member row, and so does the identity check; the counselor's connection on the
appointment goes (staff join the room as members of their own).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import Q


ROLES = [
    ("host", "counselor"),
    ("colleague", "colleague"),
    ("citizen", "citizen"),
    ("interpreter", "interpreter"),
    ("guardian", "guardian"),
    ("legal_counsel", "legal counsel"),
    ("trusted_person", "trusted person"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0002_screen_sharing"),
        # Consent decisions point at participants: their migration must see the old name first.
        ("consent", "0002_default_texts"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RenameModel("Participant", "Member"),
        migrations.AlterModelOptions(
            name="member",
            options={"ordering": ["pk"], "verbose_name": "member", "verbose_name_plural": "members"},
        ),
        migrations.AlterField(
            model_name="member",
            name="appointment",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="members",
                to="appointments.appointment",
            ),
        ),
        migrations.AlterField(
            model_name="member",
            name="role",
            field=models.CharField(choices=ROLES, default="citizen", max_length=20),
        ),
        migrations.AlterField(
            model_name="member",
            name="name",
            field=models.CharField(blank=True, max_length=200, verbose_name="name"),
        ),
        migrations.AlterField(
            model_name="member",
            name="language",
            field=models.CharField(
                choices=settings.LANGUAGES, default="de", max_length=10, verbose_name="language"
            ),
        ),
        migrations.AddField(
            model_name="member",
            name="user",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="memberships",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="member",
            name="email",
            field=models.EmailField(blank=True, max_length=254, verbose_name="e-mail"),
        ),
        migrations.AddField(
            model_name="member",
            name="customer_number",
            field=models.CharField(blank=True, max_length=40, verbose_name="customer number"),
        ),
        migrations.AddField(
            model_name="member", name="invited_at", field=models.DateTimeField(blank=True, null=True)
        ),
        migrations.AddField(
            model_name="member", name="removed_at", field=models.DateTimeField(blank=True, null=True)
        ),
        migrations.AddField(
            model_name="member",
            name="may_send_documents",
            field=models.BooleanField(default=True),
        ),
        migrations.AddField(
            model_name="member", name="may_chat", field=models.BooleanField(default=True)
        ),
        migrations.AddField(
            model_name="member",
            name="channel",
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddField(
            model_name="member",
            name="identity_checked_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="member",
            name="identity_checked_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="member", name="version", field=models.PositiveIntegerField(default=0)
        ),
        migrations.AddConstraint(
            model_name="member",
            constraint=models.UniqueConstraint(
                condition=Q(user__isnull=False),
                fields=("appointment", "user"),
                name="one_membership_per_staff_user",
            ),
        ),
        migrations.RenameField("link", "participant", "member"),
        migrations.AddField(
            model_name="link", name="revoked_at", field=models.DateTimeField(blank=True, null=True)
        ),
    ]
