"""Certainty of evidence: GRADE / CINeMA domains, magnitude, statements, summary of findings."""
