"""segstudio.core.io"""
