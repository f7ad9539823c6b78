"""segstudio.algorithms"""
