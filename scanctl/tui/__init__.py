"""The Textual app for door supervisors."""
