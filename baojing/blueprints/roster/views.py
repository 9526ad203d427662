"""/members/import: a county's roster spreadsheet into the registry, previewed first."""
