"""sadpnet.data"""
