"""Access control: roles and permissions (`roles`), users, tokens and login sessions (`service`)."""
