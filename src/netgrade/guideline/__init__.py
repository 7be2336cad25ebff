"""Evidence to decision, recommendations and budget impact."""
