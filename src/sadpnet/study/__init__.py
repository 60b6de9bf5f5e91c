"""sadpnet.study"""
