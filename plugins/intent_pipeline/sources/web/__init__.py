"""GA4 BigQuery export (NDJSON, one event per line) into ``web_events``."""
