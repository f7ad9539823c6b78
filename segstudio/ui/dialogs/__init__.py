"""segstudio.ui.dialogs"""
