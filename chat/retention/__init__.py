"""Retention and deletion (gallring, DOMAIN rule 9, docs/retention.md): the rules (rules.py), the research
sample flag (sample.py) and the scheduled job that deletes what has passed its time (job.py)."""
