"""Seeded, scalable sample workload: realistic landing files plus the ground truth behind them.

``generate(landing_dir, truth_dir, people=3000, seed=42, ..., pollution="default")`` writes form
exports (jinshuju CSV in UTF-8 with BOM and in GBK, typeform CSV, HubSpot XLSX), SendGrid Event
Webhook bodies, GA4 BigQuery-export NDJSON and CRM history CSVs in the layout of docs/contracts.md,
a few planted bad rows per source, and ``people.csv`` / ``records.csv`` / ``identifiers.csv`` /
``bad_rows.csv`` / ``summary.json`` in ``truth_dir``. ``pollution`` (``clean``, ``default``,
``polluted``) sets how many identifiers are shared by several people (kiosk devices, team
mailboxes, office phones, recycled mobile numbers) and how many forms carry a mistyped email on a
device seen nowhere else. Command line: ``python -m intent_pipeline.synth --help``.

Besides the standard library only the pipeline's own normalisation (``intent_pipeline.sources.normalize``)
is imported here; xlsxwriter is imported when a workbook is written, phonenumbers on the first phone.
"""

from intent_pipeline.synth.generator import generate

__all__ = ["generate"]
