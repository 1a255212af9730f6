from django.db import migrations


def load(apps, schema_editor):
    from videotermin.consent.services import load_default_texts

    load_default_texts(apps)


class Migration(migrations.Migration):
    dependencies = [("consent", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
