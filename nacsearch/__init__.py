"""nacsearch: NAC image hashing and Hamming nearest-neighbour search.

Importing this package is cheap: it pulls in neither torch nor faiss.
"""
__version__ = "0.1.0"
