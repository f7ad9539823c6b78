"""segstudio.tools"""
