"""Text preparation and rule-driven extraction of the clarity checklist."""
