from pathlib import Path

from django.db import migrations

PRIVACY_DIR = Path(__file__).resolve().parent.parent / "texts" / "privacy"


def load(apps, schema_editor):
    """Publish the shipped default privacy notices as version 1, as the consent texts are."""
    model = apps.get_model("consent", "ConsentText")
    for path in sorted(PRIVACY_DIR.glob("*.txt")):
        title, _, body = path.read_text(encoding="utf-8").partition("\n\n")
        model.objects.get_or_create(
            agency=None,
            kind="privacy",
            language=path.stem,
            version=1,
            defaults={"title": title.strip(), "body": body.strip()},
        )


def unload(apps, schema_editor):
    """Back to before privacy notices: without their kind they would pass for consent texts."""
    model = apps.get_model("consent", "ConsentText")
    model.objects.filter(agency=None, kind="privacy", version=1).delete()


class Migration(migrations.Migration):
    dependencies = [("consent", "0005_kinds_and_drafts")]
    operations = [migrations.RunPython(load, unload)]
