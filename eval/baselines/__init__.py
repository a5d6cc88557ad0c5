"""nacsearch.eval.baselines"""
