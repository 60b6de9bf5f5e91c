"""sadpnet.model"""
