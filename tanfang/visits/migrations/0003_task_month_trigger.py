"""Each task's month (the one whose figures it counts in), a trigger's due
moment, and the trigger kind. Existing tasks count where they did before,
except a festival's, which moves to the month of its festival day."""

from datetime import date

from django.db import migrations, models


def fill_months(apps, schema_editor):  # type: ignore[no-untyped-def]
    from tanfang.policy.festivals import Festival, festival_day

    task_model = apps.get_model("visits", "VisitTask")
    table = task_model._meta.db_table
    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {table} SET month = CAST(date_trunc('month', "  # noqa: S608
                "CASE WHEN kind IN ('regular', 'review', 'follow_up') THEN deadline"
                " ELSE window_start END) AS date)"
            )
        else:
            cursor.execute(
                f"UPDATE {table} SET month = date(CASE WHEN kind IN"  # noqa: S608
                " ('regular', 'review', 'follow_up') THEN deadline ELSE window_start END,"
                " 'start of month')"
            )
    festivals = task_model.objects.filter(kind="festival").only("key", "window_start", "window_end")
    for task in festivals.iterator():
        name = task.key.split(":")[1]
        for year in (task.window_start.year, task.window_end.year):
            try:
                day = festival_day(Festival(name), year)
            except ValueError:
                continue
            if task.window_start <= day <= task.window_end:
                task.month = date(day.year, day.month, 1)
                task.save(update_fields=["month"])
                break


class Migration(migrations.Migration):
    dependencies = [("visits", "0002_task_kind_follow_up")]

    operations = [
        migrations.AddField(
            model_name="visittask",
            name="month",
            field=models.DateField(null=True, verbose_name="计入月份"),
        ),
        migrations.AddField(
            model_name="visittask",
            name="due_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="应探访时间"),
        ),
        migrations.AlterField(
            model_name="visittask",
            name="kind",
            field=models.CharField(
                choices=[
                    ("regular", "例行探访"),
                    ("festival", "节日探访"),
                    ("event", "特殊时段探访"),
                    ("review", "档案半年核查"),
                    ("trigger", "重大变故后探访"),
                    ("follow_up", "跟踪回访"),
                ],
                max_length=20,
                verbose_name="类别",
            ),
        ),
        migrations.RunPython(fill_months, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="visittask",
            name="month",
            field=models.DateField(verbose_name="计入月份"),
        ),
        migrations.AddIndex(
            model_name="visittask",
            index=models.Index(fields=["month", "elder"], name="visits_task_month"),
        ),
    ]
