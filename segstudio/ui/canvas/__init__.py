"""segstudio.ui.canvas"""
