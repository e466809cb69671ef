"""Seeded, scalable sample workload: realistic landing files plus the ground truth behind them.

``generate(landing_dir, truth_dir, people=3000, seed=42, ...)`` writes form exports (jinshuju CSV
in UTF-8 with BOM and in GBK, typeform CSV, HubSpot XLSX), SendGrid Event Webhook bodies, GA4
BigQuery-export NDJSON and CRM history CSVs in the layout of docs/contracts.md, a few planted
bad rows per source, and ``people.csv`` / ``records.csv`` / ``bad_rows.csv`` / ``summary.json``
in ``truth_dir``. Command line: ``python -m intent_pipeline.synth --help``.

Only the standard library is imported here; xlsxwriter is imported when a workbook is written.
"""

from intent_pipeline.synth.generator import generate

__all__ = ["generate"]
