"""Learn: the review after an outage, drafted from the records, written and signed off, and its actions."""
