"""Customer-intent warehouse: extract, lake, quality gates and activation.

Heavy dependencies (pandas, duckdb, great_expectations) are imported inside
the functions that need them, so importing this package stays cheap for the
Airflow DAG processor.
"""

__version__ = "0.1.0"
