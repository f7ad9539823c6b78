"""segstudio.ml"""
