"""The gate daemon: drivers -> decide -> journal -> feedback, sync, local API."""
