"""An import of the elder registry from an Excel file, run in the background.

The uploaded file is kept in the database, encrypted with the field keys, from
the upload until the import has run, then removed (only its name, size and
SHA-256 stay). In the database rather than in var/: the web process that
receives the file and the worker that reads it may run on different machines
(ARCHITECTURE.md: more web processes behind a load balancer), and the job row
and its file then commit together, in one transaction, with the task that
imports it. Encrypted, because the file holds every ID number in clear
(NONFUNCTIONAL.md: a database dump holds no plaintext ID number); removed
after the run, because the report needs none of it and a second copy of a
county's ID numbers is a liability.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from tanfang.regions.models import Region


class Mode(models.TextChoices):
    WHOLE_FILE = "whole_file", "全部正确才导入"
    VALID_ROWS = "valid_rows", "只导入正确的行"


class State(models.TextChoices):
    QUEUED = "queued", "排队中"
    RUNNING = "running", "正在导入"
    DONE = "done", "已完成"
    # Whole-file mode with a row in error, or a file that cannot be read: nothing stored.
    REJECTED = "rejected", "未导入"
    FAILED = "failed", "出错"


FINISHED = frozenset({State.DONE, State.REJECTED, State.FAILED})


class ImportJob(models.Model):
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="导入人", on_delete=models.PROTECT, related_name="+"
    )
    # The importer's node when uploading: who else may see the job and its report.
    region = models.ForeignKey(
        Region, verbose_name="所属区划", on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("上传时间", default=timezone.now, db_index=True)
    mode = models.CharField("导入方式", max_length=20, choices=Mode.choices)
    state = models.CharField(
        "状态", max_length=20, choices=State.choices, default=State.QUEUED, db_index=True
    )
    file_name = models.CharField("文件名", max_length=200)
    file_size = models.PositiveIntegerField("文件大小")
    file_sha256 = models.CharField(max_length=64)
    # crypto.encrypt of the file in base64; blank once the import has run.
    file_token = models.TextField(blank=True)
    # Where the upload came from, for the audit entry the worker writes.
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)
    rows_total = models.PositiveIntegerField("总行数", default=0)
    rows_done = models.PositiveIntegerField("已检查", default=0)
    rows_ok = models.PositiveIntegerField("已导入", default=0)
    rows_skipped = models.PositiveIntegerField("已在册跳过", default=0)
    rows_failed = models.PositiveIntegerField("有误", default=0)
    # What went wrong with the file as a whole, in Chinese.
    message = models.TextField("说明", blank=True)
    # [[row, name, column title, message], ...] in row order: errors and skipped rows.
    report = models.JSONField("逐行报告", default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "导入任务"
        verbose_name_plural = "导入任务"

    def __str__(self) -> str:
        return f"{self.file_name}（{self.get_state_display()}）"

    def is_finished(self) -> bool:
        return self.state in FINISHED

    def percent_done(self) -> int:
        if not self.rows_total:
            return 100 if self.is_finished() else 0
        return min(100, self.rows_done * 100 // self.rows_total)

    def rows_valid(self) -> int:
        """Rows that passed every check, stored or not (whole-file mode)."""
        return self.rows_done - self.rows_skipped - self.rows_failed
