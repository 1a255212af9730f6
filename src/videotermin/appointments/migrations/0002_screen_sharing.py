from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="appointment",
            name="counselor_screen_on",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="participant",
            name="may_share_screen",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="participant",
            name="screen_on",
            field=models.BooleanField(default=False),
        ),
    ]
