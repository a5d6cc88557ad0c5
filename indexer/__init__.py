"""nacsearch.indexer"""
