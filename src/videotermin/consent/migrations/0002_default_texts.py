from pathlib import Path

from django.db import migrations

TEXTS_DIR = Path(__file__).resolve().parent.parent / "texts"


def load(apps, schema_editor):
    """Publish the shipped default consent texts as version 1 (the model as it was then)."""
    model = apps.get_model("consent", "ConsentText")
    for path in sorted(TEXTS_DIR.glob("*.txt")):
        title, _, body = path.read_text(encoding="utf-8").partition("\n\n")
        model.objects.get_or_create(
            agency=None,
            language=path.stem,
            version=1,
            defaults={"title": title.strip(), "body": body.strip()},
        )


class Migration(migrations.Migration):
    dependencies = [("consent", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
