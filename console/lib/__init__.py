"""Pure helpers with no Django state: environment parsing, phone numbers, signing."""
