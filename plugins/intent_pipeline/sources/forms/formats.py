"""Header mapping of each form tool's export, as data.

A file is recognised by its header row, not its name: the tool whose headers
match best (at least half of them) wins. Headers are compared after trimming
spaces and a BOM, case-insensitively. Columns not listed here are kept as JSON
in ``extra``. Add a tool by adding an entry; nothing else changes.

Target fields are the columns of ``forms_submissions`` (see ``intent_pipeline.lake``),
plus ``first_name``/``last_name``, which are joined into ``full_name``.
"""

from __future__ import annotations

FORM_FORMATS: dict[str, dict] = {
    # 金数据 (jinshuju.net) CSV export; 提交时间 is wall-clock time in the source timezone.
    "jinshuju": {
        "columns": {
            "序号": "submission_id",
            "表单名称": "form_name",
            "姓名": "full_name",
            "手机号": "phone",
            "邮箱": "email",
            "公司": "company",
            "职位": "job_title",
            "行业": "industry",
            "公司规模": "company_size",
            "提交时间": "submitted_at",
            "来源": "lead_source",
            "client_id": "client_id",
            # a checkbox field: the option's text when ticked (同意), empty when not
            "个人信息授权": "consent",
        },
    },
    # Typeform responses CSV; Submitted At is ISO-8601 with an offset or Z.
    "typeform": {
        "columns": {
            "Submission ID": "submission_id",
            "Form": "form_name",
            "Full Name": "full_name",
            "Email Address": "email",
            "Phone Number": "phone",
            "Company": "company",
            "Job Title": "job_title",
            "Industry": "industry",
            "Company Size": "company_size",
            "Submitted At": "submitted_at",
            "UTM Source": "lead_source",
            "client_id": "client_id",
            # a Legal question: 1 accepted, 0 declined
            "Privacy Consent": "consent",
        },
    },
    # HubSpot form submissions export (XLSX, first sheet); Conversion date is an Excel datetime
    # or "YYYY-MM-DD HH:MM" in the source timezone.
    "hubspot_forms": {
        "columns": {
            "Conversion ID": "submission_id",
            "Form name": "form_name",
            "First Name": "first_name",
            "Last Name": "last_name",
            "Email": "email",
            "Phone number": "phone",
            "Company name": "company",
            "Job title": "job_title",
            "Industry": "industry",
            "Number of employees": "company_size",
            "Conversion date": "submitted_at",
            "Original source": "lead_source",
            "client_id": "client_id",
        },
    },
}

# Fields whose column must be in the header; a file without one of them is rejected whole
# (its rows quarantined), since every row would lack the field.
REQUIRED_FIELDS: tuple[str, ...] = ("form_name", "email", "phone", "submitted_at")

# Share of a tool's headers a file must carry to be recognised as that tool.
MIN_HEADER_MATCH = 0.5


def header_key(header: object) -> str:
    """A header cell as compared: no BOM, no surrounding spaces, case-folded."""
    return str(header if header is not None else "").replace("\ufeff", "").strip().casefold()


def aliases(field: str) -> list[str]:
    """Every tool's header for ``field``, e.g. email -> ['邮箱', 'Email Address', 'Email']."""
    return [header for spec in FORM_FORMATS.values() for header, target in spec["columns"].items() if target == field]


# Every tool's header for every field (folded as ColumnMap compares them): a file recognised as one tool
# that names a column the way another tool does (``Company`` in a HubSpot export) still fills the field.
ALIASES: dict[str, str] = {
    " ".join(header.replace("_", " ").split()).casefold(): field
    for spec in FORM_FORMATS.values()
    for header, field in spec["columns"].items()
}
