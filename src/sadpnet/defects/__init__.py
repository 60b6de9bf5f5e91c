"""sadpnet.defects"""
