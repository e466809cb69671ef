"""Form exports (jinshuju CSV, Typeform CSV, HubSpot XLSX) into ``forms_submissions``."""
