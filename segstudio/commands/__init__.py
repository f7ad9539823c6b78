"""segstudio.commands"""
