"""Move the citizen's data and identity check from the appointment to the citizen member."""

from django.db import migrations


def move_citizen_data(apps, schema_editor):
    Appointment = apps.get_model("appointments", "Appointment")
    Member = apps.get_model("appointments", "Member")
    for appointment in Appointment.objects.all().iterator():
        citizen = (
            Member.objects.filter(appointment=appointment, role="citizen").order_by("pk").first()
        )
        if citizen is None:
            citizen = Member(appointment=appointment, role="citizen")
        citizen.name = appointment.citizen_name
        citizen.email = appointment.citizen_email
        citizen.language = appointment.language
        citizen.customer_number = appointment.customer_number
        citizen.invited_at = appointment.invitation_sent_at
        citizen.identity_checked_at = appointment.identity_checked_at
        citizen.identity_checked_by_id = appointment.identity_checked_by_id
        citizen.save()


def move_citizen_data_back(apps, schema_editor):
    Member = apps.get_model("appointments", "Member")
    for citizen in Member.objects.filter(role="citizen").select_related("appointment"):
        appointment = citizen.appointment
        appointment.citizen_name = citizen.name
        appointment.citizen_email = citizen.email
        appointment.language = citizen.language
        appointment.customer_number = citizen.customer_number
        appointment.invitation_sent_at = citizen.invited_at
        appointment.identity_checked_at = citizen.identity_checked_at
        appointment.identity_checked_by_id = citizen.identity_checked_by_id
        appointment.save()
    Member.objects.exclude(role="citizen").delete()


class Migration(migrations.Migration):
    dependencies = [("appointments", "0003_members")]

    operations = [
        migrations.RunPython(move_citizen_data, move_citizen_data_back),
    ]
