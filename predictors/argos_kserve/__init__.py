"""KServe front end: the translation core as a `kserve.Model` on KServe's ModelServer."""
