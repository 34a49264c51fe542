from django.db import migrations

# The search vector of each posting, stored and indexed (PostgreSQL only). Computing it for
# every open posting on each search cost seconds at a few thousand postings; stored, a search
# is a GIN index lookup. The expression is the one `opportunities.selectors._search` ranked on
# before (Django's SearchVector joins several fields with a space), so results do not change.
# SQLite, the embedded default, has no text search and keeps its word-by-word fallback.
SEARCH_VECTOR = """
    setweight(to_tsvector('english'::regconfig, coalesce(title_en, '')), 'A')
    || setweight(to_tsvector('english'::regconfig,
                             coalesce(summary_en, '') || ' ' || coalesce(description_en, '')), 'B')
    || setweight(to_tsvector('french'::regconfig, coalesce(title_fr, '')), 'A')
    || setweight(to_tsvector('french'::regconfig,
                             coalesce(summary_fr, '') || ' ' || coalesce(description_fr, '')), 'B')
"""


def add_search_vector(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "ALTER TABLE opportunities_opportunity ADD COLUMN search_vector tsvector "
        f"GENERATED ALWAYS AS ({SEARCH_VECTOR}) STORED"
    )
    schema_editor.execute(
        "CREATE INDEX opportunity_search_gin ON opportunities_opportunity USING GIN (search_vector)"
    )


def drop_search_vector(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("ALTER TABLE opportunities_opportunity DROP COLUMN search_vector")


class Migration(migrations.Migration):
    dependencies = [
        ("opportunities", "0002_alerts_and_awards"),
    ]

    operations = [
        migrations.RunPython(add_search_vector, drop_search_vector, elidable=False),
    ]
