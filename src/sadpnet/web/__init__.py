"""sadpnet.web"""
