"""SendGrid Event Webhook POST bodies into ``email_events``."""
