from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("consent", "0002_default_texts"),
        ("appointments", "0003_members"),
    ]

    operations = [migrations.RenameField("consentdecision", "participant", "member")]
