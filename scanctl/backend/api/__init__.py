"""HTTP routes of the backend, one module per area, and the models of their bodies."""
