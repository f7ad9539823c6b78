"""segstudio.ui.docks"""
