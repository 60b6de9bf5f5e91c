"""sadpnet.simulate"""
