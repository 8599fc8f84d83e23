"""Mail: accounts, passwords and sending (reading mail is its own issue)."""
