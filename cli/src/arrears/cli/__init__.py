"""The `arrears` command."""
