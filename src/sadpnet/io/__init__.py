"""sadpnet.io"""
