"""The agency administration in the staff workspace: one module per section."""
