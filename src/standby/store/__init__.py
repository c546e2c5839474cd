"""Storage: engines and the unit of work (`engine`), tables (`tables`), migrations (`migrations`)."""
