"""segstudio.core.io.formats"""
