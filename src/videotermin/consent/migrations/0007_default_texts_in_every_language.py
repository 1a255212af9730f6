from pathlib import Path

from django.db import migrations

TEXTS_DIR = Path(__file__).resolve().parent.parent / "texts"
FOLDERS = {"consent": TEXTS_DIR, "privacy": TEXTS_DIR / "privacy"}


def load(apps, schema_editor):
    """Publish the shipped default consent texts and privacy notices of every language that has
    none yet as version 1 (the twelve languages of N7; earlier migrations brought German and
    English)."""
    model = apps.get_model("consent", "ConsentText")
    for kind, folder in FOLDERS.items():
        for path in sorted(folder.glob("*.txt")):
            title, _, body = path.read_text(encoding="utf-8").partition("\n\n")
            model.objects.get_or_create(
                agency=None,
                kind=kind,
                language=path.stem,
                version=1,
                defaults={"title": title.strip(), "body": body.strip()},
            )


def unload(apps, schema_editor):
    """Back: the defaults of the languages this migration brought, where nobody agreed to one."""
    model = apps.get_model("consent", "ConsentText")
    model.objects.filter(agency=None, version=1, decisions__isnull=True).exclude(
        language__in=("de", "en")
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("consent", "0006_default_privacy_notices")]
    operations = [migrations.RunPython(load, unload)]
