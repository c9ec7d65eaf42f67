"""Tenancy: projects, members and their roles, invitations, API tokens and the audit log."""
