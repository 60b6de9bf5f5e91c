"""sadpnet.cli"""
