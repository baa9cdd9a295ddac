"""The translation contract on KServe's ModelServer, shared by the two images built on it (the
KServe predictor and the transformer): KServe tensors in and out of `argos_protocol`, and the
data plane's reading of V2 REST bodies."""
