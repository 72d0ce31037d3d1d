"""The demo campus: a deterministic seed of roster, clinic and accounts for demos and browser tests."""
