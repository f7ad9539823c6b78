"""Feature plug-ins for the main window: each module exposes install(window)."""
