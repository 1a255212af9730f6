"""videotermin: secure video consultations between public agencies and citizens."""
