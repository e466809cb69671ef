"""Privacy: masking of personal data for readers that must not see it, and the audit trail (docs/privacy.md)."""
