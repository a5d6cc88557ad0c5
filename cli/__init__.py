"""nacsearch.cli"""
