"""The forecast: features, the models and their negative binomial, sold-out days,
the rain posterior, calibration, model files and the training sample."""
