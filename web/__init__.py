"""The HTTP face: ``nacsearch serve`` (a JSON API and a result page over one index)."""
