"""Who may do what: API keys (hashed, revocable, scoped by the area hierarchy), roles and their
permissions, phone masking, and the audit log. No HTTP here: ``api/auth.py`` reads the key
from a request and calls these."""
