"""File audiences: reading csv/xlsx, validating rows by SPEC §4's rules,
storing valid recipients, and the files offered for download (error report,
corrected file, sample)."""
