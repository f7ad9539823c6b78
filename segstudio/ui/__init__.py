"""segstudio.ui"""
