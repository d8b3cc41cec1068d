"""Text tools for radiology reports: a rule-based labeller (mention, negation, uncertainty)."""
