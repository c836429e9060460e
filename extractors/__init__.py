"""Rule-driven extraction of the clarity checklist (the rules engine, value normalisers, buyer identity)."""
