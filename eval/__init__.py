"""nacsearch.eval"""
