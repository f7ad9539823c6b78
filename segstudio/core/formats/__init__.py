"""segstudio.core.formats"""
